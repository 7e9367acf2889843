/**
 * Shard choice, weighted by each shard's share of the pool's quota (its key count when every key is its own project)
 * so that every project carries the same expected share of requests. Stateless on purpose: a Worker isolate is shared
 * by unrelated requests and may be recycled at any moment, so counters or stored affinity would be both unfair and
 * unreliable. A request without a conversation gets a fresh weighted draw; a conversation gets the same order on
 * every request and in every isolate, from a weighted rendezvous hash of its fingerprint (see `../shared/affinity`).
 *
 * @module
 */
import { rankShards } from '../shared/affinity';

/** A source of uniform numbers in [0, 1), e.g. `Math.random`; injected so tests can drive it. */
export type RandomSource = () => number;

/**
 * The probability that a draw picks each position: its weight over the sum of all weights. A shard of k keys out of
 * K gets k/K, so each of its keys gets 1/K whatever the shard sizes. All zero (or empty) means nothing can be picked.
 */
export function shardShares(weights: readonly number[]): number[] {
  const total = weights.reduce((sum, w) => sum + w, 0);
  return weights.map((w) => (total > 0 ? w / total : 0));
}

/**
 * A position drawn with probability {@link shardShares}; a zero weight is never drawn.
 *
 * @throws RangeError when no weight is positive
 */
export function pickWeighted(weights: readonly number[], random: RandomSource): number {
  if (!weights.some((w) => w > 0))
    throw new RangeError(`at least one weight must be positive, got [${weights.join(', ')}]`);
  const shares = shardShares(weights);
  const target = random();
  let cumulative = 0;
  let last = -1;
  for (const [position, share] of shares.entries()) {
    if (share <= 0) continue;
    cumulative += share;
    last = position;
    if (target < cumulative) return position;
  }
  // rounding can leave the cumulative sum a hair under 1, and a source may return 1: both land on the last positive
  return last;
}

/**
 * The shards to try, in order: up to `attempts` distinct positions with a positive weight, the first drawn over all
 * of them and each next one over those not tried yet, always in proportion to the weights.
 */
export function shardOrder(weights: readonly number[], attempts: number, random: RandomSource): number[] {
  const remaining = [...weights];
  const order: number[] = [];
  while (order.length < attempts && remaining.some((w) => w > 0)) {
    const chosen = pickWeighted(remaining, random);
    order.push(chosen);
    remaining[chosen] = 0;
  }
  return order;
}

/**
 * A conversation's shards to try, in order: up to `attempts` positions of `indexes` (each shard's index, aligned with
 * `weights`), its home first, by the weighted rendezvous hash of `fingerprint`; a zero weight is never chosen. The
 * home is a shard's for a share of conversations equal to its share of the weights.
 */
export function conversationOrder(
  fingerprint: string,
  weights: readonly number[],
  indexes: readonly number[],
  attempts: number,
): number[] {
  return rankShards(fingerprint, indexes, weights, Math.max(0, attempts));
}
