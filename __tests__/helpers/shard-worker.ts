/**
 * Runs the bundled shard worker in workerd (miniflare) against a fake Gemini on 127.0.0.1, and captures every line
 * the worker logs so tests can assert on log content (and on secrets never appearing in it). Optionally a caller
 * worker sits in front and reaches the shard over a service binding, as the orchestrator does, so a test can make
 * the caller give up on a request (the way the runtime cancels a shard's request when its client disconnects).
 */
import { Miniflare } from 'miniflare';
import { startFakeGemini, type FakeGemini } from '../../dev/fake-gemini';
import { bundleWorker } from '../../bundler/worker-bundles';
import { DEFAULT_COMPATIBILITY_DATE } from '../../workers/shared/contract';

export interface ShardWorkerOptions {
  /** bound as KEY1..KEYn in order */
  readonly keys: readonly string[];
  readonly pass: string;
  /** extra or overriding plain-text bindings (e.g. UPSTREAM_TIMEOUT_MS, MAX_BODY_BYTES) */
  readonly bindings?: Readonly<Record<string, string>>;
  /** reuse a running fake; by default one is started and closed with the harness */
  readonly fake?: FakeGemini;
  /** compatibility flags of the shard worker (e.g. `enable_request_signal`). @default [] */
  readonly compatibilityFlags?: readonly string[];
  /**
   * Put a caller worker in front that forwards every request over a service binding. A request carrying
   * {@link ABORT_AFTER_HEADER} has its call aborted by the caller after that many milliseconds (the caller then
   * answers 499 itself). @default false
   */
  readonly caller?: boolean;
}

/** Header (stripped by the caller worker) that makes it abort its call to the shard after N milliseconds. */
export const ABORT_AFTER_HEADER = 'x-test-abort-after-ms';

const CALLER_SCRIPT = `
export default {
  async fetch(request, env) {
    const after = request.headers.get('${ABORT_AFTER_HEADER}');
    if (after === null) return env.SRC.fetch(request);
    const headers = new Headers(request.headers);
    headers.delete('${ABORT_AFTER_HEADER}');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Number(after));
    try {
      return await env.SRC.fetch(new Request(request, { headers, signal: controller.signal }));
    } catch {
      return new Response('the caller aborted its call', { status: 499 });
    } finally {
      clearTimeout(timer);
    }
  },
};`;

export interface CapturedLog {
  readonly level: string;
  readonly message: string;
}

export interface ShardWorkerHarness {
  /** the worker's origin, e.g. `http://127.0.0.1:12345` (no trailing slash) */
  readonly url: string;
  readonly mf: Miniflare;
  readonly fake: FakeGemini;
  /** every line the worker wrote to the console, in order */
  readonly logs: CapturedLog[];
  /** the captured lines that are JSON objects, parsed */
  jsonLogs(): Record<string, unknown>[];
  /** waits until the worker has logged its `request` line for `requestId` (logs arrive asynchronously) */
  waitForRequestLog(requestId: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** waits until the worker has logged a JSON line that `matches` (logs arrive asynchronously) */
  waitForLog(matches: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

let bundle: string | undefined;

/** The src bundle, built once per test process. */
export function srcBundle(): string {
  bundle ??= bundleWorker('shard');
  return bundle;
}

export async function startShardWorker(o: ShardWorkerOptions): Promise<ShardWorkerHarness> {
  const fake = o.fake ?? (await startFakeGemini());
  const logs: CapturedLog[] = [];
  const keyBindings = Object.fromEntries(o.keys.map((k, i) => [`KEY${i + 1}`, k]));
  const src = {
    name: 'src',
    modules: true,
    script: srcBundle(),
    compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
    compatibilityFlags: [...(o.compatibilityFlags ?? [])],
    bindings: { ...keyBindings, PASS: o.pass, GEMINI_BASE_URL: fake.url, ...o.bindings },
  };
  const caller = {
    name: 'caller',
    modules: true,
    script: CALLER_SCRIPT,
    compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
    serviceBindings: { SRC: 'src' },
  };
  const mf = new Miniflare({
    // the first worker receives the requests
    workers: o.caller ? [caller, src] : [src],
    handleStructuredLogs: ({ level, message }: CapturedLog) => {
      logs.push({ level, message });
    },
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  const jsonLogs = (): Record<string, unknown>[] =>
    logs.flatMap(({ message }) => {
      try {
        const parsed: unknown = JSON.parse(message);
        return parsed && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  const waitForLog = async (
    matches: (line: Record<string, unknown>) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<Record<string, unknown>> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = jsonLogs().find(matches);
      if (line) return line;
      if (Date.now() > deadline) throw new Error(`no log line: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return {
    url,
    mf,
    fake,
    logs,
    jsonLogs,
    waitForRequestLog(requestId, timeoutMs = 2000) {
      return waitForLog((l) => l.event === 'request' && l.requestId === requestId, timeoutMs, `request ${requestId}`);
    },
    waitForLog(matches, timeoutMs = 2000) {
      return waitForLog(matches, timeoutMs, 'the expected one');
    },
    async close() {
      await mf.dispose();
      if (!o.fake) await fake.close();
    },
  };
}
