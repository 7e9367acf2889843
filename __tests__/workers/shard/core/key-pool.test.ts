import fc from 'fast-check';
import { ANY_MODEL, KeyPool } from '../../../../workers/shard/core/key-pool';

const KEYS = [1, 2, 3, 4];
const M = 'gemini-3.8-flash';
const T0 = Date.parse('2026-05-01T12:00:00Z');

describe('KeyPool', () => {
  it('picks uniformly among available keys using the injected random', () => {
    const pool = new KeyPool();
    const picks = [0, 0.25, 0.5, 0.75, 0.999].map((r) => pool.pick(KEYS, M, 0, new Set(), () => r));
    expect(picks).toEqual([1, 2, 3, 4, 4]);
  });

  it('never picks a key that is cooling, removed or already tried', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (r) => {
        const pool = new KeyPool();
        pool.coolDown(1, M, { until: 1000, reason: 'quota-minute' });
        pool.remove(2, 'API_KEY_INVALID');
        return pool.pick(KEYS, M, 500, new Set([3]), () => r) === 4;
      }),
    );
  });

  it('frees a cooled key exactly when its cooldown ends', () => {
    const pool = new KeyPool();
    pool.coolDown(1, M, { until: 17_000, reason: 'quota-minute' });
    expect(pool.available([1], M, 16_999)).toEqual([]);
    expect(pool.available([1], M, 17_000)).toEqual([1]);
  });

  it('scopes cooldowns to the model: a key out of one model still serves another', () => {
    const pool = new KeyPool();
    pool.coolDown(1, 'gemini-3.1-pro-preview', { until: 60_000, reason: 'quota-day' });
    expect(pool.available([1], 'gemini-3.1-pro-preview', 0)).toEqual([]);
    expect(pool.available([1], M, 0)).toEqual([1]);
    expect(pool.available([1], ANY_MODEL, 0)).toEqual([1]);
  });

  it('does not let a shorter cooldown replace a longer one', () => {
    const pool = new KeyPool();
    pool.coolDown(1, M, { until: 86_400_000, reason: 'quota-day' });
    pool.coolDown(1, M, { until: 17_000, reason: 'quota-minute' });
    expect(pool.cooldownOf(1, M, 20_000)).toEqual({ until: 86_400_000, reason: 'quota-day' });
  });

  it('reports the wait until the first key frees, and whether all are out for the day', () => {
    const pool = new KeyPool();
    pool.coolDown(1, M, { until: 30_000, reason: 'quota-minute' });
    pool.coolDown(2, M, { until: 12_000, reason: 'quota-minute' });
    pool.coolDown(3, M, { until: 90_000, reason: 'quota-day' });
    pool.remove(4, 'PERMISSION_DENIED');
    expect(pool.status(KEYS, M, 2_000)).toEqual({ kind: 'cooling', retryAfterMs: 10_000, allDay: false });
    expect(pool.status(KEYS, M, 12_000)).toEqual({ kind: 'available', keys: [2] });

    const daily = new KeyPool();
    daily.coolDown(1, M, { until: 90_000, reason: 'quota-day' });
    daily.coolDown(2, M, { until: 80_000, reason: 'quota-day' });
    expect(daily.status([1, 2], M, 40_000)).toEqual({ kind: 'cooling', retryAfterMs: 40_000, allDay: true });
  });

  it('is exhausted when every key was removed, and removal outlives any clock', () => {
    const pool = new KeyPool();
    for (const k of KEYS) pool.remove(k, 'API_KEY_INVALID');
    expect(pool.status(KEYS, M, Number.MAX_SAFE_INTEGER)).toEqual({ kind: 'exhausted' });
    expect(pool.isRemoved(3)).toBe(true);
  });
});

describe('KeyPool counters and snapshot', () => {
  it('counts calls, 429s and the last error per key, and lists cooldowns soonest first with expired ones gone', () => {
    const pool = new KeyPool();
    pool.recordCall(1);
    pool.recordCall(1);
    pool.recordError(1, { status: 429, code: 'RESOURCE_EXHAUSTED', at: T0 });
    pool.recordCall(2);
    pool.recordError(2, { status: 500, at: T0 + 1 });
    pool.recordError(2, { code: 'upstream_timeout', at: T0 + 2 });
    pool.coolDown(1, 'gemini-3.1-pro-preview', { until: T0 + 60_000, reason: 'quota-minute' });
    pool.coolDown(1, 'gemini-3.8-flash', { until: T0 + 5_000, reason: 'quota-unspecified' });
    pool.coolDown(3, 'gemini-3.8-flash', { until: T0 + 1_000, reason: 'quota-minute' });
    pool.remove(4, 'API_KEY_INVALID');

    expect(pool.snapshot([1, 2, 3, 4], T0 + 2_000)).toEqual([
      {
        index: 1,
        calls: 2,
        rateLimited: 1,
        lastError: { status: 429, code: 'RESOURCE_EXHAUSTED', at: T0 },
        cooldowns: [
          { model: 'gemini-3.8-flash', until: T0 + 5_000, reason: 'quota-unspecified' },
          { model: 'gemini-3.1-pro-preview', until: T0 + 60_000, reason: 'quota-minute' },
        ],
      },
      { index: 2, calls: 1, rateLimited: 0, lastError: { code: 'upstream_timeout', at: T0 + 2 }, cooldowns: [] },
      // key 3's cooldown ended at T0 + 1000
      { index: 3, calls: 0, rateLimited: 0, cooldowns: [] },
      { index: 4, calls: 0, rateLimited: 0, removed: 'API_KEY_INVALID', cooldowns: [] },
    ]);
  });

  it('keeps only well-formed error codes, since the status view and npm start print them as they are', () => {
    const pool = new KeyPool();
    pool.recordError(1, { status: 400, code: 'BAD\u001b[2J', at: T0 });
    expect(pool.snapshot([1], T0)[0]?.lastError).toEqual({ status: 400, at: T0 });
  });

  it('counts requests and remembers when the first came', () => {
    const pool = new KeyPool();
    expect(pool.requests()).toEqual({ count: 0 });
    pool.countRequest(T0);
    pool.countRequest(T0 + 10);
    expect(pool.requests()).toEqual({ count: 2, since: T0 });
  });
});

describe('KeyPool draws by project', () => {
  const uniform = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

  it('with every key its own project of weight 1, draws exactly as pick does', () => {
    fc.assert(
      fc.property(uniform, fc.subarray(KEYS), (r, tried) => {
        const pool = new KeyPool();
        pool.coolDown(2, M, { until: 1000, reason: 'quota-minute' });
        const groups = KEYS.map((k) => ({ keys: [k], weight: 1 }));
        const exclude = new Set(tried);
        return pool.pickSpread(groups, M, 0, exclude, () => r) === pool.pick(KEYS, M, 0, exclude, () => r);
      }),
    );
  });

  it('draws a project by its weight, then one of its keys, from one draw', () => {
    const pool = new KeyPool();
    // project A: keys 1-3, weight 1; project B: key 4, weight 1
    const groups = [
      { keys: [1, 2, 3], weight: 1 },
      { keys: [4], weight: 1 },
    ];
    const picks = [0, 0.2, 0.4, 0.49, 0.5, 0.99].map((r) => pool.pickSpread(groups, M, 0, new Set(), () => r));
    expect(picks).toEqual([1, 2, 3, 3, 4, 4]);
  });

  it('gives a project of ten keys the same share as a project of one, by quota not key count', () => {
    const pool = new KeyPool();
    const big = Array.from({ length: 10 }, (_, i) => i + 1);
    const groups = [
      { keys: big, weight: 1 },
      { keys: [11], weight: 1 },
      { keys: [12], weight: 0.5 },
    ];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const counts = new Map<number, number>();
    for (let i = 0; i < 25_000; i++) {
      const key = pool.pickSpread(groups, M, 0, new Set(), random) ?? 0;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const share = (keys: readonly number[]) => keys.reduce((n, k) => n + (counts.get(k) ?? 0), 0) / 25_000;
    expect(share(big)).toBeCloseTo(0.4, 1);
    expect(share([11])).toBeCloseTo(0.4, 1);
    expect(share([12])).toBeCloseTo(0.2, 1);
    // inside the big project, its keys share its draws evenly
    for (const k of big) expect((counts.get(k) ?? 0) / 25_000).toBeCloseTo(0.04, 1);
  });

  it('skips a project whose keys are all cooling, removed or tried, and its unusable keys', () => {
    fc.assert(
      fc.property(uniform, (r) => {
        const pool = new KeyPool();
        for (const k of [1, 2]) pool.coolDown(k, M, { until: 1000, reason: 'quota-minute' });
        pool.remove(3, 'API_KEY_INVALID');
        const groups = [
          { keys: [1, 2], weight: 5 },
          { keys: [3, 4, 5], weight: 1 },
        ];
        const picked = pool.pickSpread(groups, M, 500, new Set([4]), () => r);
        return picked === 5 && pool.pickSpread(groups, M, 500, new Set([4, 5]), () => r) === undefined;
      }),
    );
  });

  it('in a ranking, takes the first project with a usable key, and a random key of it', () => {
    const pool = new KeyPool();
    const ranking = [
      { keys: [4], weight: 1 },
      { keys: [1, 2, 3], weight: 1 },
    ];
    expect(pool.pickFirst(ranking, M, 0, new Set(), () => 0.9)).toBe(4);
    pool.coolDown(4, M, { until: 1000, reason: 'quota-minute' });
    expect([0, 0.5, 0.9].map((r) => pool.pickFirst(ranking, M, 0, new Set(), () => r))).toEqual([1, 2, 3]);
    expect(pool.pickFirst(ranking, M, 0, new Set([1, 2, 3]), () => 0)).toBeUndefined();
    expect(pool.pickFirst(ranking, M, 1000, new Set(), () => 0)).toBe(4);
  });
});

describe('KeyPool steers its draw by the calls it made lately', () => {
  /** A source that returns `values` in turn, then repeats the last. */
  const sequence =
    (...values: number[]) =>
    () =>
      values.length > 1 ? (values.shift() as number) : (values[0] as number);
  const A = { keys: [1, 2], weight: 1 };
  const B = { keys: [3], weight: 1 };
  /** picks `group` `times` times at `now`, as a conversation at home there would */
  const load = (pool: KeyPool, group: { keys: number[]; weight: number }, times: number, now: number) => {
    for (let i = 0; i < times; i++) pool.pickFirst([group], M, now, new Set(), () => 0);
  };

  it('keeps the least loaded of its draws, whichever came first', () => {
    for (const draws of [
      [0.1, 0.9],
      [0.9, 0.1],
    ]) {
      const pool = new KeyPool();
      load(pool, A, 3, T0);
      expect(pool.pickSpread([A, B], M, T0, new Set(), sequence(...draws))).toBe(3);
    }
  });

  it('compares calls over weight: a project of twice the quota may take up to twice the calls', () => {
    const big = { keys: [1], weight: 2 };
    const small = { keys: [2], weight: 1 };
    const pool = new KeyPool();
    load(pool, big, 3, T0);
    load(pool, small, 2, T0);
    // 3 / 2 < 2 / 1
    expect(pool.pickSpread([small, big], M, T0, new Set(), sequence(0.1, 0.9))).toBe(1);
  });

  it('lets a pick weigh half as much with each half-life of later picks, whatever the time', () => {
    const pool = new KeyPool({ recentHalfLife: 2 });
    load(pool, A, 4, T0);
    load(pool, B, 3, T0 + 1);
    // A's four picks, three picks ago, weigh 4 / 2^1.5 = 1.41; B's three, 1 + 0.71 + 0.5 = 2.21
    expect(pool.pickSpread([A, B], M, T0 + 86_400_000, new Set(), sequence(0.9, 0.1))).toBe(1);
    // without the decay, B's three picks would be fewer than A's four
    const remembering = new KeyPool({ recentHalfLife: Number.POSITIVE_INFINITY });
    load(remembering, A, 4, T0);
    load(remembering, B, 3, T0 + 1);
    expect(remembering.pickSpread([A, B], M, T0 + 86_400_000, new Set(), sequence(0.1, 0.9))).toBe(3);
  });

  it('counts its own picks, so a run of draws alternates between two equal projects', () => {
    const pool = new KeyPool();
    const picks = Array.from({ length: 6 }, () => pool.pickSpread([A, B], M, T0, new Set(), sequence(0.1, 0.9)));
    expect(picks.map((k) => (k === 3 ? 'B' : 'A'))).toEqual(['A', 'B', 'A', 'B', 'A', 'B']);
  });

  it("weighs each model's picks on their own, as Google counts each model's quota on its own", () => {
    const pool = new KeyPool();
    for (let i = 0; i < 20; i++) pool.pickFirst([B], 'gemini-3.1-pro-preview', T0, new Set(), () => 0);
    // B is busy on the Pro model only, so for Flash the draw that lands on B keeps B: nothing weighs on it there
    expect(pool.pickSpread([A, B], M, T0, new Set(), sequence(0.9, 0.1))).toBe(3);
    // and on the Pro model the draw steers away from it
    expect(pool.pickSpread([A, B], 'gemini-3.1-pro-preview', T0, new Set(), sequence(0.9, 0.1))).toBe(1);
  });

  it('never moves a conversation off its home project, however busy it is', () => {
    const pool = new KeyPool();
    load(pool, A, 50, T0);
    expect(pool.pickFirst([A, B], M, T0, new Set(), () => 0.5)).toBe(2);
  });

  it('with every key its own project and one number drawn again and again, still picks exactly as pick does', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.array(fc.constantFrom(...KEYS)),
        (r, busy) => {
          const pool = new KeyPool();
          for (const k of busy) load(pool, { keys: [k], weight: 1 }, 1, T0);
          const groups = KEYS.map((k) => ({ keys: [k], weight: 1 }));
          return pool.pickSpread(groups, M, T0, new Set(), () => r) === pool.pick(KEYS, M, T0, new Set(), () => r);
        },
      ),
    );
  });

  it('still gives every project its quota share, within 1.3x, over random layouts and arrival times', () => {
    const layout = fc.array(
      fc.record({ keys: fc.integer({ min: 1, max: 4 }), weight: fc.constantFrom(0.25, 0.5, 1, 1, 2, 3) }),
      { minLength: 1, maxLength: 8 },
    );
    fc.assert(
      fc.property(
        layout,
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 2000 }),
        (shape, seed, meanGapMs) => {
          let next = 1;
          const groups = shape.map((g) => ({ keys: Array.from({ length: g.keys }, () => next++), weight: g.weight }));
          const total = groups.reduce((sum, g) => sum + g.weight, 0);
          let state = seed;
          const random = () => {
            state = (state * 1103515245 + 12345) % 2 ** 31;
            return state / 2 ** 31;
          };
          const pool = new KeyPool();
          const draws = 4000;
          const counts = new Map<number, number>();
          let now = T0;
          for (let i = 0; i < draws; i++) {
            now += -Math.log(1 - random()) * meanGapMs;
            const key = pool.pickSpread(groups, M, now, new Set(), random) ?? 0;
            counts.set(key, (counts.get(key) ?? 0) + 1);
          }
          return groups.every((g) => {
            const share = g.keys.reduce((n, k) => n + (counts.get(k) ?? 0), 0) / draws;
            const ratio = share / (g.weight / total);
            return ratio >= 1 / 1.3 && ratio <= 1.3;
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});
