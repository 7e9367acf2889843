/**
 * Runs an emulated topology in workerd through `startTopology` (scripts/local/start.ts), also keeping workerd's
 * raw stdout and stderr and Miniflare's own log. `startTopology` hands over only the lines Miniflare recognises as
 * structured logs; the runtime's other output (internal warnings, JSON that is not a log record) and the uncaught
 * exceptions Miniflare reports through its logger never reach that handler, and a leak there would go unseen by a
 * test that listened only to it.
 */
import { Log, LogLevel } from 'miniflare';
import { startTopology } from '../../scripts/local/start';
import type { Topology } from '../../scripts/local/emulated-topology';

export type Json = Record<string, unknown>;

/** Miniflare's logger, keeping every line (including pretty-printed uncaught exceptions) instead of printing it. */
class CapturingLog extends Log {
  constructor(private readonly sink: (line: string) => void) {
    super(LogLevel.DEBUG, { prefix: 'miniflare' });
  }

  protected override log(message: string): void {
    this.sink(`${message}\n`);
  }
}

export interface CapturedTopology {
  /** the public worker's origin, e.g. `http://127.0.0.1:40123` */
  readonly url: string;
  /** every structured log message, in arrival order */
  readonly messages: readonly string[];
  /** everything workerd wrote to stdout and stderr so far, structured or not, and every line Miniflare logged */
  rawOutput(): string;
  /** the structured messages that are JSON objects with `event === event` and the given request id */
  linesFor(event: string, requestId: string): Json[];
  /** waits until every id has at least one `event` line; rejects naming the ids still missing */
  waitForLines(event: string, requestIds: readonly string[], timeoutMs?: number): Promise<void>;
  dispose(): Promise<void>;
}

function jsonObject(message: string): Json | undefined {
  if (!message.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(message);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Json) : undefined;
  } catch {
    return undefined;
  }
}

export async function startCapturedTopology(topology: Topology): Promise<CapturedTopology> {
  const messages: string[] = [];
  const byRequest = new Map<string, Json[]>();
  const raw: Buffer[] = [];
  const running = await startTopology({
    topology,
    port: 0,
    log: new CapturingLog((line) => raw.push(Buffer.from(line))),
    onLog: (message) => {
      messages.push(message);
      const line = jsonObject(message);
      if (line && typeof line.requestId === 'string') {
        byRequest.set(line.requestId, [...(byRequest.get(line.requestId) ?? []), line]);
      }
    },
    onRuntimeOutput: (chunk) => raw.push(chunk),
  });
  const linesFor = (event: string, requestId: string): Json[] =>
    (byRequest.get(requestId) ?? []).filter((line) => line.event === event);
  return {
    url: running.url,
    messages,
    rawOutput: () => Buffer.concat(raw).toString('utf8'),
    linesFor,
    async waitForLines(event, requestIds, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      // workerd's console output reaches Node through a pipe and may trail the responses
      for (;;) {
        const missing = requestIds.filter((id) => linesFor(event, id).length === 0);
        if (missing.length === 0) return;
        if (Date.now() > deadline) throw new Error(`no ${event} log line for ${missing.join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    dispose: () => running.dispose(),
  };
}
