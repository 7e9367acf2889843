import {
  DEFAULT_SHARD_TIMEOUT_MS,
  MAX_SHARD_ATTEMPTS,
  discoverBackends,
  parseShardAttempts,
  parseShardTimeoutMs,
  type Backend,
  type BoundBackend,
} from '../../workers/orchestrator/backends';
import { pickIndex, shardOrder } from '../../workers/orchestrator/pick';
import { routeRequest, type RouteDeps } from '../../workers/orchestrator/route';
import { POOL_EXHAUSTED, POOL_HEADER } from '../../workers/shared/pool-refusal';
import { requestIdOf } from '../../workers/shared/request-id';
import { chiSquareUniform } from '../local/chi-square';

/** mulberry32: a small seeded PRNG so the statistical test is deterministic. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Harness {
  deps: RouteDeps;
  logs: Record<string, unknown>[];
  expireTimers: () => void;
}

function harness(overrides: Partial<RouteDeps> = {}): Harness {
  const logs: Record<string, unknown>[] = [];
  const timers = new Set<() => void>();
  const deps: RouteDeps = {
    random: () => 0,
    now: () => 1000,
    randomUUID: () => 'generated-id',
    log: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
    attempts: 1,
    timeoutMs: 50,
    startTimer: (_ms, onExpire) => {
      timers.add(onExpire);
      return () => timers.delete(onExpire);
    },
    ...overrides,
  };
  return { deps, logs, expireTimers: () => [...timers].forEach((fire) => fire()) };
}

function backend(handler: (request: Request) => Promise<Response>): Backend & { seen: Request[] } {
  const seen: Request[] = [];
  return {
    seen,
    fetch: (request) => {
      seen.push(request);
      return handler(request);
    },
  };
}

const ok = (): Promise<Response> => Promise.resolve(new Response('ok'));
const boom = (): Promise<Response> => Promise.reject(new Error('internal detail: stack at shard.js:1'));
const bind = (...backends: Backend[]): BoundBackend[] => backends.map((b, index) => ({ index, backend: b }));

/** A shard refusing from its own key pool, as the src worker does; `cancelled` records a discarded body. */
function refusing(status: 429 | 503, code: string, headers: Record<string, string> = {}): Backend & { seen: Request[]; cancelled: () => number } {
  let cancelled = 0;
  const shard = backend(() =>
    Promise.resolve(
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(JSON.stringify({ error: { code } })));
            controller.close();
          },
          cancel() {
            cancelled += 1;
          },
        }),
        { status, headers: { 'content-type': 'application/json', [POOL_HEADER]: POOL_EXHAUSTED, ...headers } },
      ),
    ),
  );
  return Object.assign(shard, { cancelled: () => cancelled });
}

describe('discoverBackends', () => {
  it('returns every BACKEND_SERVICE_<n> fetcher in numeric order, skipping other bindings and non-fetchers', () => {
    const fetcher = (): Backend => ({ fetch: ok });
    const env = {
      BACKEND_SERVICE_10: fetcher(),
      BACKEND_SERVICE_2: fetcher(),
      BACKEND_SERVICE_0: fetcher(),
      BACKEND_SERVICE_1: 'not a fetcher',
      BACKEND_SERVICE_03: fetcher(),
      BACKEND_SERVICE_X: fetcher(),
      SHARD_ATTEMPTS: '1',
    };
    expect(discoverBackends(env).map((b) => b.index)).toEqual([0, 2, 10]);
  });

  it('finds nothing in an empty env', () => {
    expect(discoverBackends({})).toEqual([]);
  });
});

describe('settings', () => {
  it.each([
    [undefined, 1],
    ['1', 1],
    ['3', 3],
    [' 2 ', 2],
    ['0', 1],
    ['-2', 1],
    ['2.5', 1],
    ['abc', 1],
    ['99', MAX_SHARD_ATTEMPTS],
  ])('SHARD_ATTEMPTS %p means %p', (raw, expected) => {
    expect(parseShardAttempts(raw)).toBe(expected);
  });

  it('SHARD_TIMEOUT_MS falls back to the default when absent or malformed', () => {
    expect(parseShardTimeoutMs('250')).toBe(250);
    expect(parseShardTimeoutMs(undefined)).toBe(DEFAULT_SHARD_TIMEOUT_MS);
    expect(parseShardTimeoutMs('0')).toBe(DEFAULT_SHARD_TIMEOUT_MS);
    expect(DEFAULT_SHARD_TIMEOUT_MS).toBeGreaterThan(120_000);
  });
});

describe('pickIndex / shardOrder', () => {
  it('maps the whole [0, 1) range onto valid indexes, even a source that returns 1', () => {
    expect(pickIndex(3, () => 0)).toBe(0);
    expect(pickIndex(3, () => 0.9999)).toBe(2);
    expect(pickIndex(3, () => 1)).toBe(2);
    expect(() => pickIndex(0, () => 0)).toThrow('count must be a positive integer, got 0');
  });

  it('does not reject uniformity at p = 0.001 over 30,000 draws from 7 shards', () => {
    const random = seeded(20260426);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 30_000; i++) counts[pickIndex(7, random)]! += 1;
    expect(chiSquareUniform(counts).pValue).toBeGreaterThan(0.001);
  });

  it('rejects a biased chooser, so the uniformity check can fail', () => {
    const random = seeded(1);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 30_000; i++) counts[Math.min(pickIndex(8, random), 6)]! += 1;
    expect(chiSquareUniform(counts).pValue).toBeLessThan(0.001);
  });

  it('orders distinct shards, capped by the shard count', () => {
    const random = seeded(7);
    for (let i = 0; i < 200; i++) {
      const order = shardOrder(4, 3, random);
      expect(new Set(order).size).toBe(3);
      order.forEach((n) => expect(n).toBeGreaterThanOrEqual(0));
    }
    expect(shardOrder(2, 5, random).sort()).toEqual([0, 1]);
  });
});

describe('requestIdOf (one rule for both workers)', () => {
  const id = (headers: Record<string, string>): string => requestIdOf(new Headers(headers), () => 'fresh');
  it('prefers a safe cf-ray, then a well-formed client id, else a fresh one', () => {
    expect(id({ 'cf-ray': '8abc-FRA', 'x-request-id': 'client' })).toBe('8abc-FRA');
    expect(id({ 'x-request-id': 'client-1.2_3' })).toBe('client-1.2_3');
    expect(id({ 'x-request-id': 'has space' })).toBe('fresh');
    expect(id({ 'x-request-id': 'a'.repeat(129) })).toBe('fresh');
    expect(id({})).toBe('fresh');
  });

  it.each([
    ['log-injection JSON', '1","status":200,"shard":"x'],
    ['a terminal escape sequence', '\u001b[2J\u001b[31mFAKE'],
    ['a tab', 'ray\tother'],
    ['an over-long ray', 'r'.repeat(129)],
  ])('ignores a cf-ray holding %s, falling back to the client id or a fresh one', (_name, ray) => {
    expect(id({ 'cf-ray': ray, 'x-request-id': 'client-7' })).toBe('client-7');
    expect(id({ 'cf-ray': ray })).toBe('fresh');
  });
});

describe('routeRequest', () => {
  it('forwards to the chosen shard with x-request-id set and returns its response with the same id', async () => {
    const shards = [backend(ok), backend(() => Promise.resolve(new Response('from 1', { status: 201 })))];
    const { deps, logs } = harness({ random: () => 0.6 });
    const res = await routeRequest(
      new Request('https://gw.example/v1/models?x=1', { headers: { authorization: 'Bearer p' } }),
      bind(...shards),
      deps,
    );
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('from 1');
    expect(res.headers.get('x-request-id')).toBe('generated-id');
    expect(shards[0]!.seen).toHaveLength(0);
    const forwarded = shards[1]!.seen[0]!;
    expect(forwarded.url).toBe('https://gw.example/v1/models?x=1');
    expect(forwarded.headers.get('authorization')).toBe('Bearer p');
    expect(forwarded.headers.get('x-request-id')).toBe('generated-id');
    expect(logs).toEqual([{ event: 'orchestrator_request', requestId: 'generated-id', shard: 1, status: 201, ms: 0 }]);
  });

  it('answers 503 with a JSON error and one log line when no shard is bound', async () => {
    const { deps, logs } = harness();
    const res = await routeRequest(new Request('https://gw.example/v1/models'), [], deps);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: { message: 'No backend shard is configured for this gateway', type: 'server_error', code: 'no_backend' },
    });
    expect(res.headers.get('x-request-id')).toBe('generated-id');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    // a browser script can only quote the id in a bug report if the shared CORS headers expose it
    expect(res.headers.get('access-control-expose-headers')).toContain('x-request-id');
    expect(logs).toEqual([{ event: 'orchestrator_request', requestId: 'generated-id', status: 503, error: 'no_backend', ms: 0 }]);
  });

  it('answers 502 without the shard error text and does not retry by default', async () => {
    const failing = backend(boom);
    const healthy = backend(ok);
    const { deps, logs } = harness({ random: () => 0 });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(failing, healthy), deps);
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'shard_error', type: 'server_error' } });
    expect(text).not.toContain('internal detail');
    expect(failing.seen).toHaveLength(1);
    expect(healthy.seen).toHaveLength(0);
    expect(logs).toEqual([{ event: 'orchestrator_request', requestId: 'generated-id', shard: 0, status: 502, error: 'shard_error', ms: 0 }]);
  });

  it('with SHARD_ATTEMPTS 2 replays the same body on another shard after a throw', async () => {
    const failing = backend(boom);
    const healthy = backend(async (request) => new Response(await request.text()));
    const { deps, logs } = harness({ random: () => 0, attempts: 2 });
    const request = new Request('https://gw.example/v1/chat/completions', { method: 'POST', body: '{"model":"m"}' });
    const res = await routeRequest(request, bind(failing, healthy), deps);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"model":"m"}');
    expect(failing.seen).toHaveLength(1);
    expect(logs[0]).toMatchObject({ shard: 1, status: 200, attempts: 2 });
  });

  it('does not retry an error status, which may already have been billed upstream', async () => {
    const erroring = backend(() => Promise.resolve(new Response('{}', { status: 500 })));
    const other = backend(ok);
    const { deps } = harness({ random: () => 0, attempts: 2 });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(erroring, other), deps);
    expect(res.status).toBe(500);
    expect(other.seen).toHaveLength(0);
  });

  it('with SHARD_ATTEMPTS 2 discards a pool refusal and replays the same body on another shard', async () => {
    const cooling = refusing(429, 'all_keys_cooling', { 'retry-after': '30' });
    const healthy = backend(async (request) => new Response(await request.text()));
    const { deps, logs } = harness({ random: () => 0, attempts: 2 });
    const request = new Request('https://gw.example/v1/chat/completions', { method: 'POST', body: '{"model":"m"}' });
    const res = await routeRequest(request, bind(cooling, healthy), deps);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"model":"m"}');
    expect(cooling.seen).toHaveLength(1);
    expect(cooling.cancelled()).toBe(1);
    expect(logs).toEqual([{ event: 'orchestrator_request', requestId: 'generated-id', shard: 1, status: 200, attempts: 2, ms: 0 }]);
  });

  it('when every shard refuses, returns the refusal with the smallest retry-after with its headers and body', async () => {
    const daily = refusing(429, 'daily_quota_exhausted', { 'retry-after': '3600', 'x-should-retry': 'false' });
    const cooling = refusing(429, 'all_keys_cooling', { 'retry-after': '12' });
    const gone = refusing(503, 'no_usable_keys');
    const { deps, logs } = harness({ random: () => 0, attempts: 3 });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(daily, cooling, gone), deps);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('12');
    expect(res.headers.get('x-should-retry')).toBeNull();
    expect(res.headers.get('x-request-id')).toBe('generated-id');
    expect(await res.json()).toEqual({ error: { code: 'all_keys_cooling' } });
    expect([daily.seen.length, cooling.seen.length, gone.seen.length]).toEqual([1, 1, 1]);
    expect([daily.cancelled(), cooling.cancelled(), gone.cancelled()]).toEqual([1, 0, 1]);
    expect(logs).toEqual([{ event: 'orchestrator_request', requestId: 'generated-id', shard: 1, status: 429, attempts: 3, ms: 0 }]);
  });

  it('when every shard is out for the day, the client still gets retry-after and x-should-retry: false', async () => {
    const first = refusing(429, 'daily_quota_exhausted', { 'retry-after': '7200', 'x-should-retry': 'false' });
    const last = refusing(429, 'daily_quota_exhausted', { 'retry-after': '7200', 'x-should-retry': 'false' });
    const { deps, logs } = harness({ random: () => 0, attempts: 2 });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(first, last), deps);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7200');
    expect(res.headers.get('x-should-retry')).toBe('false');
    // on a tie the later refusal wins, so the first one's body is the one released
    expect([first.cancelled(), last.cancelled()]).toEqual([1, 0]);
    expect(logs[0]).toMatchObject({ shard: 1, status: 429, attempts: 2 });
  });

  it('does not retry a pool refusal with the default SHARD_ATTEMPTS 1', async () => {
    const cooling = refusing(429, 'all_keys_cooling', { 'retry-after': '5' });
    const other = backend(ok);
    const { deps, logs } = harness({ random: () => 0 });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(cooling, other), deps);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get(POOL_HEADER)).toBe(POOL_EXHAUSTED);
    expect(await res.json()).toEqual({ error: { code: 'all_keys_cooling' } });
    expect(other.seen).toHaveLength(0);
    expect(logs).toEqual([{ event: 'orchestrator_request', requestId: 'generated-id', shard: 0, status: 429, ms: 0 }]);
  });

  it.each([
    ['a 429 without the pool header (Google rate limited the shard)', 429, {}],
    ['the pool header on a status other than 429/503', 500, { [POOL_HEADER]: POOL_EXHAUSTED }],
    ['a 429 whose pool header has another value', 429, { [POOL_HEADER]: 'other' }],
  ])('does not retry %s', async (_name, status, headers) => {
    const limited = backend(() => Promise.resolve(new Response('{}', { status, headers: { 'retry-after': '1', ...headers } })));
    const other = backend(ok);
    const { deps } = harness({ random: () => 0, attempts: 2 });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(limited, other), deps);
    expect(res.status).toBe(status);
    expect(other.seen).toHaveLength(0);
  });

  it('prefers a refusal to a thrown shard, and a thrown shard after a refusal still tries the rest', async () => {
    const cooling = refusing(429, 'all_keys_cooling', { 'retry-after': '9' });
    const failing = backend(boom);
    const { deps, logs } = harness({ random: () => 0, attempts: 2 });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(cooling, failing), deps);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('9');
    expect(failing.seen).toHaveLength(1);
    expect(logs).toEqual([{ event: 'orchestrator_request', requestId: 'generated-id', shard: 0, status: 429, attempts: 2, ms: 0 }]);
  });

  it('answers 504 when the shard sends no headers before the deadline', async () => {
    const hanging = backend(() => new Promise<Response>(() => undefined));
    const { deps, logs, expireTimers } = harness();
    const pending = routeRequest(new Request('https://gw.example/v1/models'), bind(hanging), deps);
    await Promise.resolve();
    expireTimers();
    const res = await pending;
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: 'shard_timeout' } });
    expect(logs[0]).toMatchObject({ shard: 0, status: 504, error: 'shard_timeout' });
  });

  it('streams the request body through without reading it when there is no retry', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new TextEncoder().encode('chunk'));
        if (pulled === 3) controller.close();
      },
    });
    const sink = backend(async (request) => new Response(request.body));
    const { deps } = harness();
    const request = new Request('https://gw.example/v1/embeddings', { method: 'POST', body, duplex: 'half' } as RequestInit);
    const res = await routeRequest(request, bind(sink), deps);
    expect(pulled).toBeLessThan(3);
    expect(await res.text()).toBe('chunkchunkchunk');
  });

  it('measures ms until the shard answered, with injected time', async () => {
    let t = 0;
    const slow = backend(async () => {
      t += 42;
      return new Response('late');
    });
    const { deps, logs } = harness({ now: () => t });
    await routeRequest(new Request('https://gw.example/v1/models'), bind(slow), deps);
    expect(logs[0]).toMatchObject({ ms: 42 });
  });
});
