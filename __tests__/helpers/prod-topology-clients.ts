/**
 * What the client tests under `__tests__/local/` share: the prod stack `cdktf synth` produces, started in workerd by
 * `npm start`'s own modules in front of the fake Gemini, with every worker's log lines kept and a recording
 * pass-through proxy before the orchestrator (what the client sent, headers included); a headless CLI run in a
 * clean environment (nothing of the test runner's, so no real key or `ANTHROPIC_*` variable reaches the client); and
 * the request lines the workers logged, which name the route each request took.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeGemini, type FakeGeminiOptions, startFakeGemini } from '../../dev/fake-gemini';
import { startTopology } from '../../scripts/local/start';
import { synthesizeToTempDir, synthesizedTopology } from './emulated-topology';

/** One request a client sent to the gateway, as the recording proxy saw it. */
export interface ClientRequest {
  readonly method: string;
  /** the request target, query included */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** the gateway's answer */
  readonly status: number;
}

export interface ProdTopology {
  /** the gateway clients are given: the recording proxy's origin, `http://127.0.0.1:<port>`, before the orchestrator */
  readonly url: string;
  /** every request that reached {@link ProdTopology.url}, in the order answered; {@link ProdTopology.clearLogs} empties it */
  readonly requests: ClientRequest[];
  readonly fake: FakeGemini;
  /** the pool's keys, in the order of the key list */
  readonly apiKeys: readonly string[];
  /** every line any worker logged; {@link ProdTopology.clearLogs} empties it */
  readonly logs: string[];
  /** empties the log lines and the recorded requests */
  clearLogs(): void;
  /** stops the workers and the fake and removes the synthesized stack */
  dispose(): Promise<void>;
}

/**
 * Synthesizes prod with `keyCount` keys (`canary-key-<n>-<label>`, two shards at the default eight keys a shard once
 * there are more than eight) and starts it against a fresh fake Gemini with `fakeOptions`.
 */
export async function startProdTopology(
  label: string,
  pass: string,
  keyCount = 12,
  fakeOptions: FakeGeminiOptions = {},
): Promise<ProdTopology> {
  const apiKeys = Array.from({ length: keyCount }, (_, i) => `canary-key-${String(i).padStart(2, '0')}-${label}`);
  const outDir = await synthesizeToTempDir(`zen-${label}-e2e-`, 'prod', { KEY_COUNT: String(keyCount) });
  const fake = await startFakeGemini({ port: 0, ...fakeOptions });
  const logs: string[] = [];
  const topology = synthesizedTopology(outDir, 'prod', { apiKeys, pass }, fake.url);
  const running = await startTopology({ topology, port: 0, onLog: (message) => logs.push(message) });
  const recorder = await startRecorder(running.url);
  return {
    url: recorder.url,
    requests: recorder.requests,
    fake,
    apiKeys,
    logs,
    clearLogs: () => {
      logs.length = 0;
      recorder.requests.length = 0;
    },
    dispose: async () => {
      await recorder.close();
      await running.dispose();
      await fake.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/**
 * Registers the Jest hooks every client test file shares: the topology is started once before the file's tests (and
 * handed to `use`), the fake and the logs are emptied before each test, and it is stopped after the last.
 */
export function withProdTopology(
  use: (gateway: ProdTopology) => void,
  ...args: Parameters<typeof startProdTopology>
): void {
  let gateway: ProdTopology | undefined;
  const started = (): ProdTopology => {
    if (gateway === undefined) throw new Error(`the ${args[0]} prod topology did not start`);
    return gateway;
  };
  beforeAll(async () => {
    gateway = await startProdTopology(...args);
    use(gateway);
  });
  afterAll(async () => {
    await gateway?.dispose();
  });
  beforeEach(() => {
    started().fake.reset();
    started().clearLogs();
  });
}

/** A pass-through proxy to `target` that records each request it forwards (streams pass as they arrive). */
async function startRecorder(
  target: string,
): Promise<{ url: string; requests: ClientRequest[]; close(): Promise<void> }> {
  const requests: ClientRequest[] = [];
  const server = createServer((req, res) => {
    const upstream = httpRequest(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (up) => {
        const status = up.statusCode ?? 502;
        requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, status });
        res.writeHead(status, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/**
 * Every call that reached the fake Gemini went out on one of the pool's keys (`x-goog-api-key` natively, Bearer on
 * the OpenAI-compatible surface), and `pass` appears nowhere in any of them.
 */
export function expectPoolKeysOnly(gateway: ProdTopology, pass: string): void {
  expect(gateway.fake.calls.length).toBeGreaterThan(0);
  for (const call of gateway.fake.calls) expect(gateway.apiKeys).toContain(call.apiKey);
  expect(JSON.stringify(gateway.fake.calls)).not.toContain(pass);
}

export interface RequestLine {
  readonly route: string;
  readonly status: number;
  readonly model?: string;
}

/** The shard's `request` lines among `logs`: the route, status and model of each request the gateway answered. */
export function requestLines(logs: readonly string[]): RequestLine[] {
  return logs.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as { event?: string; route?: string; status?: number; model?: string };
      if (parsed.event !== 'request' || parsed.route === undefined || parsed.status === undefined) return [];
      return [{ route: parsed.route, status: parsed.status, ...(parsed.model ? { model: parsed.model } : {}) }];
    } catch {
      return [];
    }
  });
}

/**
 * The request lines once `count` are in: workerd's console output reaches Node through a pipe and may trail the
 * responses by a few milliseconds.
 */
export async function awaitRequestLines(logs: readonly string[], count: number): Promise<RequestLine[]> {
  for (let waited = 0; requestLines(logs).length < count && waited < 5000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return requestLines(logs);
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/**
 * Runs `binary args` headless (stdin closed) in a fresh empty directory with a fresh `HOME`, given only `PATH`, `HOME`
 * and `env`; `prepareHome` fills the home first (a settings file). Both directories are removed afterwards.
 */
export async function runCli(
  binary: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  prepareHome: (home: string) => void = () => undefined,
  timeoutMs = 60_000,
): Promise<CliRun> {
  const home = mkdtempSync(join(tmpdir(), 'zen-cli-home-'));
  const cwd = mkdtempSync(join(tmpdir(), 'zen-cli-work-'));
  prepareHome(home);
  const started = Date.now();
  try {
    return await new Promise<CliRun>((resolvePromise) => {
      const child = execFile(
        binary,
        [...args],
        { cwd, env: { PATH: process.env.PATH ?? '', HOME: home, ...env }, timeout: timeoutMs },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
          resolvePromise({ code, stdout, stderr, ms: Date.now() - started });
        },
      );
      child.stdin?.end();
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  }
}
