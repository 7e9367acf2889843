/**
 * The key pool and failover loop driven through the handler in-process, with an injected clock, randomness and
 * upstream, so cooldown expiry and retry-after values are asserted exactly without waiting; then the headline case
 * once more in workerd, where only counts (not clocks) can be asserted.
 */
import { handleRequest, type HandlerDeps } from '../../../../workers/shard/edge/handler';
import { KeyPool } from '../../../../workers/shard/core/key-pool';
import type { LogLine } from '../../../../workers/shard/core/log';
import { MAX_ATTEMPTS } from '../../../../workers/shard/core/upstream';
import { POOL_EXHAUSTED, POOL_HEADER } from '../../../../workers/shared/pool-refusal';
import { defined } from '../../../helpers/guards';
import { startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';

const PASS = 'pool-logic-pass';
const KEYS = Array.from({ length: 8 }, (_, i) => `pool-logic-key-${i + 1}`);
const ENV = {
  PASS,
  GEMINI_BASE_URL: 'http://gemini.test',
  ...Object.fromEntries(KEYS.map((k, i) => [`KEY${i + 1}`, k])),
};
const START = Date.parse('2026-06-15T10:00:00Z');

type Reply = 'ok' | 'minute' | 'day' | 'invalid' | 'overloaded';

function googleBody(reply: Reply, retryDelay = '17s'): unknown {
  const quota = (quotaId: string) => [
    {
      error: {
        code: 429,
        message: 'You exceeded your current quota',
        status: 'RESOURCE_EXHAUSTED',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaId }] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay },
        ],
      },
    },
  ];
  switch (reply) {
    case 'minute':
      return quota('GenerateRequestsPerMinutePerProjectPerModel-FreeTier');
    case 'day':
      return quota('GenerateRequestsPerDayPerProjectPerModel-FreeTier');
    case 'invalid':
      return [
        {
          error: {
            code: 400,
            message: 'API key not valid.',
            status: 'INVALID_ARGUMENT',
            details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }],
          },
        },
      ];
    case 'overloaded':
      return [{ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } }];
    case 'ok':
      return { choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] };
  }
}

const STATUS: Record<Reply, number> = { ok: 200, minute: 429, day: 429, invalid: 400, overloaded: 503 };

interface HarnessOptions {
  /** bindings over ENV (e.g. MAX_WAIT_MS, or an empty KEY<n> to shrink the pool) */
  readonly env?: Readonly<Record<string, string>>;
  /** RetryInfo of the 'minute' reply. @default '17s' */
  readonly retryDelay?: string;
  /** called as each wait begins, before the clock moves (e.g. to abort the request) */
  readonly onSleep?: () => void;
}

function harness(behaviour: (key: string) => Reply, options: HarnessOptions = {}) {
  let now = START;
  let seed = 1;
  const calls: string[] = [];
  const logs: LogLine[] = [];
  const sleeps: number[] = [];
  const deps: HandlerDeps = {
    now: () => now,
    // a small LCG: deterministic, yet spreads picks over all keys
    random: () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    },
    randomUUID: () => 'req',
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      options.onSleep?.();
      if (signal?.aborted) return false;
      now += ms;
      return true;
    },
    log: (line) => logs.push(line),
    pool: new KeyPool(),
    fetch: async (_url, init) => {
      const key = defined(new Headers(init.headers).get('authorization'), 'an authorization header').replace(
        'Bearer ',
        '',
      );
      calls.push(key);
      signals.push(init.signal ?? undefined);
      const reply = behaviour(key);
      return new Response(JSON.stringify(googleBody(reply, options.retryDelay)), {
        status: STATUS[reply],
        headers: { 'content-type': 'application/json' },
      });
    },
  };
  const signals: (AbortSignal | undefined)[] = [];
  const send = (signal?: AbortSignal) =>
    handleRequest(
      new Request('http://worker.test/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${PASS}` },
        body: JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'hi' }] }),
        ...(signal ? { signal } : {}),
      }),
      { ...ENV, ...options.env },
      deps,
    );
  /** cools every key of `indices` for gemini-3.8-flash until `ms` after the current clock */
  const coolAll = (indices: readonly number[], ms: number) => {
    for (const i of indices) deps.pool.coolDown(i, 'gemini-3.8-flash', { until: now + ms, reason: 'quota-minute' });
  };
  const requestLines = () => logs.filter((l) => l.event === 'request');
  return { deps, calls, logs, sleeps, signals, send, coolAll, requestLines, advance: (ms: number) => (now += ms) };
}

describe('key pool through the handler (injected time)', () => {
  it('with one of 8 keys rate limited, 200 requests all succeed and that key is not retried until its cooldown ends', async () => {
    const h = harness((key) => (key === KEYS[2] ? 'minute' : 'ok'));
    for (let i = 0; i < 200; i++) {
      expect((await h.send()).status).toBe(200);
      h.advance(50); // 200 requests over 10 s, inside the 17 s cooldown
    }
    expect(h.calls.filter((k) => k === KEYS[2])).toHaveLength(1);
    expect(new Set(h.calls).size).toBe(8);
    expect(h.logs.filter((l) => l.event === 'key_cooldown')).toEqual([
      // every request before the limited key's turn made exactly one call, so its position is its request number
      expect.objectContaining({
        keyIndex: 3,
        reason: 'quota-minute',
        until: new Date(START + 50 * h.calls.indexOf(defined(KEYS[2], 'KEY3')) + 17_000).toISOString(),
      }),
    ]);

    h.advance(17_000);
    for (let i = 0; i < 100; i++) await h.send();
    expect(h.calls.filter((k) => k === KEYS[2]).length).toBeGreaterThan(1);
  });

  it('answers 429 with retry-after to the first key that frees once every key is cooling, without calling Google', async () => {
    const h = harness(() => 'minute');
    // three attempts per request: three requests cool 8 keys (the third request has two left to try)
    const first = await h.send();
    expect(first.status).toBe(429);
    expect(h.calls).toHaveLength(MAX_ATTEMPTS);
    await h.send();
    await h.send();
    expect(h.calls).toHaveLength(8);
    h.advance(5_000);
    const refused = await h.send();
    expect(h.calls).toHaveLength(8);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('12');
    expect(refused.headers.get('x-should-retry')).toBeNull();
    expect(await refused.json()).toMatchObject({ error: { type: 'rate_limit_error', code: 'all_keys_cooling' } });
  });

  it('marks its own pool refusals with x-zen-pool (rate_limited included: 429s are not billed), never a status passed through from Google', async () => {
    const h = harness(() => 'minute');
    const rateLimited = await h.send();
    expect(await rateLimited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect(rateLimited.headers.get(POOL_HEADER)).toBe(POOL_EXHAUSTED);
    await h.send();
    await h.send();
    const cooling = await h.send();
    expect(await cooling.json()).toMatchObject({ error: { code: 'all_keys_cooling' } });
    expect(cooling.headers.get(POOL_HEADER)).toBe(POOL_EXHAUSTED);

    const overloaded = await harness(() => 'overloaded').send();
    expect(overloaded.status).toBe(503);
    expect(overloaded.headers.get(POOL_HEADER)).toBeNull();

    const gone = harness(() => 'invalid');
    for (let i = 0; i < 3; i++) await gone.send();
    const noKeys = await gone.send();
    expect(await noKeys.json()).toMatchObject({ error: { code: 'no_usable_keys' } });
    expect(noKeys.headers.get(POOL_HEADER)).toBe(POOL_EXHAUSTED);

    const unconfigured = await handleRequest(
      new Request('http://worker.test/v1/models', { headers: { authorization: `Bearer ${PASS}` } }),
      { PASS, GEMINI_BASE_URL: 'http://gemini.test' },
      h.deps,
    );
    expect(await unconfigured.json()).toMatchObject({ error: { code: 'no_keys_configured' } });
    expect(unconfigured.headers.get(POOL_HEADER)).toBe(POOL_EXHAUSTED);
  });

  it('says x-should-retry: false and waits until Pacific midnight when every key is out for the day', async () => {
    const h = harness(() => 'day');
    for (let i = 0; i < 3; i++) await h.send();
    const refused = await h.send();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-should-retry')).toBe('false');
    // 2026-06-15T10:00Z → midnight PDT is 2026-06-16T07:00Z, 21 h later
    expect(refused.headers.get('retry-after')).toBe(String(21 * 3600));
    expect(refused.headers.get(POOL_HEADER)).toBe(POOL_EXHAUSTED);
    expect(await refused.json()).toMatchObject({ error: { code: 'daily_quota_exhausted' } });
  });

  it('removes an invalid key for good and fails over without the client noticing', async () => {
    const h = harness((key) => (key === KEYS[0] ? 'invalid' : 'ok'));
    for (let i = 0; i < 50; i++) expect((await h.send()).status).toBe(200);
    h.advance(365 * 24 * 3600 * 1000);
    for (let i = 0; i < 50; i++) await h.send();
    expect(h.calls.filter((k) => k === KEYS[0])).toHaveLength(1);
    expect(h.logs.filter((l) => l.event === 'key_removed')).toEqual([
      expect.objectContaining({ keyIndex: 1, reason: 'API_KEY_INVALID', upstreamStatus: 400 }),
    ]);
  });

  it('answers 503 when Google has rejected every key', async () => {
    const h = harness(() => 'invalid');
    for (let i = 0; i < 3; i++) await h.send();
    const res = await h.send();
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'no_usable_keys' } });
    expect(h.calls).toHaveLength(8);
  });

  it('passes a 503 through without failover or cooling', async () => {
    const h = harness(() => 'overloaded');
    const res = await h.send();
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: { message: 'The model is overloaded.', type: 'server_error', code: 'UNAVAILABLE' },
    });
    expect(h.calls).toHaveLength(1);
    expect(h.deps.pool.status([1, 2, 3, 4, 5, 6, 7, 8], 'gemini-3.8-flash', START).kind).toBe('available');
  });
});

describe('MAX_WAIT_MS through the handler (injected time)', () => {
  const ALL = [1, 2, 3, 4, 5, 6, 7, 8];
  /** only KEY1 and KEY2 bound */
  const TWO_KEYS = Object.fromEntries(KEYS.slice(2).map((_, i) => [`KEY${i + 3}`, '']));

  it('waits for the first key to free when that is within MAX_WAIT_MS, then serves the request', async () => {
    const h = harness(() => 'ok', { env: { MAX_WAIT_MS: '17000' } });
    h.coolAll(ALL, 17_000);
    const res = await h.send();
    expect(res.status).toBe(200);
    expect(h.sleeps).toEqual([17_000]);
    expect(h.calls).toHaveLength(1);
    expect(h.requestLines()).toEqual([expect.objectContaining({ status: 200, attempts: 1, waitedMs: 17_000 })]);
  });

  it('refuses at once, without waiting, when the first key frees later than MAX_WAIT_MS (and by default)', async () => {
    for (const env of [{ MAX_WAIT_MS: '16999' }, {}] as Record<string, string>[]) {
      const h = harness(() => 'ok', { env });
      h.coolAll(ALL, 17_000);
      const res = await h.send();
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('17');
      expect(await res.json()).toMatchObject({ error: { code: 'all_keys_cooling' } });
      expect(h.sleeps).toEqual([]);
      expect(h.calls).toEqual([]);
      expect(h.requestLines()[0]).not.toHaveProperty('waitedMs');
    }
  });

  it.each([
    // wait 1 s; both keys answer 429 (1 s); wait 1 s more; the third attempt answers 429 too, and with its three
    // attempts spent while the other key is free again, the answer is rate_limited
    ['2500', [1000, 1000], 3, 'rate_limited'],
    // after the first wait only 500 ms remain, less than the next cooldown: refuse instead of waiting again
    ['1500', [1000], 2, 'all_keys_cooling'],
    ['999', [], 0, 'all_keys_cooling'],
  ])(
    'never holds a request longer than MAX_WAIT_MS=%s in total, even when attempts after a wait hit new cooldowns',
    async (maxWait, sleeps, calls, code) => {
      const h = harness(() => 'minute', { env: { ...TWO_KEYS, MAX_WAIT_MS: maxWait }, retryDelay: '1s' });
      h.coolAll([1, 2], 1_000);
      const res = await h.send();
      expect(res.status).toBe(429);
      expect(await res.json()).toMatchObject({ error: { code } });
      expect(h.sleeps).toEqual(sleeps);
      expect(h.calls).toHaveLength(calls);
      expect(h.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(Number(maxWait));
    },
  );

  it('stops waiting when the client goes away, and sends nothing upstream', async () => {
    const client = new AbortController();
    const h = harness(() => 'ok', { env: { MAX_WAIT_MS: '30000' }, onSleep: () => client.abort() });
    h.coolAll(ALL, 10_000);
    const res = await h.send(client.signal);
    expect(res.status).toBe(499);
    expect(await res.json()).toMatchObject({ error: { code: 'client_disconnected' } });
    expect(h.calls).toEqual([]);
    expect(h.requestLines()).toEqual([
      expect.objectContaining({ status: 499, error: 'client_disconnected', attempts: 0 }),
    ]);
  });

  it("hands the client's abort on to the upstream call", async () => {
    const client = new AbortController();
    const h = harness(() => 'ok');
    expect((await h.send(client.signal)).status).toBe(200);
    const [upstreamSignal] = h.signals;
    expect(upstreamSignal?.aborted).toBe(false);
    client.abort();
    expect(upstreamSignal?.aborted).toBe(true);
  });
});

describe('key pool in workerd', () => {
  let h: ShardWorkerHarness;
  beforeAll(async () => {
    h = await startShardWorker({ keys: KEYS, pass: PASS });
  });
  afterAll(() => h.close());

  it('with one of 8 keys rate limited, 200 concurrent-ish requests all succeed and that key is asked once', async () => {
    h.fake.setKeyBehaviour(defined(KEYS[5], 'KEY6'), 'quota-minute');
    const statuses: number[] = [];
    // batches of 20: concurrent enough to share the isolate, sequential enough that the cooldown is seen
    for (let batch = 0; batch < 10; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${h.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${PASS}` },
            body: JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'hi' }] }),
          }).then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          }),
        ),
      );
      statuses.push(...responses);
    }
    expect(statuses).toEqual(Array(200).fill(200));
    const limited = h.fake.calls.filter((c) => c.apiKey === KEYS[5]).length;
    // requests already in flight when the first 429 landed may each have picked the key once more
    expect(limited).toBeGreaterThanOrEqual(1);
    expect(limited).toBeLessThanOrEqual(20);
    expect(h.fake.calls).toHaveLength(200 + limited);
    const lastBatchCalls = h.fake.calls.slice(-20);
    expect(lastBatchCalls.some((c) => c.apiKey === KEYS[5])).toBe(false);
  });
});
