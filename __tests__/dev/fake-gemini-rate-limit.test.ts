import fc from 'fast-check';
import { protoDuration, WindowedRateLimit } from '../../dev/fake-gemini/rate-limit';
import { startFakeGemini, type FakeGemini } from '../../dev/fake-gemini';
import { startShardWorker } from '../helpers/shard-worker';

const M = 'gemini-3.8-flash';
const PRO = 'gemini-3.1-pro-preview';

/** A clock the test moves by hand. */
function manualClock(start: number): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (next) => (t = next) };
}

describe('WindowedRateLimit', () => {
  it('admits `limit` calls of a key on a model per window and refuses the next until the window ends', () => {
    const clock = manualClock(10_250);
    const limit = new WindowedRateLimit({ limit: 3, windowMs: 1000, now: clock.now });
    expect([1, 2, 3].map(() => limit.admit('k1', M))).toEqual([undefined, undefined, undefined]);
    expect(limit.admit('k1', M)).toEqual({ retryDelayMs: 750, limit: 3 });
    clock.set(10_999);
    expect(limit.admit('k1', M)).toEqual({ retryDelayMs: 1, limit: 3 });
  });

  it('aligns windows to multiples of windowMs, so the quota frees at the boundary whenever the first call came', () => {
    const clock = manualClock(1_999);
    const limit = new WindowedRateLimit({ limit: 1, windowMs: 1000, now: clock.now });
    expect(limit.admit('k1', M)).toBeUndefined();
    clock.set(2_000);
    expect(limit.admit('k1', M)).toBeUndefined();
    expect(limit.admit('k1', M)).toEqual({ retryDelayMs: 1000, limit: 1 });
  });

  it('counts each key and each model apart', () => {
    const limit = new WindowedRateLimit({ limit: 1, windowMs: 60_000, now: () => 0 });
    expect(limit.admit('k1', M)).toBeUndefined();
    expect(limit.admit('k2', M)).toBeUndefined();
    expect(limit.admit('k1', PRO)).toBeUndefined();
    expect(limit.admit('k1', M)).toEqual({ retryDelayMs: 60_000, limit: 1 });
    expect(limit.admit('k2', PRO)).toBeUndefined();
  });

  it('admits a call exactly while its key, model and window have quota left, and names when the window ends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.array(
          fc.record({
            dt: fc.integer({ min: 0, max: 700 }),
            key: fc.constantFrom('a', 'b'),
            model: fc.constantFrom(M, PRO),
          }),
          {
            maxLength: 200,
          },
        ),
        (max, windowMs, calls) => {
          let t = 0;
          const limit = new WindowedRateLimit({ limit: max, windowMs, now: () => t });
          const admitted = new Map<string, number>();
          for (const call of calls) {
            t += call.dt;
            const slot = `${call.key}/${call.model}/${Math.floor(t / windowMs)}`;
            const used = admitted.get(slot) ?? 0;
            const refusal = limit.admit(call.key, call.model);
            if ((refusal === undefined) !== used < max) return false;
            if (refusal === undefined) admitted.set(slot, used + 1);
            else if (refusal.retryDelayMs !== (Math.floor(t / windowMs) + 1) * windowMs - t) return false;
          }
          return true;
        },
      ),
    );
  });

  it('reports per key what it admitted, refused, and in how many windows it ran out', () => {
    const clock = manualClock(0);
    const limit = new WindowedRateLimit({ limit: 2, windowMs: 1000, now: clock.now });
    for (let i = 0; i < 5; i++) limit.admit('k1', M);
    limit.admit('k2', M);
    clock.set(1000);
    for (let i = 0; i < 3; i++) limit.admit('k1', M);
    expect(limit.statsOf('k1')).toEqual({ admitted: 4, refused: 4, exhaustions: 2 });
    expect(limit.statsOf('k2')).toEqual({ admitted: 1, refused: 0, exhaustions: 0 });
    expect(limit.statsOf('never-called')).toEqual({ admitted: 0, refused: 0, exhaustions: 0 });
    expect(limit.totals()).toEqual({ admitted: 5, refused: 4, exhaustions: 2 });
  });

  it.each([
    [{ limit: 0, windowMs: 1000 }, 'limit must be a positive integer, got 0'],
    [{ limit: 1.5, windowMs: 1000 }, 'limit must be a positive integer, got 1.5'],
    [{ limit: 4, windowMs: -1 }, 'windowMs must be a positive integer, got -1'],
  ])('refuses %p', (options, message) => {
    expect(() => new WindowedRateLimit(options)).toThrow(message);
  });
});

describe('protoDuration', () => {
  it.each([
    [0, '0s'],
    [1000, '1s'],
    [17_000, '17s'],
    [250, '0.250s'],
    [1234.2, '1.235s'],
  ])('writes %p ms as %s', (ms, text) => expect(protoDuration(ms)).toBe(text));

  it('refuses a negative duration', () => expect(() => protoDuration(-1)).toThrow('non-negative'));
});

describe('fake Gemini with a windowed rate limit', () => {
  let fake: FakeGemini;
  const clock = manualClock(5_000_750);
  const limit = new WindowedRateLimit({ limit: 2, windowMs: 1000, now: clock.now });

  beforeAll(async () => {
    fake = await startFakeGemini({ admission: (key, model) => limit.admit(key, model) });
  });
  afterAll(() => fake.close());

  const chat = (key: string): Promise<Response> =>
    fetch(`${fake.url}/v1beta/openai/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: M, messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('answers a refused call as Google words a quota 429, on the OpenAI-compatible surface (an array)', async () => {
    expect((await chat('openai-key')).status).toBe(200);
    expect((await chat('openai-key')).status).toBe(200);
    const refused = await chat('openai-key');
    expect(refused.status).toBe(429);
    const [body] = (await refused.json()) as [{ error: { status: string; details: Record<string, unknown>[] } }];
    expect(body.error.status).toBe('RESOURCE_EXHAUSTED');
    expect(body.error.details).toEqual(
      expect.arrayContaining([
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [
            expect.objectContaining({
              quotaId: expect.stringMatching(/PerMinute/),
              quotaValue: '2',
              quotaDimensions: { location: 'global', model: M },
            }),
          ],
        },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '0.250s' },
      ]),
    );
    // refused calls still reach the fake's call log: they are load the key was offered
    expect(fake.calls.filter((c) => c.apiKey === 'openai-key')).toHaveLength(3);
  });

  it('answers the native surface with an object body', async () => {
    const native = (): Promise<Response> =>
      fetch(`${fake.url}/v1beta/models/${PRO}:generateContent`, {
        method: 'POST',
        headers: { 'x-goog-api-key': 'native-key', 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
      });
    await native();
    await native();
    const refused = await native();
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as {
      error: { details: { retryDelay?: string; violations?: { quotaDimensions: { model: string } }[] }[] };
    };
    expect(body.error.details.find((d) => d.retryDelay)?.retryDelay).toBe('0.250s');
    expect(body.error.details.find((d) => d.violations)?.violations?.[0]?.quotaDimensions.model).toBe(PRO);
  });

  it("leaves quotaValue out of the 429 of a limit that does not state it, as some of Google's do", async () => {
    const silent = new WindowedRateLimit({ limit: 1, windowMs: 1000, now: clock.now, statesLimit: false });
    const quiet = await startFakeGemini({ admission: (key, model) => silent.admit(key, model) });
    try {
      expect(silent.admit('other-key', M)).toBeUndefined();
      expect(silent.admit('other-key', M)).toEqual({ retryDelayMs: 250 });
      const send = () =>
        fetch(`${quiet.url}/v1beta/models/${M}:generateContent`, {
          method: 'POST',
          headers: { 'x-goog-api-key': 'quiet-key', 'content-type': 'application/json' },
          body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
        });
      expect((await send()).status).toBe(200);
      const refused = await send();
      expect(refused.status).toBe(429);
      const body = (await refused.json()) as { error: { details: { violations?: Record<string, unknown>[] }[] } };
      const [violation] = body.error.details.find((d) => d.violations)?.violations ?? [];
      expect(violation).toMatchObject({ quotaId: expect.stringMatching(/PerMinute/) });
      expect(violation).not.toHaveProperty('quotaValue');
    } finally {
      await quiet.close();
    }
  });

  it('is not asked about a call the key fails anyway, so a broken key uses up no quota', async () => {
    fake.setKeyBehaviour('broken-key', 'invalid-key');
    for (let i = 0; i < 3; i++) expect((await chat('broken-key')).status).toBe(400);
    expect(limit.statsOf('broken-key')).toEqual({ admitted: 0, refused: 0, exhaustions: 0 });
  });
});

describe('the shard worker against the windowed rate limit (workerd)', () => {
  it('cools each refused key for the retryDelay the fake gave and then refuses from its pool without calling Google', async () => {
    // the fake's clock stands still 500 ms into a 3 s window: every refusal says "retry in 2.5 s"
    const limit = new WindowedRateLimit({ limit: 1, windowMs: 3000, now: () => 9_000_500 });
    const fake = await startFakeGemini({ admission: (key, model) => limit.admit(key, model) });
    const worker = await startShardWorker({ keys: ['rl-key-1', 'rl-key-2'], pass: 'rl-pass', fake });
    const chat = (): Promise<Response> =>
      fetch(`${worker.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer rl-pass', 'content-type': 'application/json' },
        body: JSON.stringify({ model: M, messages: [{ role: 'user', content: 'hi' }] }),
      });
    try {
      expect((await chat()).status).toBe(200);
      expect((await chat()).status).toBe(200);
      const refused = await chat();
      expect(refused.status).toBe(429);
      // 2.5 s rounded up: the worker used the fake's retryDelay, not its 60 s default
      expect(refused.headers.get('retry-after')).toBe('3');
      expect(refused.headers.get('x-zen-pool')).toBe('exhausted');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('all_keys_cooling');
      // each key was refused once, whichever order the worker tried them in
      expect(limit.totals()).toEqual({ admitted: 2, refused: 2, exhaustions: 2 });
      expect(fake.calls).toHaveLength(4);

      expect((await chat()).status).toBe(429);
      expect(fake.calls).toHaveLength(4);
    } finally {
      await worker.close();
      await fake.close();
    }
  });
});
