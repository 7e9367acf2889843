/**
 * Shard choice. Stateless on purpose: a Worker isolate is shared by unrelated requests and may be recycled at any
 * moment, so counters or affinity would be both unfair and unreliable; a fresh uniform draw per request is neither.
 *
 * @module
 */

/** A source of uniform numbers in [0, 1), e.g. `Math.random`; injected so tests can drive it. */
export type RandomSource = () => number;

/** A uniformly chosen index in 0..count-1. */
export function pickIndex(count: number, random: RandomSource): number {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  // a source that returns exactly 1 (or more) must still yield a valid index
  return Math.min(Math.floor(random() * count), count - 1);
}

/**
 * The shards to try, in order: `attempts` distinct indexes in 0..count-1 (fewer when there are fewer shards), the
 * first uniform over all shards and each next one uniform over those not tried yet.
 */
export function shardOrder(count: number, attempts: number, random: RandomSource): number[] {
  const remaining = Array.from({ length: count }, (_, i) => i);
  const order: number[] = [];
  while (order.length < attempts && remaining.length > 0) {
    const [chosen] = remaining.splice(pickIndex(remaining.length, random), 1);
    order.push(chosen as number);
  }
  return order;
}
