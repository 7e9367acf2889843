import { parseShardAttempts, parseShardTimeoutMs, type Backend } from '../../../workers/orchestrator/backends';
import { DEFAULT_SHARD_ATTEMPTS, MAX_SHARD_ATTEMPTS, REPLAY_MAX_BYTES } from '../../../workers/shared/contract';
import { routeRequest } from '../../../workers/orchestrator/route-request';
import { readConfig } from '../../../workers/shard/edge/bindings';
import { POOL_EXHAUSTED, POOL_HEADER } from '../../../workers/shared/pool-refusal';
import { chiSquareWeighted } from '../../helpers/chi-square';
import { defined } from '../../helpers/guards';
import { seeded } from '../../helpers/seeded-random';
import { backend, bind, ok, routeHarness } from '../../helpers/stub-backends';

const harness = routeHarness;

const boom = (): Promise<Response> => Promise.reject(new Error('internal detail: stack at shard.js:1'));

/**
 * A shard refusing from its own key pool, as the shard worker does; `released` says whether its body was read to the
 * end or cancelled, i.e. whether the orchestrator let go of the shard's stream.
 */
function refusing(
  status: 429 | 503,
  code: string,
  headers: Record<string, string> = {},
): Backend & { seen: Request[]; released: () => boolean } {
  let released = false;
  const shard = backend(() => {
    let sent = false;
    return Promise.resolve(
      new Response(
        new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (sent) {
                controller.close();
                released = true;
                return;
              }
              sent = true;
              controller.enqueue(new TextEncoder().encode(JSON.stringify({ error: { code } })));
            },
            cancel() {
              released = true;
            },
          },
          { highWaterMark: 0 },
        ),
        { status, headers: { 'content-type': 'application/json', [POOL_HEADER]: POOL_EXHAUSTED, ...headers } },
      ),
    );
  });
  return Object.assign(shard, { released: () => released });
}

describe('settings', () => {
  it('without SHARD_ATTEMPTS, a request every shard refuses from its pool tries 3 shards', async () => {
    const shards = Array.from({ length: 5 }, () => refusing(429, 'all_keys_cooling', { 'retry-after': '5' }));
    const { deps, logs } = harness({ attempts: parseShardAttempts(undefined), shardKeyCounts: '1,1,1,1,1' });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(...shards), deps);
    expect(res.status).toBe(429);
    expect(shards.map((s) => s.seen.length).reduce((a, b) => a + b)).toBe(3);
    expect(logs).toEqual([expect.objectContaining({ status: 429, attempts: 3 })]);
  });

  it("by default outwaits the shard's own upstream deadline, so a slow Gemini reaches the client as the shard's 504", async () => {
    const shardConfig = readConfig({ PASS: 'p', KEY1: 'k' });
    if (!shardConfig.ok) throw new Error(`the shard worker's defaults do not load: ${shardConfig.problem}`);
    /** answers the way a shard does once it has waited `waitMs` (of the test's clock) for Gemini */
    const answersAfter = async (waitMs: number): Promise<Response> => {
      let now = 0;
      const timers: { at: number; fire: () => void }[] = [];
      const shard = backend(async () => {
        now += waitMs;
        for (const timer of timers.filter((t) => t.at <= now)) timer.fire();
        return new Response('{"error":{"code":"upstream_timeout"}}', { status: 504 });
      });
      const { deps } = harness({
        now: () => now,
        timeoutMs: parseShardTimeoutMs(undefined),
        shardKeyCounts: '1',
        startTimer: (ms, onExpire) => {
          const timer = { at: now + ms, fire: onExpire };
          timers.push(timer);
          return () => timers.splice(timers.indexOf(timer), 1);
        },
      });
      return routeRequest(new Request('https://gw.example/v1/chat/completions'), bind(shard), deps);
    };
    const slowGemini = await answersAfter(shardConfig.config.timeoutMs);
    expect(slowGemini.status).toBe(504);
    expect(await slowGemini.json()).toEqual({ error: { code: 'upstream_timeout' } });
    // a shard stuck past the orchestrator's own deadline is the orchestrator's 504, so the clock above is not blind
    const stuckShard = await answersAfter(parseShardTimeoutMs(undefined));
    expect(await stuckShard.json()).toMatchObject({ error: { code: 'shard_timeout' } });
  });
});

/** A request body that counts how many chunks of 64 KiB the consumer pulled out of `total` bytes. */
function countingBody(total: number): {
  body: ReadableStream<Uint8Array>;
  pulledBytes: () => number;
  cancelled: () => boolean;
} {
  const chunk = new Uint8Array(64 * 1024).fill(97);
  let pulled = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (pulled >= total) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  return { body, pulledBytes: () => pulled, cancelled: () => cancelled };
}

const post = (body: string | ReadableStream<Uint8Array>, path = '/v1/chat/completions'): Request =>
  new Request(`https://gw.example${path}`, { method: 'POST', body, duplex: 'half' } as RequestInit);

/** A shard that reads the whole body (as the shard worker does before it consults its pool) and then refuses. */
function readingRefuser(retryAfterSeconds: string): Backend & { seen: Request[]; bodies: string[] } {
  const bodies: string[] = [];
  const shard = backend(async (request) => {
    bodies.push(await request.text());
    return new Response('{"error":{"code":"all_keys_cooling"}}', {
      status: 429,
      headers: { 'retry-after': retryAfterSeconds, [POOL_HEADER]: POOL_EXHAUSTED },
    });
  });
  return Object.assign(shard, { bodies });
}

describe('routeRequest', () => {
  it('forwards to the chosen shard with x-request-id set and returns its response with the same id', async () => {
    const shard0 = backend(ok);
    const shard1 = backend(() => Promise.resolve(new Response('from 1', { status: 201 })));
    const { deps, logs } = harness({ random: () => 0.6, shardKeyCounts: '1,1' });
    const res = await routeRequest(
      new Request('https://gw.example/v1/models?x=1', { headers: { authorization: 'Bearer p' } }),
      bind(shard0, shard1),
      deps,
    );
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('from 1');
    expect(res.headers.get('x-request-id')).toBe('generated-id');
    expect(shard0.seen).toHaveLength(0);
    const forwarded = defined(shard1.seen[0], 'a request forwarded to shard 1');
    expect(forwarded.url).toBe('https://gw.example/v1/models?x=1');
    expect(forwarded.headers.get('authorization')).toBe('Bearer p');
    expect(forwarded.headers.get('x-request-id')).toBe('generated-id');
    expect(logs).toEqual([{ event: 'orchestrator_request', requestId: 'generated-id', shard: 1, status: 201, ms: 0 }]);
  });

  it('draws shards by SHARD_KEY_COUNTS and never one with zero keys', async () => {
    const empty = backend(ok);
    const small = backend(() => Promise.resolve(new Response('small')));
    const large = backend(() => Promise.resolve(new Response('large')));
    const random = seeded(5);
    const { deps, logs } = harness({ random, shardKeyCounts: '0,1,3' });
    for (let i = 0; i < 400; i++)
      await (await routeRequest(new Request('https://gw.example/v1/models'), bind(empty, small, large), deps)).text();
    expect(empty.seen).toHaveLength(0);
    expect(chiSquareWeighted([small.seen.length, large.seen.length], [1, 3]).pValue).toBeGreaterThan(0.001);
    expect(logs.some((l) => 'shardKeyCounts' in l)).toBe(false);
  });

  it.each([
    [undefined, 'missing'],
    ['8,8', 'malformed'],
  ])('with SHARD_KEY_COUNTS %p draws uniformly, still answers, and says so in the log line', async (raw, fallback) => {
    const shards = [backend(ok), backend(ok), backend(ok)];
    const { deps, logs } = harness({ random: () => 0.7, shardKeyCounts: raw });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(...shards), deps);
    expect(res.status).toBe(200);
    expect(shards.map((s) => s.seen.length)).toEqual([0, 0, 1]);
    expect(logs).toEqual([
      {
        event: 'orchestrator_request',
        requestId: 'generated-id',
        shard: 2,
        status: 200,
        shardKeyCounts: fallback,
        ms: 0,
      },
    ]);
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
    expect(logs).toEqual([
      {
        event: 'orchestrator_request',
        requestId: 'generated-id',
        status: 503,
        error: 'no_backend',
        shardKeyCounts: 'missing',
        ms: 0,
      },
    ]);
  });

  it('answers 502 without the shard error text when the shard throws, and never tries another shard', async () => {
    const failing = backend(boom);
    const healthy = backend(ok);
    const { deps, logs } = harness({ random: () => 0, shardKeyCounts: '1,1' });
    const res = await routeRequest(post('{"model":"m"}'), bind(failing, healthy), deps);
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'shard_error', type: 'server_error' } });
    expect(text).not.toContain('internal detail');
    expect(failing.seen).toHaveLength(1);
    expect(healthy.seen).toHaveLength(0);
    expect(logs).toEqual([
      { event: 'orchestrator_request', requestId: 'generated-id', shard: 0, status: 502, error: 'shard_error', ms: 0 },
    ]);
  });

  it('does not retry an error status, which may already have been billed upstream', async () => {
    const erroring = backend(() => Promise.resolve(new Response('{}', { status: 500 })));
    const other = backend(ok);
    const { deps } = harness({ random: () => 0, shardKeyCounts: '1,1' });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(erroring, other), deps);
    expect(res.status).toBe(500);
    expect(other.seen).toHaveLength(0);
  });

  it('re-routes a pool refusal by default, with the very bytes the refusing shard read', async () => {
    const payload = `{"model":"m","messages":[{"role":"user","content":"${'é✓'.repeat(40_000)}"}]}`;
    const cooling = readingRefuser('30');
    const healthy = backend(async (request) => new Response(await request.text()));
    const { deps, logs } = harness({ random: () => 0, shardKeyCounts: '1,1' });
    const res = await routeRequest(post(payload), bind(cooling, healthy), deps);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(payload);
    expect(cooling.bodies).toEqual([payload]);
    expect(logs).toEqual([
      { event: 'orchestrator_request', requestId: 'generated-id', shard: 1, status: 200, attempts: 2, ms: 0 },
    ]);
  });

  it('replays the whole body even when the refusing shard read only part of it', async () => {
    const source = countingBody(3 * 64 * 1024);
    const partial = backend(async (request) => {
      await (request.body as ReadableStream<Uint8Array>).getReader().read();
      return new Response(null, { status: 503, headers: { [POOL_HEADER]: POOL_EXHAUSTED } });
    });
    const healthy = backend(async (request) => new Response(String((await request.arrayBuffer()).byteLength)));
    const { deps } = harness({ random: () => 0, shardKeyCounts: '1,1' });
    const res = await routeRequest(post(source.body), bind(partial, healthy), deps);
    expect(await res.text()).toBe(String(3 * 64 * 1024));
  });

  it('does not keep a body over REPLAY_MAX_BYTES for a re-route: the shard that read it answers, refusal or not', async () => {
    const source = countingBody(REPLAY_MAX_BYTES + 4 * 64 * 1024);
    const cooling = backend(async (request) => {
      await request.arrayBuffer();
      return new Response('{"error":{"code":"all_keys_cooling"}}', {
        status: 429,
        headers: { 'retry-after': '7', [POOL_HEADER]: POOL_EXHAUSTED },
      });
    });
    const healthy = backend(ok);
    const { deps, logs } = harness({ random: () => 0, shardKeyCounts: '1,1' });
    const res = await routeRequest(post(source.body), bind(cooling, healthy), deps);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(cooling.seen).toHaveLength(1);
    expect(healthy.seen).toHaveLength(0);
    expect(logs).toEqual([{ event: 'orchestrator_request', requestId: 'generated-id', shard: 0, status: 429, ms: 0 }]);
  });

  it('tries at most SHARD_ATTEMPTS shards, each once, and passes on the refusal with the smallest retry-after', async () => {
    const daily = refusing(429, 'daily_quota_exhausted', { 'retry-after': '3600', 'x-should-retry': 'false' });
    const cooling = refusing(429, 'all_keys_cooling', { 'retry-after': '12' });
    const gone = refusing(503, 'no_usable_keys');
    const untried = backend(ok);
    const { deps, logs } = harness({ random: () => 0, shardKeyCounts: '1,1,1,1' });
    const res = await routeRequest(
      new Request('https://gw.example/v1/models'),
      bind(daily, cooling, gone, untried),
      deps,
    );
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('12');
    expect(res.headers.get('x-should-retry')).toBeNull();
    expect(res.headers.get('x-request-id')).toBe('generated-id');
    expect(await res.json()).toEqual({ error: { code: 'all_keys_cooling' } });
    expect([daily.seen.length, cooling.seen.length, gone.seen.length, untried.seen.length]).toEqual([1, 1, 1, 0]);
    // the refusals not passed on are let go of; the one passed on is still the client's to read
    expect([daily.released(), gone.released()]).toEqual([true, true]);
    expect(logs).toEqual([
      { event: 'orchestrator_request', requestId: 'generated-id', shard: 1, status: 429, attempts: 3, ms: 0 },
    ]);
  });

  it('when every shard is out for the day, the client still gets retry-after and x-should-retry: false', async () => {
    const first = refusing(429, 'daily_quota_exhausted', { 'retry-after': '7200', 'x-should-retry': 'false' });
    const last = refusing(429, 'daily_quota_exhausted', { 'retry-after': '7200', 'x-should-retry': 'false' });
    const { deps, logs } = harness({ random: () => 0, shardKeyCounts: '1,1' });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(first, last), deps);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7200');
    expect(res.headers.get('x-should-retry')).toBe('false');
    // on a tie the later refusal wins, so the first one is the one released
    expect([first.released(), last.released()]).toEqual([true, false]);
    expect(logs[0]).toMatchObject({ shard: 1, status: 429, attempts: 2 });
  });

  it('never re-routes with SHARD_ATTEMPTS 1', async () => {
    const cooling = refusing(429, 'all_keys_cooling', { 'retry-after': '5' });
    const other = backend(ok);
    const { deps, logs } = harness({ random: () => 0, attempts: 1, shardKeyCounts: '1,1' });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(cooling, other), deps);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.headers.get(POOL_HEADER)).toBe(POOL_EXHAUSTED);
    expect(await res.json()).toEqual({ error: { code: 'all_keys_cooling' } });
    expect(other.seen).toHaveLength(0);
    expect(logs).toEqual([{ event: 'orchestrator_request', requestId: 'generated-id', shard: 0, status: 429, ms: 0 }]);
  });

  it('never re-routes to a shard with zero keys, even when the only keyed shard refuses', async () => {
    const cooling = refusing(429, 'all_keys_cooling', { 'retry-after': '5' });
    const empty = backend(ok);
    const { deps, logs } = harness({ random: () => 0.9, shardKeyCounts: '4,0' });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(cooling, empty), deps);
    expect(res.status).toBe(429);
    expect(empty.seen).toHaveLength(0);
    expect(logs).toEqual([{ event: 'orchestrator_request', requestId: 'generated-id', shard: 0, status: 429, ms: 0 }]);
  });

  it.each([
    ['a 429 without the pool header (Google rate limited the shard)', 429, {}],
    ['the pool header on a status other than 429/503', 500, { [POOL_HEADER]: POOL_EXHAUSTED }],
    ['a 429 whose pool header has another value', 429, { [POOL_HEADER]: 'other' }],
  ])('does not retry %s', async (_name, status, headers) => {
    const limited = backend(() =>
      Promise.resolve(new Response('{}', { status, headers: { 'retry-after': '1', ...headers } })),
    );
    const other = backend(ok);
    const { deps } = harness({ random: () => 0, shardKeyCounts: '1,1' });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(limited, other), deps);
    expect(res.status).toBe(status);
    expect(other.seen).toHaveLength(0);
  });

  it('a shard that throws after a refusal is a failure: 502, the refusal dropped, no further shard tried', async () => {
    const cooling = refusing(429, 'all_keys_cooling', { 'retry-after': '9' });
    const failing = backend(boom);
    const untried = backend(ok);
    const { deps, logs } = harness({ random: () => 0, shardKeyCounts: '1,1,1' });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(cooling, failing, untried), deps);
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: { code: 'shard_error' } });
    expect(cooling.released()).toBe(true);
    expect(untried.seen).toHaveLength(0);
    expect(logs).toEqual([
      {
        event: 'orchestrator_request',
        requestId: 'generated-id',
        shard: 1,
        status: 502,
        error: 'shard_error',
        attempts: 2,
        ms: 0,
      },
    ]);
  });

  it('answers 504 when the shard sends no headers before the deadline, and tries no other shard', async () => {
    const hanging = backend(() => new Promise<Response>(() => undefined));
    const other = backend(ok);
    const { deps, logs, expireTimers } = harness({ shardKeyCounts: '1,1' });
    const pending = routeRequest(new Request('https://gw.example/v1/models'), bind(hanging, other), deps);
    await Promise.resolve();
    expireTimers();
    const res = await pending;
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: 'shard_timeout' } });
    expect(other.seen).toHaveLength(0);
    expect(logs[0]).toMatchObject({ shard: 0, status: 504, error: 'shard_timeout' });
  });

  it.each([1, DEFAULT_SHARD_ATTEMPTS, MAX_SHARD_ATTEMPTS])(
    'with SHARD_ATTEMPTS %p reads nothing of a 40 MiB body a shard refuses unread, and releases the copy',
    async (attempts) => {
      const source = countingBody(40 * 1024 * 1024);
      const unauthorized = backend(async (request) => {
        // gives the body back unread, as the shard worker does on a 413; not awaited, because across a service binding
        // the shard's body is its own stream, while here it is the tee branch, whose cancel waits for the other one
        void request.body?.cancel();
        return new Response('{"error":{"code":"missing_api_key"}}', { status: 401 });
      });
      const shards = Array.from({ length: MAX_SHARD_ATTEMPTS }, () => unauthorized);
      const { deps } = harness({ random: () => 0, attempts, shardKeyCounts: shards.map(() => 1).join(',') });
      const res = await routeRequest(post(source.body), bind(...shards), deps);
      expect(res.status).toBe(401);
      expect(unauthorized.seen).toHaveLength(1);
      // a runtime's stream plumbing may pull a few chunks ahead (Node 24's fetch takes four 64 KiB chunks, Node 20's
      // one); what matters is that the 40 MiB body is not read, which a buffering orchestrator would do
      expect(source.pulledBytes()).toBeLessThanOrEqual(1024 * 1024);
      // both the shard's branch and the orchestrator's copy are gone, so the client's upload is cancelled
      expect(source.cancelled()).toBe(true);
    },
  );

  it('streams the request body through without reading ahead of the shard, even with the copy kept for a misdirect', async () => {
    const source = countingBody(5 * 64 * 1024);
    const sink = backend(async (request) => new Response(request.body));
    const { deps } = harness({ attempts: 1, shardKeyCounts: '1' });
    const res = await routeRequest(post(source.body, '/v1/embeddings'), bind(sink), deps);
    // Node's Request pre-reads one chunk of a stream body and the counting transform holds one more; the rest flows
    // only as the shard reads it
    expect(source.pulledBytes()).toBeLessThanOrEqual(2 * 64 * 1024);
    expect((await res.arrayBuffer()).byteLength).toBe(5 * 64 * 1024);
  });

  it('measures ms until the shard answered, with injected time', async () => {
    let t = 0;
    const slow = backend(async () => {
      t += 42;
      return new Response('late');
    });
    const { deps, logs } = harness({ now: () => t, shardKeyCounts: '1' });
    await routeRequest(new Request('https://gw.example/v1/models'), bind(slow), deps);
    expect(logs[0]).toMatchObject({ ms: 42 });
  });
});
