/**
 * The request bucket's arithmetic (workers/shard/fair-share/request-bucket.ts), with the time passed in: a burst,
 * then one request per interval; refusals that leave the bucket as it was; refunds that restore exactly one request;
 * and, over random arrivals, never more than `burst + rpm * t / 60 s` admitted in any span of `t`.
 */
import fc from 'fast-check';
import {
  emissionIntervalMs,
  refundRequest,
  retryAfterSeconds,
  takeRequest,
} from '../../../../workers/shard/fair-share/request-bucket';
import type { ClientLimit } from '../../../../workers/shared/contract';

const T0 = 1_750_000_000_000;

/** Admitted or not, for requests at the given times, from an unused bucket. */
function run(limit: ClientLimit, times: readonly number[]): boolean[] {
  let tat = 0;
  return times.map((now) => {
    const decision = takeRequest(tat, now, limit);
    tat = decision.tat;
    return decision.admitted;
  });
}

describe('takeRequest', () => {
  const limit = { rpm: 60, burst: 3 };

  it('admits a burst at once, then refuses with the wait until the bucket holds one again', () => {
    expect(run(limit, [T0, T0, T0, T0])).toEqual([true, true, true, false]);
    const tat = T0 + 3 * 1000;
    expect(takeRequest(tat, T0, limit)).toEqual({ admitted: false, tat, retryAfterMs: 1000 });
    expect(takeRequest(tat, T0 + 400, limit)).toEqual({ admitted: false, tat, retryAfterMs: 600 });
    expect(takeRequest(tat, T0 + 1000, limit)).toEqual({ admitted: true, tat: tat + 1000 });
  });

  it('then sustains rpm a minute: one request per interval', () => {
    const times = [T0, T0, T0, ...Array.from({ length: 10 }, (_, i) => T0 + (i + 1) * 1000)];
    expect(run(limit, times).every(Boolean)).toBe(true);
    expect(run(limit, [...times, T0 + 10_500])).toEqual([...times.map(() => true), false]);
  });

  it('refills to the burst after a quiet spell, and no further', () => {
    const later = T0 + 3_600_000;
    expect(run(limit, [T0, T0, T0, later, later, later, later])).toEqual([true, true, true, true, true, true, false]);
  });

  it('with a burst of 1, spaces every request by the interval', () => {
    const one = { rpm: 2, burst: 1 };
    expect(emissionIntervalMs(one)).toBe(30_000);
    expect(run(one, [T0, T0 + 29_999, T0 + 30_000])).toEqual([true, false, true]);
  });
});

describe('refundRequest', () => {
  const limit = { rpm: 60, burst: 2 };

  it('gives back exactly the request taken', () => {
    const first = takeRequest(0, T0, limit);
    const second = takeRequest(first.tat, T0, limit);
    expect(takeRequest(second.tat, T0, limit).admitted).toBe(false);
    const refunded = refundRequest(second.tat, T0, limit);
    expect(refunded).toBe(first.tat);
    expect(takeRequest(refunded, T0, limit).admitted).toBe(true);
  });

  it('never credits more than a full bucket', () => {
    // a refund for a bucket that is full again (its request long past) changes nothing the next take can see
    let tat = refundRequest(T0 - 5000, T0, limit);
    const admitted = [T0, T0, T0].map((now) => {
      const d = takeRequest(tat, now, limit);
      tat = d.tat;
      return d.admitted;
    });
    expect(admitted).toEqual([true, true, false]);
  });
});

describe('retryAfterSeconds', () => {
  it('rounds up to whole seconds, at least 1', () => {
    expect([0, 1, 999, 1000, 1001, 19_999].map(retryAfterSeconds)).toEqual(['1', '1', '1', '1', '2', '20']);
  });
});

describe('the bucket over random arrivals', () => {
  it('never admits more than burst + rpm * span / 60 s in any span, and admits the first burst whole', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 1, maxLength: 200 }),
        (rpm, burst, offsets) => {
          const limit = { rpm, burst };
          const times = [...offsets].sort((a, b) => a - b).map((o) => T0 + o);
          const decisions = run(limit, times);
          const admitted = times.filter((_, i) => decisions[i]);
          for (let i = 0; i < admitted.length; i++) {
            for (let j = i; j < admitted.length; j++) {
              const span = (admitted[j] as number) - (admitted[i] as number);
              expect(j - i + 1).toBeLessThanOrEqual(burst + Math.floor((span * rpm) / 60_000) + 1e-9);
            }
          }
          // the first burst of simultaneous requests is always admitted whole
          const atOnce = times.filter((t) => t === times[0]).length;
          expect(decisions.slice(0, Math.min(atOnce, burst)).every(Boolean)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
