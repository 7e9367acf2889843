/**
 * Runs the bundled src worker in workerd (miniflare) against a fake Gemini on 127.0.0.1, and captures every line
 * the worker logs so tests can assert on log content (and on secrets never appearing in it).
 */
import { Miniflare } from 'miniflare';
import { startFakeGemini, type FakeGemini } from '../../dev/fake-gemini';
import { bundleWorker } from '../../scripts/build-workers';

export const COMPATIBILITY_DATE = '2026-04-20';

export interface SrcWorkerOptions {
  /** bound as KEY1..KEYn in order */
  readonly keys: readonly string[];
  readonly pass: string;
  /** extra or overriding plain-text bindings (e.g. UPSTREAM_TIMEOUT_MS, MAX_BODY_BYTES) */
  readonly bindings?: Readonly<Record<string, string>>;
  /** reuse a running fake; by default one is started and closed with the harness */
  readonly fake?: FakeGemini;
}

export interface CapturedLog {
  readonly level: string;
  readonly message: string;
}

export interface SrcWorkerHarness {
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
  close(): Promise<void>;
}

let bundle: string | undefined;

/** The src bundle, built once per test process. */
export function srcBundle(): string {
  bundle ??= bundleWorker('src');
  return bundle;
}

export async function startSrcWorker(o: SrcWorkerOptions): Promise<SrcWorkerHarness> {
  const fake = o.fake ?? (await startFakeGemini());
  const logs: CapturedLog[] = [];
  const keyBindings = Object.fromEntries(o.keys.map((k, i) => [`KEY${i + 1}`, k]));
  const mf = new Miniflare({
    modules: true,
    script: srcBundle(),
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: { ...keyBindings, PASS: o.pass, GEMINI_BASE_URL: fake.url, ...o.bindings },
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
  return {
    url,
    mf,
    fake,
    logs,
    jsonLogs,
    async waitForRequestLog(requestId, timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = jsonLogs().find(l => l.event === 'request' && l.requestId === requestId);
        if (line) return line;
        if (Date.now() > deadline) throw new Error(`no request log line for ${requestId}`);
        await new Promise(resolve => setTimeout(resolve, 10));
      }
    },
    async close() {
      await mf.dispose();
      if (!o.fake) await fake.close();
    },
  };
}
