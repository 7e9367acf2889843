/**
 * The benchmarks' own workerd topology: an orchestrator in front of `shards` shard workers, each shard also reachable
 * directly by Host header, all in one workerd process so both paths are measured under the same conditions.
 */
import { Miniflare, type WorkerOptions } from 'miniflare';
import { Agent, request } from 'node:http';
import type { Readable } from 'node:stream';
import { bundleWorker } from '../bundler/worker-bundles';
import { DEFAULT_COMPATIBILITY_DATE } from '../workers/shared/contract';

export const BENCH_PASS = 'bench-password';

/** Miniflare options that drop the workers' per-request log lines, which would drown the figures. */
export const QUIET = {
  handleRuntimeStdio(stdout: Readable, stderr: Readable): void {
    stdout.resume();
    stderr.resume();
  },
} as const;

export interface BenchTopology {
  readonly port: number;
  /** sends a request through the orchestrator (`via: 'orchestrator'`) or straight to shard 0 */
  send(via: 'orchestrator' | 'shard', path: string, body?: string): Promise<TimedResponse>;
  dispose(): Promise<void>;
}

export interface TimedResponse {
  readonly status: number;
  readonly body: string;
  /** ms from sending the request to the first body byte */
  readonly firstByteMs: number;
  /** ms from sending the request to the end of the body */
  readonly totalMs: number;
}

export interface BenchTopologyOptions {
  readonly upstreamUrl: string;
  readonly shards?: number;
  readonly keysPerShard?: number;
  /** extra scripts to bind as workers by name (e.g. a baseline worker); reachable by Host `<name>.bench` */
  readonly extraWorkers?: readonly WorkerOptions[];
}

export async function startBenchTopology(options: BenchTopologyOptions): Promise<BenchTopology> {
  const shards = options.shards ?? 2;
  const keysPerShard = options.keysPerShard ?? 8;
  const srcScript = bundleWorker('shard');
  const shardWorkers: WorkerOptions[] = Array.from({ length: shards }, (_, i) => ({
    name: `shard-${i}`,
    modules: true,
    script: srcScript,
    compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
    routes: [`shard-${i}.bench/*`],
    bindings: {
      ...Object.fromEntries(Array.from({ length: keysPerShard }, (_, k) => [`KEY${k + 1}`, `bench-key-${i}-${k + 1}`])),
      PASS: BENCH_PASS,
      GEMINI_BASE_URL: options.upstreamUrl,
    },
  }));
  const orchestrator: WorkerOptions = {
    name: 'orchestrator',
    modules: true,
    script: bundleWorker('orchestrator'),
    compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
    serviceBindings: Object.fromEntries(shardWorkers.map((w, i) => [`BACKEND_SERVICE_${i}`, w.name as string])),
  };
  const mf = new Miniflare({
    ...QUIET,
    host: '127.0.0.1',
    port: 0,
    workers: [orchestrator, ...shardWorkers, ...(options.extraWorkers ?? [])],
  });
  const url = await mf.ready;
  const port = Number(url.port);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });

  return {
    port,
    send: (via, path, body) =>
      timedRequest(agent, port, via === 'orchestrator' ? 'orchestrator.bench' : 'shard-0.bench', path, body),
    dispose: async () => {
      agent.destroy();
      await mf.dispose();
    },
  };
}

/** One HTTP request over loopback, timed from send to first byte and to last byte. */
export function timedRequest(
  agent: Agent,
  port: number,
  host: string,
  path: string,
  body?: string,
): Promise<TimedResponse> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    let firstByteMs = -1;
    const chunks: Buffer[] = [];
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body === undefined ? 'GET' : 'POST',
        agent,
        headers: {
          host,
          authorization: `Bearer ${BENCH_PASS}`,
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        },
      },
      (res) => {
        res.on('data', (chunk: Buffer) => {
          if (firstByteMs < 0) firstByteMs = performance.now() - started;
          chunks.push(chunk);
        });
        res.on('end', () =>
          resolvePromise({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            firstByteMs: firstByteMs < 0 ? performance.now() - started : firstByteMs,
            totalMs: performance.now() - started,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
