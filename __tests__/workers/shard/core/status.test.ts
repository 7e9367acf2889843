/**
 * `GET /zen/status` on the shard worker, in workerd against the fake Gemini: each key by index with its state and what
 * the isolate has seen of it, behind the password; plus the pure builders (the pool's counters are in
 * src-key-pool.test.ts).
 */
import { ISOLATE_NOTE, keyStatus, workerStatus, type WorkerStatus } from '../../../../workers/shard/core/status';
import { declaredProjects, implicitProjects } from '../../../../workers/shard/core/key-projects';
import { capacityLine } from '../../../../workers/shard/core/project-status';
import { startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';

const KEYS = ['canary-status-key-1', 'canary-status-key-2', 'canary-status-key-3', 'canary-status-key-4'];
const PASS = 'canary-status-pass';
const T0 = Date.parse('2026-05-01T12:00:00Z');

describe('workerStatus', () => {
  it('gives each key one state: removed over cooling over ok, with ISO times and the isolate note', () => {
    const snapshot = [
      { index: 1, calls: 3, rateLimited: 0, cooldowns: [] },
      {
        index: 2,
        calls: 1,
        rateLimited: 1,
        lastError: { status: 429, code: 'RESOURCE_EXHAUSTED', at: T0 },
        cooldowns: [{ model: 'gemini-3.8-flash', until: T0 + 17_000, reason: 'quota-minute' as const }],
      },
      {
        index: 3,
        calls: 1,
        rateLimited: 0,
        removed: 'API_KEY_INVALID',
        cooldowns: [{ model: '*', until: T0 + 5_000, reason: 'quota-unspecified' as const }],
      },
    ];
    expect(workerStatus(snapshot, { count: 5, since: T0 - 1000 }, T0 + 1)).toEqual({
      time: '2026-05-01T12:00:00.001Z',
      scope: 'isolate',
      note: ISOLATE_NOTE,
      requests: 5,
      since: '2026-05-01T11:59:59.000Z',
      summary: { ok: 1, cooling: 1, removed: 1 },
      keys: [
        { key: 1, state: 'ok', requests: 3, rateLimited: 0 },
        {
          key: 2,
          state: 'cooling',
          cooling: [{ model: 'gemini-3.8-flash', until: '2026-05-01T12:00:17.000Z', reason: 'quota-minute' }],
          requests: 1,
          rateLimited: 1,
          lastError: { status: 429, code: 'RESOURCE_EXHAUSTED', at: '2026-05-01T12:00:00.000Z' },
        },
        { key: 3, state: 'removed', reason: 'API_KEY_INVALID', requests: 1, rateLimited: 0 },
      ],
    });
    expect(workerStatus([], { count: 0 }, T0).since).toBeNull();
    expect(keyStatus({ index: 9, calls: 0, rateLimited: 0, cooldowns: [] })).toEqual({
      key: 9,
      state: 'ok',
      requests: 0,
      rateLimited: 0,
    });
  });
});

describe('workerStatus with projects', () => {
  const M = 'gemini-3.8-flash';
  const cooling = (until: number) => [{ model: M, until, reason: 'quota-minute' as const }];
  // pool: a a a b c; this worker holds global keys 2..5 as KEY1..KEY4 (a: KEY1, KEY2; b: KEY3; c: KEY4)
  const projects = declaredProjects(
    ['a', 'a', 'a', 'b', 'c'],
    [2, 3, 4, 5].map((global, i) => ({ index: i + 1, global })),
  );

  it('lists each project with its keys, share and state, and the pool’s capacity line', () => {
    const snapshot = [
      { index: 1, calls: 1, rateLimited: 1, cooldowns: cooling(T0 + 9_000) },
      { index: 2, calls: 0, rateLimited: 0, cooldowns: cooling(T0 + 4_000) },
      { index: 3, calls: 0, rateLimited: 0, removed: 'API_KEY_INVALID', cooldowns: [] },
      { index: 4, calls: 2, rateLimited: 0, cooldowns: [] },
    ];
    const status = workerStatus(snapshot, { count: 3 }, T0, projects);
    expect(status.projects).toEqual([
      {
        project: 'a',
        keys: [1, 2],
        globalKeys: [2, 3],
        weight: 2 / 3,
        state: 'cooling',
        // the project frees for the model when its first key does
        cooling: [{ model: M, until: '2026-05-01T12:00:04.000Z', reason: 'quota-minute' }],
      },
      { project: 'b', keys: [3], globalKeys: [4], weight: 1, state: 'removed' },
      { project: 'c', keys: [4], globalKeys: [5], weight: 1, state: 'ok' },
    ]);
    expect(status.capacity).toEqual({
      declared: true,
      pool: { keys: 5, projects: 3, line: '5 keys in 3 projects' },
      worker: { keys: 4, projects: 3, share: 2.667 },
    });
    expect(status.keys.map((k) => [k.key, k.project, k.globalKey])).toEqual([
      [1, 'a', 2],
      [2, 'a', 3],
      [3, 'b', 4],
      [4, 'c', 5],
    ]);
  });

  it('calls a project ok while one of its keys may serve the model, and says nothing of the pool it cannot see', () => {
    const snapshot = [
      { index: 1, calls: 0, rateLimited: 0, cooldowns: cooling(T0 + 9_000) },
      { index: 2, calls: 0, rateLimited: 0, cooldowns: [] },
    ];
    const implicit = implicitProjects([1, 2]);
    const status = workerStatus(snapshot, { count: 0 }, T0, implicit);
    expect(status.projects?.map((p) => [p.project, p.state])).toEqual([
      ['key1', 'cooling'],
      ['key2', 'ok'],
    ]);
    expect(status.capacity).toEqual({ declared: false, worker: { keys: 2, projects: 2, share: 2 } });
    // implicit labels stay off the key entries
    expect(status.keys[0]).not.toHaveProperty('project');
    expect(capacityLine(20, 11)).toBe('20 keys in 11 projects');
    expect(capacityLine(1, 1)).toBe('1 key in 1 project');
  });
});

describe('GET /zen/status in workerd', () => {
  let h: ShardWorkerHarness;

  beforeAll(async () => {
    h = await startShardWorker({ keys: KEYS, pass: PASS });
  });

  afterAll(async () => {
    await h?.close();
  });

  const status = (headers: Record<string, string> = { authorization: `Bearer ${PASS}` }, path = '/zen/status') =>
    fetch(`${h.url}${path}`, { headers });
  const chat = (model = 'gemini-3.8-flash') =>
    fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }] }),
    });

  it('answers every key as ok before any request, with no upstream call and no key value', async () => {
    const res = await status();
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const text = await res.text();
    const body = JSON.parse(text) as WorkerStatus;
    expect(body).toMatchObject({
      scope: 'isolate',
      requests: 0,
      since: null,
      summary: { ok: 4, cooling: 0, removed: 0 },
    });
    expect(body.keys.map((k) => [k.key, k.state, k.requests])).toEqual([
      [1, 'ok', 0],
      [2, 'ok', 0],
      [3, 'ok', 0],
      [4, 'ok', 0],
    ]);
    expect(Number.isNaN(Date.parse(body.time))).toBe(false);
    expect(text).not.toMatch(/canary/);
    expect(h.fake.calls).toHaveLength(0);
  });

  it('shows a removed key with its reason and a cooling key with model, until and reason, and counts what it saw', async () => {
    h.fake.setKeyBehaviour(KEYS[1] as string, 'invalid-key');
    h.fake.setKeyBehaviour(KEYS[2] as string, 'quota-minute');
    // each request draws its first key among the usable ones, so P(a faulty key is never drawn) < 2 * 0.75^60 < 1e-7
    for (let i = 0; i < 60; i++) expect((await chat()).status).toBe(200);

    const res = await status({ 'x-goog-api-key': PASS });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as WorkerStatus;
    const byKey = new Map(body.keys.map((k) => [k.key, k]));
    expect(byKey.get(2)).toMatchObject({
      state: 'removed',
      reason: 'API_KEY_INVALID',
      lastError: { status: 400, code: 'API_KEY_INVALID' },
    });
    expect(byKey.get(3)).toMatchObject({
      state: 'cooling',
      cooling: [{ model: 'gemini-3.8-flash', reason: 'quota-minute' }],
      rateLimited: 1,
      lastError: { status: 429, code: 'RESOURCE_EXHAUSTED' },
    });
    // the fake's RetryInfo says 17 s
    const until = Date.parse(byKey.get(3)?.cooling?.[0]?.until ?? '');
    expect(until - Date.parse(body.time)).toBeGreaterThan(10_000);
    expect(until - Date.parse(body.time)).toBeLessThanOrEqual(17_000);
    expect(byKey.get(1)?.state).toBe('ok');
    expect(byKey.get(4)?.state).toBe('ok');
    expect(body.summary).toEqual({ ok: 2, cooling: 1, removed: 1 });

    // the counters are the calls Google received, key by key; status requests are not client requests
    for (const [i, key] of KEYS.entries()) {
      expect(byKey.get(i + 1)?.requests).toBe(h.fake.calls.filter((c) => c.apiKey === key).length);
    }
    expect(body.requests).toBe(60);
    expect(body.since).not.toBeNull();
    expect(text).not.toMatch(/canary/);
  });

  it('logs the status request under route zen.status with the client, and keys cooled for one model stay ok for others', async () => {
    const res = await status({ authorization: `Bearer ${PASS}`, 'x-request-id': 'status-log-1' });
    expect(res.status).toBe(200);
    expect(await h.waitForRequestLog('status-log-1')).toEqual({
      event: 'request',
      requestId: 'status-log-1',
      route: 'zen.status',
      client: 'pass',
      attempts: 0,
      status: 200,
      ms: expect.any(Number),
    });
    const body = (await (await status()).json()) as WorkerStatus;
    // key 3 cools for gemini-3.8-flash only: listed as cooling, with that model alone
    expect(body.keys[2]?.cooling?.map((c) => c.model)).toEqual(['gemini-3.8-flash']);
  });

  it.each([
    ['no credential', {}, 'missing_api_key'],
    ['a wrong password', { authorization: 'Bearer not-the-password' }, 'invalid_api_key'],
    ['a wrong password in x-goog-api-key', { 'x-goog-api-key': 'not-the-password' }, 'invalid_api_key'],
    ['a Basic credential', { authorization: `Basic ${btoa(`u:${PASS}`)}` }, 'wrong_auth_header'],
    ['the password in x-api-key', { 'x-api-key': PASS }, 'wrong_auth_header'],
  ])('answers the usual 401 for %s, without a key state in the body', async (_label, headers, code) => {
    const res = await status(headers);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; type: string }; keys?: unknown };
    expect(body.error).toMatchObject({ code, type: 'authentication_error' });
    expect(body.keys).toBeUndefined();
  });

  it('does not read the password from the URL (?key=): it would end up in proxy logs', async () => {
    const res = await status({}, `/zen/status?key=${PASS}`);
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('wrong_auth_header');
    expect(body.error.message).toContain(
      'the Authorization header as "Bearer <password>" or the x-goog-api-key header',
    );
  });

  it('answers other methods with 405 and allow: GET, OPTIONS', async () => {
    const res = await fetch(`${h.url}/zen/status`, { method: 'POST', headers: { authorization: `Bearer ${PASS}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, OPTIONS');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
  });

  it('answers 500 server_misconfigured when a binding is broken, like every other route', async () => {
    const broken = await startShardWorker({ keys: KEYS, pass: PASS, bindings: { MAX_WAIT_MS: 'soon' }, fake: h.fake });
    try {
      const res = await fetch(`${broken.url}/zen/status`, { headers: { authorization: `Bearer ${PASS}` } });
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('server_misconfigured');
    } finally {
      await broken.close();
    }
  });
});
