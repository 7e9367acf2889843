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
  shardPage,
  smokeDetail,
} from '../../scripts/ci/smoke';
import { defined } from '../helpers/guards';

const PASS = 'canary-smoke-pass-7f3a';
const WORKERS_DEV = 'https://zen-ai-router-orchestrator.acme.workers.dev';

/**
 * The orchestrator's status view (workers/orchestrator/status.ts) over shards 0..count-1: each answers with a view
 * unless `failed` gives its reason or it is outside `asked` (then `not_queried`).
 */
function orchestratorView(
  count: number,
  failed: Readonly<Record<number, unknown>> = {},
  asked: readonly number[] = Array.from({ length: count }, (_, i) => i),
): Record<string, unknown> {
  const shards = Array.from({ length: count }, (_, shard) => {
    if (!asked.includes(shard)) return { shard, error: 'not_queried' };
    if (shard in failed) return { shard, keyCount: 2, firstKey: 2 * shard + 1, error: failed[shard] };
    return {
      shard,
      keyCount: 2,
      firstKey: 2 * shard + 1,
      status: { scope: 'isolate', keys: [{ key: 1 }, { key: 2 }] },
    };
  });
  return {
    time: '2026-01-01T00:00:00.000Z',
    scope: 'isolate',
    shardCount: count,
    queried: asked.length,
    answered: shards.filter((s) => 'status' in s).length,
    shards,
  };
}

/** A shard's (or the preview worker's) own status view: keys, no shards. */
const OWN_VIEW = { time: '2026-01-01T00:00:00.000Z', scope: 'isolate', keys: [{ key: 1, state: 'ok' }] };

/**
 * A stand-in gateway on 127.0.0.1: answers each path with the status its table says (200 with JSON by default) and only
 * when the password arrives as a Bearer token; records every request it sees. `/zen/status` answers a two-shard
 * orchestrator view unless `views` says otherwise.
 */
interface FakeGateway {
  readonly url: string;
  /** `path` with its query, if any */
  readonly requests: { path: string; authorization: string | undefined; host: string | undefined }[];
  /** path → statuses to answer, one per request, the last one repeated */
  readonly plan: Map<string, number[]>;
  /** path with query → bodies of 200 answers, one per request, the last one repeated */
  readonly views: Map<string, unknown[]>;
  close(): Promise<void>;
}

async function startFakeGateway(): Promise<FakeGateway> {
  const requests: FakeGateway['requests'] = [];
  const plan = new Map<string, number[]>();
  const views = new Map<string, unknown[]>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    requests.push({ path: `${path}${url.search}`, authorization: req.headers.authorization, host: req.headers.host });
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
    const bodies = views.get(`${path}${url.search}`) ?? [path === '/zen/status' ? orchestratorView(2) : undefined];
    const view = bodies.length > 1 ? bodies.shift() : bodies[0];
    res.end(
      status === 200
        ? JSON.stringify(view ?? { object: 'list', data: [] })
        : JSON.stringify({ error: { code: status === 404 ? 'unknown_url' : 'Some Text!' } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    plan,
    views,
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
  gateway.views.clear();
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

describe('runSmoke: the shards of the orchestrator status view', () => {
  const prod = { pass: PASS, sleep, requireShards: true } as const;
  const statusCheck = async (retryDelaysMs: readonly number[] = []) => {
    const result = await runSmoke({ ...prod, baseUrl: gateway.url, retryDelaysMs });
    return defined(result.checks[1], 'the /zen/status check');
  };

  it('passes when every shard answered its view', async () => {
    gateway.views.set('/zen/status', [orchestratorView(4)]);
    expect(await statusCheck()).toEqual({ path: '/zen/status', status: 200, ok: true, detail: '200', attempts: 1 });
  });

  it('fails a 200 in which shards did not answer, naming each with the reason, after the retries', async () => {
    gateway.views.set('/zen/status', [orchestratorView(4, { 1: 'timeout', 3: 'status 500' })]);
    const result = await runSmoke({ ...prod, baseUrl: gateway.url, retryDelaysMs: [5, 5] });
    expect(result.ok).toBe(false);
    expect(result.checks[1]).toEqual({
      path: '/zen/status',
      status: 200,
      ok: false,
      detail: 'answered 200, but 2 of 4 shards did not answer: shard 1 (timeout), shard 3 (status 500)',
      attempts: 3,
    });
    expect(smokeDetail(result)).toBe(
      'GET /v1/models 200; GET /zen/status answered 200, but 2 of 4 shards did not answer: shard 1 (timeout), shard 3 (status 500)',
    );
    expect(gateway.requests.filter((r) => r.path === '/zen/status')).toHaveLength(3);
  });

  it('retries a shard that is slow right after the deploy, then passes', async () => {
    gateway.views.set('/zen/status', [orchestratorView(2, { 0: 'shard_error' }), orchestratorView(2)]);
    expect(await statusCheck([5])).toMatchObject({ ok: true, detail: '200', attempts: 2 });
  });

  it('fails without the shard list when the public worker must be the orchestrator, and passes without it otherwise', async () => {
    gateway.views.set('/zen/status', [OWN_VIEW]);
    expect(await statusCheck()).toEqual({
      path: '/zen/status',
      status: 200,
      ok: false,
      detail: "answered 200 without the list of shards of the orchestrator's status view",
      attempts: 1,
    });
    // a preview worker is a shard of its own: its view has keys and no shards
    const preview = await runSmoke({ baseUrl: gateway.url, pass: PASS, sleep, retryDelaysMs: [] });
    expect(preview.checks[1]).toMatchObject({ ok: true, detail: '200' });
  });

  it("fails on an empty or unreadable shard list, and repeats no reason that is not one of the orchestrator's", async () => {
    gateway.views.set('/zen/status', [{ shards: [] }]);
    expect((await statusCheck()).detail).toBe('answered 200 with no shards');
    gateway.views.set('/zen/status', [{ shards: 'all fine' }]);
    expect((await statusCheck()).detail).toBe('answered 200 with an unreadable shard list');
    gateway.views.set('/zen/status', [{ shards: [{ status: {} }] }]);
    expect((await statusCheck()).detail).toBe('answered 200 with an unreadable shard list');
    gateway.views.set('/zen/status', [
      { shards: [{ shard: 0, error: 'Look at <https://evil.example>' }, { shard: 1 }, { shard: 2, status: {} }] },
    ]);
    expect((await statusCheck()).detail).toBe(
      'answered 200, but 2 of 3 shards did not answer: shard 0 (unknown), shard 1 (unknown)',
    );
  });

  it('names ten silent shards and counts the rest', async () => {
    const failed = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [i + 2, 'timeout']));
    gateway.views.set('/zen/status', [orchestratorView(14, failed)]);
    expect((await statusCheck()).detail).toBe(
      'answered 200, but 12 of 14 shards did not answer: ' +
        Array.from({ length: 10 }, (_, i) => `shard ${i + 2} (timeout)`).join(', ') +
        ' and 2 more',
    );
  });

  it('pages through ?from= when the orchestrator asked only its first 31 shards, and checks the rest too', async () => {
    const first = Array.from({ length: 31 }, (_, i) => i);
    const rest = [31, 32, 33, 34];
    gateway.views.set('/zen/status', [orchestratorView(35, {}, first)]);
    gateway.views.set('/zen/status?from=31', [
      orchestratorView(35, { 33: 'timeout' }, rest),
      orchestratorView(35, {}, rest),
    ]);
    const failing = await statusCheck();
    expect(failing).toMatchObject({
      ok: false,
      detail: 'answered 200, but 1 of 35 shards did not answer: shard 33 (timeout)',
    });
    expect(gateway.requests.map((r) => r.path)).toEqual(['/v1/models', '/zen/status', '/zen/status?from=31']);
    expect(await statusCheck()).toMatchObject({ ok: true, detail: '200' });
  });

  it('says which page failed when a later page does not answer 200', async () => {
    gateway.views.set('/zen/status', [
      orchestratorView(
        33,
        {},
        Array.from({ length: 31 }, (_, i) => i),
      ),
    ]);
    gateway.plan.set('/zen/status', [200, 400]);
    expect((await statusCheck()).detail).toBe('answered 400 on ?from=31');
  });

  it('shardPage reads what the orchestrator writes: answered, silent with a reason, and not asked', () => {
    expect(shardPage(orchestratorView(4, { 2: 'status 401' }, [0, 1, 2]))).toEqual({
      answered: [0, 1],
      silent: [{ shard: 2, reason: 'status 401' }],
      notQueried: [3],
    });
    expect(shardPage(OWN_VIEW)).toBeUndefined();
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
    return fetch(new URL(`${url.pathname}${url.search}`, gateway.url), init);
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

  it('fails prod when a shard did not answer its status, naming the shard in the annotation and the outputs', async () => {
    writeFileSync(
      outputsFile(),
      JSON.stringify({ prod: { public_worker_name: 'zen-ai-router-orchestrator', public_worker_url: WORKERS_DEV } }),
    );
    gateway.views.set('/zen/status', [orchestratorView(3, { 2: 'timeout' })]);
    const lines: string[] = [];
    await expect(main(env(), { fetch: viaFake, sleep, stdout: (l) => lines.push(l) })).resolves.toBe(1);
    const detail =
      'GET /v1/models 200; GET /zen/status answered 200, but 1 of 3 shards did not answer: shard 2 (timeout)';
    expect(lines).toEqual([`::error title=Smoke test of prod failed::${detail}`]);
    expect(readFileSync(files().output, 'utf8')).toBe(`smoke=failed\nsmoke-detail=${detail}\n`);
    expect(readFileSync(files().summary, 'utf8')).toContain(
      `| \`GET /zen/status\` | **answered 200, but 1 of 3 shards did not answer: shard 2 (timeout)** (after ${DEFAULT_RETRY_DELAYS_MS.length + 1} attempts) |`,
    );
  });

  it("passes a preview whose status is the worker's own view, without shards", async () => {
    writeFileSync(
      outputsFile(),
      JSON.stringify({ 'preview-42': { public_worker_url: WORKERS_DEV.replace('orchestrator', 'worker-preview-42') } }),
    );
    gateway.views.set('/zen/status', [OWN_VIEW]);
    const fetchPreview: typeof fetch = (input, init) =>
      fetch(new URL(new URL(String(input)).pathname, gateway.url), init);
    const lines: string[] = [];
    const code = await main(env({ STACK: 'preview-42' }), { fetch: fetchPreview, sleep, stdout: (l) => lines.push(l) });
    expect(code).toBe(0);
    expect(lines).toEqual(['smoke test of preview-42 passed: GET /v1/models 200; GET /zen/status 200']);
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
