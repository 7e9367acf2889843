/**
 * The orchestrator's `GET /zen/status` over stub shards: every shard asked at once with the client's headers, each
 * answer under its index with its keys' global numbers, failures marked, no randomness and no retry; timers are the
 * harness's, fired by hand.
 */
import { DEFAULT_SHARD_ATTEMPTS } from '../../../workers/shared/contract';
import { routeRequest, type RouteDeps } from '../../../workers/orchestrator/route-request';
import {
  MAX_STATUS_SHARDS,
  STATUS_TIMEOUT_MS,
  gatewayStatus,
  parseFrom,
  shardEntry,
  type GatewayStatus,
} from '../../../workers/orchestrator/status';
import { backend as stub, bind } from '../../helpers/stub-backends';

const T0 = Date.parse('2026-05-01T12:00:00Z');

interface Harness {
  deps: RouteDeps;
  logs: Record<string, unknown>[];
  timers: Map<() => void, number>;
  expireTimers: () => void;
}

function harness(overrides: Partial<RouteDeps> = {}): Harness {
  const logs: Record<string, unknown>[] = [];
  const timers = new Map<() => void, number>();
  const deps: RouteDeps = {
    random: () => {
      throw new Error('the status view must not draw at random');
    },
    now: () => T0,
    randomUUID: () => 'generated-id',
    log: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
    attempts: DEFAULT_SHARD_ATTEMPTS,
    timeoutMs: 130_000,
    startTimer: (ms, onExpire) => {
      timers.set(onExpire, ms);
      return () => timers.delete(onExpire);
    },
    shardKeyCounts: '8,8,4',
    ...overrides,
  };
  const expireTimers = (): void => {
    for (const fire of [...timers.keys()]) fire();
  };
  return { deps, logs, timers, expireTimers };
}

/** A shard worker's status body for `keys` keys, the first of them cooling. */
function srcStatus(keys: number): Record<string, unknown> {
  return {
    time: '2026-05-01T12:00:00.000Z',
    scope: 'isolate',
    requests: 3,
    keys: Array.from({ length: keys }, (_, i) =>
      i === 0
        ? { key: 1, state: 'cooling', cooling: [{ model: 'gemini-3.8-flash', until: 'x', reason: 'quota-minute' }] }
        : { key: i + 1, state: 'ok' },
    ),
  };
}

const answering = (keys: number) => stub(() => Promise.resolve(Response.json(srcStatus(keys))));
const unauthorized = () =>
  stub(() =>
    Promise.resolve(
      Response.json(
        { error: { message: 'Incorrect password.', type: 'authentication_error', code: 'invalid_api_key' } },
        {
          status: 401,
        },
      ),
    ),
  );
const statusRequest = (headers: Record<string, string> = { authorization: 'Bearer pw' }, query = '') =>
  new Request(`https://gw.example/zen/status${query}`, { headers });

async function body(res: Response): Promise<GatewayStatus> {
  return (await res.json()) as GatewayStatus;
}

describe('GET /zen/status on the orchestrator', () => {
  it('asks every shard once with the client headers, and lists each view under its index with global key numbers', async () => {
    const h = harness();
    const shards = [answering(8), answering(8), answering(4)];
    const res = await routeRequest(
      statusRequest({ authorization: 'Bearer pw', 'x-request-id': 'st-1' }),
      bind(...shards),
      h.deps,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-request-id')).toBe('st-1');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    for (const shard of shards) {
      expect(shard.seen).toHaveLength(1);
      expect(shard.seen[0]?.method).toBe('GET');
      expect(new URL(shard.seen[0]?.url ?? '').pathname).toBe('/zen/status');
      expect(shard.seen[0]?.headers.get('authorization')).toBe('Bearer pw');
      expect(shard.seen[0]?.headers.get('x-request-id')).toBe('st-1');
    }
    const view = await body(res);
    expect(view).toMatchObject({
      time: '2026-05-01T12:00:00.000Z',
      scope: 'isolate',
      shardCount: 3,
      queried: 3,
      answered: 3,
    });
    expect(view.shards.map((s) => [s.shard, s.keyCount, s.firstKey])).toEqual([
      [0, 8, 1],
      [1, 8, 9],
      [2, 4, 17],
    ]);
    const keysOf = (i: number) =>
      (view.shards[i]?.status as { keys: { key: number; globalKey: number }[] } | undefined)?.keys ?? [];
    expect(keysOf(1).map((k) => [k.key, k.globalKey])).toEqual(Array.from({ length: 8 }, (_, j) => [j + 1, 9 + j]));
    expect(keysOf(2).at(-1)).toEqual({ key: 4, state: 'ok', globalKey: 20 });
    expect(keysOf(0)[0]).toMatchObject({ key: 1, globalKey: 1, state: 'cooling' });
    expect(h.logs).toEqual([
      {
        event: 'orchestrator_request',
        requestId: 'st-1',
        route: 'zen.status',
        status: 200,
        queried: 3,
        answered: 3,
        ms: 0,
      },
    ]);
  });

  it('asks all shards at once: every call is made before any answers', async () => {
    const h = harness();
    const release: (() => void)[] = [];
    const held = () =>
      stub(() => new Promise<Response>((resolve) => release.push(() => resolve(Response.json(srcStatus(1))))));
    const shards = [held(), held(), held()];
    const pending = routeRequest(statusRequest(), bind(...shards), h.deps);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(shards.map((s) => s.seen.length)).toEqual([1, 1, 1]);
    expect(h.timers.size).toBe(3);
    expect([...h.timers.values()]).toEqual([STATUS_TIMEOUT_MS, STATUS_TIMEOUT_MS, STATUS_TIMEOUT_MS]);
    for (const r of release) r();
    expect((await body(await pending)).answered).toBe(3);
    expect(h.timers.size).toBe(0);
  });

  it('marks a hanging shard timeout, a throwing one shard_error, another status by its code, and never retries', async () => {
    const h = harness({ shardKeyCounts: '8,8,8,4,4' });
    const hanging = stub(() => new Promise<Response>(() => undefined));
    const throwing = stub(() => Promise.reject(new Error('internal detail at shard.js:1')));
    const failing = stub(() => Promise.resolve(new Response('boom', { status: 500 })));
    const notJson = stub(() => Promise.resolve(new Response('<html>', { status: 200 })));
    const fine = answering(4);
    const pending = routeRequest(statusRequest(), bind(hanging, throwing, failing, notJson, fine), h.deps);
    await new Promise((resolve) => setTimeout(resolve, 0));
    h.expireTimers();
    const res = await pending;
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('internal detail');
    const view = JSON.parse(text) as GatewayStatus;
    expect(view.shards.map((s) => [s.shard, s.error ?? 'ok'])).toEqual([
      [0, 'timeout'],
      [1, 'shard_error'],
      [2, 'status 500'],
      [3, 'shard_error'],
      [4, 'ok'],
    ]);
    expect(view).toMatchObject({ queried: 5, answered: 1 });
    for (const shard of [hanging, throwing, failing, notJson, fine]) expect(shard.seen).toHaveLength(1);
  });

  it('answers 401 with the shard body when every shard refused the credential', async () => {
    const h = harness();
    const res = await routeRequest(
      statusRequest({ authorization: 'Bearer wrong' }),
      bind(unauthorized(), unauthorized(), unauthorized()),
      h.deps,
    );
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toBe('generated-id');
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({
      error: { message: 'Incorrect password.', type: 'authentication_error', code: 'invalid_api_key' },
    });
    expect(h.logs[0]).toMatchObject({ route: 'zen.status', status: 401, queried: 3 });
  });

  it('answers 200 when only some shards refused the credential (a PASS rotation half applied), marking them', async () => {
    const h = harness();
    const res = await routeRequest(statusRequest(), bind(answering(8), unauthorized(), answering(4)), h.deps);
    expect(res.status).toBe(200);
    expect((await body(res)).shards.map((s) => s.error ?? 'ok')).toEqual(['ok', 'status 401', 'ok']);
  });

  it(`asks at most ${MAX_STATUS_SHARDS} shards, marks the rest not_queried with a note, and ?from= pages on`, async () => {
    const h = harness({ shardKeyCounts: Array(40).fill('1').join(',') });
    const shards = Array.from({ length: 40 }, () => answering(1));
    const view = await body(await routeRequest(statusRequest(), bind(...shards), h.deps));
    expect(shards.filter((s) => s.seen.length === 1)).toHaveLength(MAX_STATUS_SHARDS);
    expect(view).toMatchObject({ shardCount: 40, queried: 31, answered: 31 });
    expect(view.shards.slice(31).every((s) => s.error === 'not_queried')).toBe(true);
    expect(view.notQueried).toContain('shards 31, 32, 33, 34, 35, 36, 37, 38, 39 were not asked');
    expect(view.notQueried).toContain('/zen/status?from=<shard>');

    const next = await body(await routeRequest(statusRequest(undefined, '?from=31'), bind(...shards), h.deps));
    expect(next).toMatchObject({ queried: 9, answered: 9 });
    expect(next.shards.slice(0, 31).every((s) => s.error === 'not_queried')).toBe(true);
    expect(next.shards[39]?.firstKey).toBe(40);
    expect(shards.every((s) => s.seen.length === 1)).toBe(true);
  });

  it('refuses a malformed ?from= with 400 invalid_query, asking no shard', async () => {
    const h = harness();
    const shard = answering(8);
    const res = await routeRequest(statusRequest(undefined, '?from=-1'), bind(shard), h.deps);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_query');
    expect(shard.seen).toHaveLength(0);
  });

  it('without usable SHARD_KEY_COUNTS still answers, without global numbers, saying why', async () => {
    const h = harness({ shardKeyCounts: undefined });
    const view = await body(await routeRequest(statusRequest(), bind(answering(2), answering(2)), h.deps));
    expect(view.shardKeyCounts).toBe('missing');
    expect(view.shards.map((s) => [s.keyCount, s.firstKey])).toEqual([
      [undefined, undefined],
      [undefined, undefined],
    ]);
    expect(JSON.stringify(view)).not.toContain('globalKey');
  });

  it('answers 503 no_backend when no shard is bound', async () => {
    const res = await routeRequest(statusRequest(), [], harness().deps);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('no_backend');
  });

  it('routes other methods on /zen/status to one shard like any request (which answers 405 itself)', async () => {
    const h = harness({ random: () => 0 });
    const shards = [answering(8), answering(8), answering(4)];
    await routeRequest(
      new Request('https://gw.example/zen/status', { method: 'POST', body: '{}' }),
      bind(...shards),
      h.deps,
    );
    expect(shards.map((s) => s.seen.length)).toEqual([1, 0, 0]);
  });
});

describe('status builders', () => {
  it('parseFrom reads a shard index, absent means 0', () => {
    expect(parseFrom(new URLSearchParams())).toBe(0);
    expect(parseFrom(new URLSearchParams('from=12'))).toBe(12);
    for (const bad of ['x', '-1', '1.5', '', '01'])
      expect(parseFrom(new URLSearchParams(`from=${bad}`))).toBeUndefined();
  });

  it('shardEntry adds globalKey only to well-formed key entries', () => {
    const entry = shardEntry(
      2,
      {
        kind: 'answered',
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ keys: [{ key: 2 }, { key: 'x' }, { key: 0 }, 7] }),
      },
      4,
      17,
    );
    expect(entry).toEqual({
      shard: 2,
      keyCount: 4,
      firstKey: 17,
      status: { keys: [{ key: 2, globalKey: 18 }, { key: 'x' }, { key: 0 }, 7] },
    });
    expect(shardEntry(0, { kind: 'answered', status: 200, contentType: null, body: '[1]' }, 1, 1).error).toBe(
      'shard_error',
    );
  });

  it('gatewayStatus counts what was asked and answered', () => {
    const view = gatewayStatus(
      T0,
      [
        { shard: 0, answer: { kind: 'answered', status: 200, contentType: null, body: '{"keys":[]}' } },
        { shard: 1, answer: { kind: 'timeout' } },
        { shard: 2, answer: { kind: 'not-queried' } },
      ],
      [2, 2, 1],
      undefined,
    );
    expect(view).toMatchObject({ shardCount: 3, queried: 2, answered: 1 });
    expect(view.shards.map((s) => s.firstKey)).toEqual([1, 3, 5]);
  });
});
