/**
 * One client's request bucket as pure arithmetic, with the time passed in: a token bucket of `burst` requests that
 * refills at `rpm` a minute, kept as the generic cell rate algorithm's single number, the theoretical arrival time
 * (`tat`): the moment the bucket would be full again. A request is admitted when the bucket holds at least one
 * request, that is when `tat` is at most `(burst - 1)` emission intervals ahead of now; admitting it moves `tat` one
 * interval (`60000 / rpm` ms) further. One number per client, so the Durable Object that keeps it stores one value.
 *
 * @module
 */
import type { ClientLimit } from '../../shared/contract';

/** What the bucket says of one request. */
export type BucketDecision =
  | { readonly admitted: true; readonly tat: number }
  /** `retryAfterMs`: how long until the bucket holds a request again */
  | { readonly admitted: false; readonly tat: number; readonly retryAfterMs: number };

/** Milliseconds between two requests at the sustained rate. */
export function emissionIntervalMs(limit: ClientLimit): number {
  return 60_000 / limit.rpm;
}

/**
 * Takes one request from the bucket whose theoretical arrival time is `tat` (0 for a bucket never used), at `now`
 * (ms). A refused request leaves the bucket as it was.
 */
export function takeRequest(tat: number, now: number, limit: ClientLimit): BucketDecision {
  const interval = emissionIntervalMs(limit);
  const from = Math.max(tat, now);
  const tolerance = (limit.burst - 1) * interval;
  const ahead = from - now;
  if (ahead > tolerance) return { admitted: false, tat, retryAfterMs: ahead - tolerance };
  return { admitted: true, tat: from + interval };
}

/**
 * Gives back one admitted request (one that was sent on to another shard, where it is counted again): the bucket as
 * if it had never been taken. Never more than that: a `tat` in the past already means a full bucket.
 */
export function refundRequest(tat: number, now: number, limit: ClientLimit): number {
  return Math.max(tat - emissionIntervalMs(limit), Math.min(tat, now));
}

/** The `retry-after` header for a wait: whole seconds, rounded up, at least 1. */
export function retryAfterSeconds(retryAfterMs: number): string {
  return String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}
