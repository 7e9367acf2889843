/**
 * Starts an emulated topology in workerd. Shared by `npm start` and the end-to-end tests, so the tests exercise the
 * exact wiring users run.
 *
 * @module
 */
import { Miniflare, type Log } from 'miniflare';
import type { Readable } from 'node:stream';
import { createServer } from 'node:net';
import { supportWorkers } from './analytics-engine';
import type { Topology } from './emulated-topology';

export interface StartOptions {
  readonly topology: Topology;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port */
  readonly port: number;
  /** every console line any worker writes, with its level (`log`, `error`, ...) */
  readonly onLog: (message: string, level: string) => void;
  /**
   * Also receives workerd's raw stdout and stderr (structured or not).
   *
   * @default - raw output is dropped; only `onLog` lines are kept
   */
  readonly onRuntimeOutput?: (chunk: Buffer) => void;
  /**
   * Miniflare's own logger (it reports uncaught worker exceptions through it).
   *
   * @default - Miniflare's default logger
   */
  readonly log?: Log;
}

export interface RunningTopology {
  /** the public worker's origin, e.g. `http://127.0.0.1:8787` */
  readonly url: string;
  readonly miniflare: Miniflare;
  dispose(): Promise<void>;
}

/** Thrown when the port is taken, so the CLI can say so instead of printing workerd's stack. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

/** Fails with {@link PortInUseError} when `host:port` cannot be bound; workerd's own error does not say which port. */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolvePromise, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new PortInUseError(`port ${port} on ${host} is already in use: stop the other process or set PORT`)
          : error,
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolvePromise()));
  });
}

function rawOutputHandler(sink: (chunk: Buffer) => void): (stdout: Readable, stderr: Readable) => void {
  return (stdout, stderr) => {
    stdout.on('data', (chunk: Buffer) => sink(Buffer.from(chunk)));
    stderr.on('data', (chunk: Buffer) => sink(Buffer.from(chunk)));
  };
}

export async function startTopology(options: StartOptions): Promise<RunningTopology> {
  const host = options.host ?? '127.0.0.1';
  await assertPortFree(host, options.port);
  const { publicWorker } = options.topology;
  const miniflare = new Miniflare({
    // Miniflare's entry worker obeys client headers Cloudflare's edge does not: MF-Route-Override sends a request to
    // any worker by name (a private shard too) and MF-Original-URL rewrites its URL. So the port serves the public
    // worker through a workerd socket of its own, and the entry keeps a random loopback port for Miniflare's use.
    host: '127.0.0.1',
    port: 0,
    handleStructuredLogs: ({ message, level }: { message: string; level: string }) => {
      options.onLog(message, level);
    },
    ...(options.log ? { log: options.log } : {}),
    ...(options.onRuntimeOutput ? { handleRuntimeStdio: rawOutputHandler(options.onRuntimeOutput) } : {}),
    workers: [
      ...options.topology.workers.map((worker) =>
        worker === publicWorker
          ? { ...worker.options, unsafeDirectSockets: [{ host, port: options.port }] }
          : worker.options,
      ),
      // the Analytics Engine stand-in, for the workers that bind a dataset
      ...supportWorkers(options.topology.workers.map((worker) => worker.options)),
    ],
  });
  let url: URL;
  try {
    await miniflare.ready;
    url = await miniflare.unsafeGetDirectURL(publicWorker.scriptName);
  } catch (error) {
    // a runtime that failed to start still holds Miniflare's loopback server open
    await miniflare.dispose().catch(() => undefined);
    throw error;
  }
  return { url: url.origin, miniflare, dispose: () => miniflare.dispose() };
}
