import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_RETRY_DELAYS_MS,
  main,
  renderSmokeSummary,
  runSmoke,
  SMOKE_CHECKS,
  smokeDetail,
} from '../../scripts/ci/smoke';
import { defined } from '../helpers/guards';

const PASS = 'canary-smoke-pass-7f3a';
const WORKERS_DEV = 'https://zen-ai-router-orchestrator.acme.workers.dev';

/**
 * A stand-in gateway on 127.0.0.1: answers each path with the status its table says (200 with JSON by default) and only
 * when the password arrives as a Bearer token; records every request it sees.
 */
interface FakeGateway {
  readonly url: string;
  readonly requests: { path: string; authorization: string | undefined; host: string | undefined }[];
  /** path → statuses to answer, one per request, the last one repeated */
  readonly plan: Map<string, number[]>;
  close(): Promise<void>;
}

async function startFakeGateway(): Promise<FakeGateway> {
  const requests: FakeGateway['requests'] = [];
  const plan = new Map<string, number[]>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ path, authorization: req.headers.authorization, host: req.headers.host });
    res.setHeader('content-type', 'application/json');
    if (req.headers.authorization !== `Bearer ${PASS}`) {
      res.statusCode = 401;
      res.end(
        JSON.stringify({
          error: { message: 'Incorrect password.', type: 'authentication_error', code: 'invalid_api_key' },
        }),
      );
      return;
    }
    const statuses = plan.get(path) ?? [200];
    const status = defined(statuses.length > 1 ? statuses.shift() : statuses[0], `a planned status for ${path}`);
    res.statusCode = status;
    if (status === 301) res.setHeader('location', 'https://elsewhere.example/');
    res.end(
      status === 200
        ? JSON.stringify({ object: 'list', data: [] })
        : JSON.stringify({ error: { code: status === 404 ? 'unknown_url' : 'Some Text!' } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    plan,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

let gateway: FakeGateway;
let sleeps: number[];
const sleep = async (ms: number): Promise<void> => {
  sleeps.push(ms);
};

beforeAll(async () => {
  gateway = await startFakeGateway();
});
afterAll(async () => {
  await gateway.close();
});
beforeEach(() => {
  gateway.requests.length = 0;
  gateway.plan.clear();
  sleeps = [];
});

describe('runSmoke', () => {
  it('checks /v1/models and /zen/status with the password, and passes when both answer 200 with JSON', async () => {
    const result = await runSmoke({ baseUrl: gateway.url, pass: PASS, sleep });
    expect(result).toEqual({
      ok: true,
      checks: [
        { path: '/v1/models', status: 200, ok: true, detail: '200', attempts: 1 },
        { path: '/zen/status', status: 200, ok: true, detail: '200', attempts: 1 },
      ],
    });
    expect(gateway.requests.map((r) => [r.path, r.authorization])).toEqual([
      ['/v1/models', `Bearer ${PASS}`],
      ['/zen/status', `Bearer ${PASS}`],
    ]);
    expect(sleeps).toEqual([]);
  });

  it('retries on the schedule while a fresh deploy is not answering yet, then passes', async () => {
    gateway.plan.set('/v1/models', [404, 503, 200]);
    const result = await runSmoke({ baseUrl: gateway.url, pass: PASS, sleep });
    expect(result.ok).toBe(true);
    expect(result.checks[0]).toEqual({ path: '/v1/models', status: 200, ok: true, detail: '200', attempts: 3 });
    expect(sleeps).toEqual(DEFAULT_RETRY_DELAYS_MS.slice(0, 2));
  });

  it('fails when a check never answers 200, naming the path, the status and the gateway error code', async () => {
    gateway.plan.set('/zen/status', [404]);
    const result = await runSmoke({ baseUrl: gateway.url, pass: PASS, sleep, retryDelaysMs: [5, 5] });
    expect(result.ok).toBe(false);
    expect(result.checks[1]).toEqual({
      path: '/zen/status',
      status: 404,
      ok: false,
      detail: 'answered 404 (unknown_url)',
      attempts: 3,
    });
    expect(gateway.requests.filter((r) => r.path === '/zen/status')).toHaveLength(3);
    expect(smokeDetail(result)).toBe('GET /v1/models 200; GET /zen/status answered 404 (unknown_url)');
  });

  it('fails on a wrong password (401) and never repeats text that is not a gateway error code', async () => {
    const wrong = await runSmoke({ baseUrl: gateway.url, pass: 'not-it', sleep, retryDelaysMs: [] });
    expect(wrong.checks.map((c) => c.detail)).toEqual([
      'answered 401 (invalid_api_key)',
      'answered 401 (invalid_api_key)',
    ]);
    gateway.plan.set('/v1/models', [500]);
    const odd = await runSmoke({ baseUrl: gateway.url, pass: PASS, sleep, retryDelaysMs: [] });
    expect(odd.checks[0]?.detail).toBe('answered 500');
  });

  it('does not follow a redirect (it could carry the password to another host)', async () => {
    gateway.plan.set('/v1/models', [301]);
    const result = await runSmoke({ baseUrl: gateway.url, pass: PASS, sleep, retryDelaysMs: [] });
    expect(result.checks[0]).toMatchObject({ ok: false, status: 301, detail: 'answered 301 (redirect, not followed)' });
    expect(gateway.requests.every((r) => r.host === new URL(gateway.url).host)).toBe(true);
  });

  it('reports a host that does not answer at all', async () => {
    const closed = await startFakeGateway();
    await closed.close();
    const result = await runSmoke({ baseUrl: closed.url, pass: PASS, sleep, retryDelaysMs: [1] });
    expect(result.checks.map((c) => [c.status, c.detail, c.attempts])).toEqual([
      [undefined, 'no answer (ECONNREFUSED)', 2],
      [undefined, 'no answer (ECONNREFUSED)', 2],
    ]);
  });
});

describe('renderSmokeSummary', () => {
  it('a table of checks, what each proves, and what to do when one fails; never the password', async () => {
    gateway.plan.set('/zen/status', [404]);
    const result = await runSmoke({ baseUrl: gateway.url, pass: PASS, sleep, retryDelaysMs: [1] });
    const summary = renderSmokeSummary('prod', WORKERS_DEV, result);
    expect(summary).toContain('### Smoke test of `prod`: FAILED');
    expect(summary).toContain('| `GET /v1/models` | 200 | password, routing to a shard and one key reach Google |');
    expect(summary).toContain('| `GET /zen/status` | **answered 404 (unknown_url)** (after 2 attempts) |');
    expect(summary).toContain('Observability');
    expect(summary).not.toContain(PASS);
    expect(SMOKE_CHECKS.map((c) => c.path)).toEqual(['/v1/models', '/zen/status']);
  });
});

describe('smoke.ts main (the workflow step)', () => {
  let dir: string;
  const outputsFile = (): string => join(dir, 'outputs.json');
  const files = () => ({ output: join(dir, 'gh-output'), summary: join(dir, 'summary.md') });
  /** sends what the script addresses to the workers.dev URL to the fake gateway instead, keeping method and headers */
  const viaFake: typeof fetch = (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    expect(url.origin).toBe(WORKERS_DEV);
    return fetch(new URL(url.pathname, gateway.url), init);
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'smoke-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    writeFileSync(files().output, '');
    writeFileSync(files().summary, '');
  });

  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    STACK: 'prod',
    OUTPUTS_FILE: outputsFile(),
    GATEWAY_PASS: PASS,
    GITHUB_OUTPUT: files().output,
    GITHUB_STEP_SUMMARY: files().summary,
    ...extra,
  });

  it('reads the URL from the deploy outputs file, passes, and writes outputs and a summary without the password', async () => {
    writeFileSync(
      outputsFile(),
      JSON.stringify({ prod: { public_worker_name: 'zen-ai-router-orchestrator', public_worker_url: WORKERS_DEV } }),
    );
    const lines: string[] = [];
    await expect(main(env(), { fetch: viaFake, sleep, stdout: (l) => lines.push(l) })).resolves.toBe(0);
    expect(readFileSync(files().output, 'utf8')).toBe(
      'smoke=passed\nsmoke-detail=GET /v1/models 200; GET /zen/status 200\n',
    );
    expect(readFileSync(files().summary, 'utf8')).toContain('### Smoke test of `prod`: passed');
    expect(lines).toEqual(['smoke test of prod passed: GET /v1/models 200; GET /zen/status 200']);
    expect(
      [readFileSync(files().output, 'utf8'), readFileSync(files().summary, 'utf8'), ...lines].join('\n'),
    ).not.toContain(PASS);
  });

  it('fails the step with an error annotation when a check fails', async () => {
    writeFileSync(
      outputsFile(),
      JSON.stringify({ 'preview-42': { public_worker_url: WORKERS_DEV.replace('orchestrator', 'worker-preview-42') } }),
    );
    gateway.plan.set('/zen/status', [404]);
    const lines: string[] = [];
    const fetchPreview: typeof fetch = (input, init) =>
      fetch(new URL(new URL(String(input)).pathname, gateway.url), init);
    const code = await main(env({ STACK: 'preview-42' }), { fetch: fetchPreview, sleep, stdout: (l) => lines.push(l) });
    expect(code).toBe(1);
    expect(lines).toEqual([
      '::error title=Smoke test of preview-42 failed::GET /v1/models 200; GET /zen/status answered 404 (unknown_url)',
    ]);
    expect(readFileSync(files().output, 'utf8')).toBe(
      'smoke=failed\nsmoke-detail=GET /v1/models 200; GET /zen/status answered 404 (unknown_url)\n',
    );
  });

  it('without a workers.dev URL in the outputs it sends nothing and says to set WORKERS_DEV_SUBDOMAIN', async () => {
    // what the stack outputs when the subdomain is unset, and a URL that is not a workers.dev one
    for (const url of ['', 'https://evil.example/x.workers.dev']) {
      writeFileSync(
        outputsFile(),
        JSON.stringify({ prod: { public_worker_name: 'zen-ai-router-orchestrator', public_worker_url: url } }),
      );
      writeFileSync(files().output, '');
      const lines: string[] = [];
      await expect(main(env(), { fetch: viaFake, sleep, stdout: (l) => lines.push(l) })).resolves.toBe(1);
      expect(lines[0]).toMatch(
        /^::error title=Smoke test::the prod outputs hold no workers\.dev URL .*set the WORKERS_DEV_SUBDOMAIN variable/,
      );
      expect(readFileSync(files().output, 'utf8')).toBe(
        'smoke=failed\nsmoke-detail=not run: no workers.dev URL (set WORKERS_DEV_SUBDOMAIN)\n',
      );
    }
    expect(gateway.requests).toEqual([]);
  });

  it('rejects missing or malformed inputs with a message naming them', async () => {
    const io = { fetch: viaFake, sleep, stdout: () => undefined };
    await expect(main(env({ GATEWAY_PASS: '' }), io)).rejects.toThrow('environment variable GATEWAY_PASS is required');
    await expect(main(env({ STACK: 'staging' }), io)).rejects.toThrow(
      'STACK must be prod or preview-<pr number>, got "staging"',
    );
    await expect(main(env({ OUTPUTS_FILE: '' }), io)).rejects.toThrow('environment variable OUTPUTS_FILE is required');
  });
});
