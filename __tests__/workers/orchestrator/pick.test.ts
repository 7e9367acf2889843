import { pickWeighted, shardOrder, shardShares } from '../../../workers/orchestrator/pick';
import { chiSquareUniform, chiSquareWeighted } from '../../helpers/chi-square';
import { defined, tally } from '../../helpers/guards';
import { seeded } from '../../helpers/seeded-random';

describe('shardShares / pickWeighted / shardOrder', () => {
  it('shares are the weights over their sum, so each key of any shard gets 1/K', () => {
    expect(shardShares([8, 8, 4])).toEqual([0.4, 0.4, 0.2]);
    expect(shardShares([0, 0])).toEqual([0, 0]);
  });

  it('maps the whole [0, 1) range onto positive weights, even a source that returns 1', () => {
    expect(pickWeighted([8, 8, 4], () => 0)).toBe(0);
    expect(pickWeighted([8, 8, 4], () => 0.39)).toBe(0);
    expect(pickWeighted([8, 8, 4], () => 0.4)).toBe(1);
    expect(pickWeighted([8, 8, 4], () => 0.8)).toBe(2);
    expect(pickWeighted([8, 8, 4], () => 1)).toBe(2);
    expect(pickWeighted([0, 3, 0], () => 0)).toBe(1);
    expect(pickWeighted([3, 0, 0], () => 0.9999)).toBe(0);
    expect(() => pickWeighted([0, 0], () => 0)).toThrow('at least one weight must be positive, got [0, 0]');
  });

  it('never draws a shard with zero keys', () => {
    const random = seeded(3);
    for (let i = 0; i < 5000; i++) expect(pickWeighted([5, 0, 1, 0], random)).not.toBe(1);
  });

  it('does not reject the key-count weights at p = 0.001 over 30,000 draws from shards of 8, 8, 4, 1 keys', () => {
    const weights = [8, 8, 4, 1];
    const random = seeded(20260426);
    const counts = weights.map(() => 0);
    for (let i = 0; i < 30_000; i++) tally(counts, pickWeighted(weights, random));
    expect(chiSquareWeighted(counts, weights).pValue).toBeGreaterThan(0.001);
  });

  it('rejects a uniform chooser for unequal shards, so the weighted check can fail', () => {
    const random = seeded(1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) tally(counts, pickWeighted([1, 1, 1], random));
    expect(chiSquareWeighted(counts, [8, 8, 4]).pValue).toBeLessThan(0.001);
    expect(chiSquareUniform(counts).pValue).toBeGreaterThan(0.001);
  });

  it('orders distinct shards with keys, capped by their number', () => {
    const random = seeded(7);
    for (let i = 0; i < 200; i++) {
      const order = shardOrder([2, 2, 2, 2], 3, random);
      expect(new Set(order).size).toBe(3);
      for (const n of order) expect(n).toBeGreaterThanOrEqual(0);
    }
    expect(shardOrder([1, 1], 5, random).sort()).toEqual([0, 1]);
    expect(shardOrder([4, 0, 4, 0], 3, random).sort()).toEqual([0, 2]);
  });

  it('draws the next shard among the untried ones in proportion to their keys', () => {
    // after shard 0 (8 keys) is tried, shard 1 (8 keys) should come second twice as often as shard 2 (4 keys)
    const random = seeded(11);
    const second = [0, 0];
    for (let i = 0; i < 20_000; i++) {
      const [first, next] = shardOrder([8, 8, 4], 2, random);
      if (first === 0) tally(second, defined(next, 'a second shard') - 1);
    }
    expect(chiSquareWeighted(second, [8, 4]).pValue).toBeGreaterThan(0.001);
  });
});
