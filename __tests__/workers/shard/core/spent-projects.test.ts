import fc from 'fast-check';
import { KeyPool } from '../../../../workers/shard/core/key-pool';
import {
  approximateGcd,
  GAPS_TO_TRUST,
  SAME_END_MS,
  SpentProjects,
  WINDOW_EDGE_MS,
} from '../../../../workers/shard/core/spent-projects';

const M = 'gemini-3.8-flash';
/** a window boundary, as the fake's fixed windows of 1 s have them */
const T0 = 1_796_083_000_000;
const A = { keys: [1, 2], weight: 1 };
const B = { keys: [3, 4], weight: 1 };
const C = { keys: [5, 6], weight: 1 };
const GROUPS = [A, B, C];

/** Records `count` picks of `group`'s first key at `at`, `at + 1`, ... */
function picked(spent: SpentProjects, group: typeof A, count: number, at: number): void {
  for (let i = 0; i < count; i++) spent.recordPick(group, group.keys[0] ?? 0, M, at + i);
}

/**
 * Google's refusal of `spent` for M at `now`, its window ending at `until` (a retry delay in milliseconds), with the
 * limit it stated if any.
 */
const refusal = (spent: typeof A, until: number, now: number, requestLimit?: number) => ({
  spent,
  model: M,
  until,
  now,
  endPrecisionMs: 1,
  ...(requestLimit !== undefined ? { requestLimit } : {}),
});

/**
 * Teaches `spent` a window of 1 s from refusals of project A, 300 ms before the end of `windows` consecutive windows
 * after T0, stating a limit of 4.
 */
function learn(spent: SpentProjects, windows: number): void {
  for (let w = 0; w < windows; w++) {
    const start = T0 + w * 1000;
    picked(spent, A, 5, start + 600);
    spent.afterRefusal(refusal(A, start + 1000, start + 700, 4), GROUPS);
  }
}

/** A SpentProjects that saw a refusal 990 ms before a window's end, so windows are known to be that long at least. */
function taught(): SpentProjects {
  const spent = new SpentProjects();
  spent.afterRefusal(refusal(A, T0, T0 - 990), GROUPS);
  return spent;
}

describe('approximateGcd', () => {
  it('finds the window from gaps that are whole multiples of it, measured to within SAME_END_MS', () => {
    expect(approximateGcd(2000, 3000)).toBe(1000);
    expect(approximateGcd(60_000.4, 180_001)).toBeCloseTo(60_000.4, 0);
    expect(Math.abs(approximateGcd(4000, 6000 + SAME_END_MS / 2) - 2000)).toBeLessThanOrEqual(SAME_END_MS);
  });

  it('is a whole divisor of both lengths for any multiples of a window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 500, max: 60_000 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 9 }),
        (w, i, j) => {
          const g = approximateGcd(i * w, j * w);
          return Math.abs((i * w) / g - Math.round((i * w) / g)) < 1e-6 && g >= w - 1e-6;
        },
      ),
    );
  });
});

describe('SpentProjects after a per-minute 429', () => {
  it("presumes spent, until the window ends, the projects that took Google's stated limit, and no other", () => {
    const spent = taught();
    picked(spent, B, 4, T0 + 200);
    picked(spent, C, 3, T0 + 300);
    expect(spent.afterRefusal(refusal(A, T0 + 1000, T0 + 900, 4), GROUPS)).toEqual([3, 4]);
    expect(spent.presumedUntil(3, M, T0 + 999)).toBe(T0 + 1000);
    expect(spent.presumedUntil(3, M, T0 + 1000)).toBeUndefined();
    expect(spent.presumedUntil(5, M, T0 + 950)).toBeUndefined();
    // the refused project is Google's to cool, not the estimate's
    expect(spent.presumedUntil(1, M, T0 + 950)).toBeUndefined();
  });

  it('without a stated limit, takes what the refused project took, counted over as long as the window may be', () => {
    const spent = taught();
    picked(spent, A, 5, T0 + 100); // four admitted, the fifth refused
    picked(spent, B, 4, T0 + 200);
    picked(spent, C, 3, T0 + 300);
    expect(spent.afterRefusal(refusal(A, T0 + 1000, T0 + 900), GROUPS)).toEqual([3, 4]);

    // calls of the window before may be in that count: then it presumes less, never more
    const earlier = new SpentProjects();
    // C refused 990 ms before the end of this window: windows are at least that long, and no gap bounds them yet
    earlier.afterRefusal(refusal(C, T0 + 1000, T0 + 10), GROUPS);
    picked(earlier, A, 4, T0 - 500);
    picked(earlier, A, 5, T0 + 100);
    picked(earlier, B, 4, T0 + 200);
    expect(earlier.afterRefusal(refusal(A, T0 + 1000, T0 + 900), GROUPS)).toEqual([]);
  });

  it('without a stated limit, learns nothing from a project that took no call here, or is split across shards', () => {
    const spent = taught();
    picked(spent, A, 1, T0 + 100);
    picked(spent, B, 4, T0 + 200);
    expect(spent.afterRefusal(refusal(A, T0 + 1000, T0 + 900), GROUPS)).toEqual([]);
    const half = { keys: [7], weight: 0.5 };
    picked(spent, half, 3, T0 + 300);
    expect(spent.afterRefusal(refusal(half, T0 + 1000, T0 + 950), [...GROUPS, half])).toEqual([]);
    // with the limit Google stated, who spent the refused project does not matter
    expect(spent.afterRefusal(refusal(half, T0 + 1000, T0 + 960, 4), [...GROUPS, half])).toEqual([3, 4]);
  });

  it("counts the others' calls back only as far as the window is known to reach: the longest retry delay", () => {
    const spent = new SpentProjects();
    // a refusal 400 ms before a window's end: windows are at least 400 ms long (the next gap, 1 s, proves nothing)
    spent.afterRefusal(refusal(A, T0, T0 - 400), GROUPS);
    picked(spent, B, 8, T0 + 100); // before T0 + 600: perhaps the window before
    picked(spent, C, 4, T0 + 650);
    expect(spent.afterRefusal(refusal(A, T0 + 1000, T0 + 900, 4), GROUPS)).toEqual([5, 6]);
  });

  it('keeps a model to itself: a refusal on one model presumes nothing on another', () => {
    const spent = taught();
    picked(spent, B, 4, T0 + 200);
    spent.afterRefusal(refusal(A, T0 + 1000, T0 + 900, 4), GROUPS);
    expect(spent.presumedUntil(3, M, T0 + 950)).toBe(T0 + 1000);
    expect(spent.presumedUntil(3, 'gemini-3.1-pro-preview', T0 + 950)).toBeUndefined();
  });
});

describe('SpentProjects and how finely Google states a window end', () => {
  /** Two refusals naming ends 700 ms apart, B's four calls between, as delays stated to `precision` ms. */
  function twoEnds(precision: number): number[] {
    const spent = new SpentProjects();
    const at = (until: number, now: number, limit?: number) => ({
      ...refusal(A, until, now, limit),
      endPrecisionMs: precision,
    });
    spent.afterRefusal(at(T0 + 60_000, T0 + 30_000), GROUPS);
    picked(spent, B, 4, T0 + 40_000);
    return spent.afterRefusal(at(T0 + 60_700, T0 + 50_000, 4), GROUPS);
  }

  it('reads ends a second apart as one end while every retry delay comes in whole seconds ("17s")', () => {
    expect(twoEnds(1000)).toEqual([3, 4]);
  });

  it('reads them as two ends when the delays are stated to the millisecond: then the window is 700 ms', () => {
    expect(twoEnds(1)).toEqual([]);
  });
});

describe('SpentProjects once the window is learnt', () => {
  it('presumes a project spent as soon as it has taken the limit in the window, until the window ends', () => {
    const spent = new SpentProjects();
    learn(spent, GAPS_TO_TRUST + 1);
    const start = T0 + (GAPS_TO_TRUST + 3) * 1000;
    picked(spent, C, 3, start + 20);
    expect(spent.presumedUntil(5, M, start + 30)).toBeUndefined();
    picked(spent, C, 1, start + 40);
    expect(spent.presumedUntil(5, M, start + 50)).toBeCloseTo(start + 1000 - WINDOW_EDGE_MS, 0);
    expect(spent.presumedUntil(5, M, start + 1000)).toBeUndefined();
  });

  it('does not trust a window that every gap so far could be a multiple of, nor predict by it', () => {
    const spent = new SpentProjects();
    // refusals every other window only: the gaps say 2 s, and the retry delays (300 ms) cannot rule it out
    for (let w = 0; w < GAPS_TO_TRUST - 1; w++) {
      const start = T0 + 2 * w * 1000;
      picked(spent, A, 5, start + 600);
      spent.afterRefusal(refusal(A, start + 1000, start + 700, 4), GROUPS);
    }
    const start = T0 + 2 * GAPS_TO_TRUST * 1000;
    picked(spent, C, 2, start - 900); // the window before
    picked(spent, C, 2, start + 20);
    expect(spent.presumedUntil(5, M, start + 30)).toBeUndefined();
  });

  it('trusts a window at once when a retry delay proves it: no multiple of it can be that short', () => {
    const spent = new SpentProjects();
    spent.afterRefusal(refusal(A, T0 + 1000, T0 + 400, 4), GROUPS); // a delay of 600 ms: the window is over 600 ms
    spent.afterRefusal(refusal(A, T0 + 2000, T0 + 1900, 4), GROUPS); // a gap of 1 s: under twice 600 ms
    picked(spent, B, 4, T0 + 2020);
    expect(spent.presumedUntil(3, M, T0 + 2030)).toBeCloseTo(T0 + 3000 - WINDOW_EDGE_MS, 0);
  });
});

describe('KeyPool with projects presumed spent', () => {
  function poolWithBPresumed(): KeyPool {
    const pool = new KeyPool();
    // a refusal at the start of the window before: windows are at least 990 ms long
    pool.presumeSpent(refusal(A, T0, T0 - 990), [A, B]);
    // B picked four times in this window, then A refused with Google's limit of 4: B is presumed spent with it
    for (let i = 0; i < 4; i++) pool.pickFirst([B], M, T0 + 11 + i, new Set(), () => 0);
    for (const k of A.keys) pool.coolDown(k, M, { until: T0 + 1000, reason: 'quota-minute' });
    expect(pool.presumeSpent(refusal(A, T0 + 1000, T0 + 20, 4), [A, B])).toEqual([3, 4]);
    return pool;
  }

  it('skips them when another shard can take the request, and refuses as cooling until the window ends', () => {
    const pool = poolWithBPresumed();
    expect(pool.pickSpread([A, B], M, T0 + 30, new Set(), () => 0.9, 'skip')).toBeUndefined();
    expect(pool.pickFirst([B], M, T0 + 30, new Set(), () => 0, 'skip')).toBeUndefined();
    expect(pool.status([1, 2, 3, 4], M, T0 + 30)).toEqual({ kind: 'cooling', retryAfterMs: 970, allDay: false });
    expect(pool.pickSpread([A, B], M, T0 + 1000, new Set(), () => 0.9, 'skip')).toBeDefined();
  });

  it('still tries them last when no other shard can: a presumption is a guess, never a cooldown', () => {
    const pool = poolWithBPresumed();
    expect(pool.pickSpread([A, B], M, T0 + 30, new Set(), () => 0.9)).toBe(4);
    // B's keys are not cooling: the status view shows Google's cooldowns only
    expect(pool.snapshot([3, 4], T0 + 30).map((k) => k.cooldowns)).toEqual([[], []]);
  });

  it('prefers a project not presumed spent over one that is, whatever the draw', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (r) => {
        const pool = poolWithBPresumed();
        const fresh = { keys: [5], weight: 1 };
        return pool.pickSpread([B, fresh], M, T0 + 30, new Set(), () => r) === 5;
      }),
    );
  });
});
