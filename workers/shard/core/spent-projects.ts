/**
 * Which projects a shard can presume spent for the rest of a quota window without asking Google. When one project's
 * per-minute quota runs out (Google's 429 with a `PerProject` quota id), any other project of the shard that has had
 * at least as many calls in that window, for its share, has used as much of the same limit, and Google would refuse it
 * too: each such refusal costs a call and a round trip before the request can go elsewhere. Free-tier projects share
 * one limit per model, and the shard's draw keeps its projects' calls even, so when one runs out the others are
 * usually out with it: the shard declines at once instead of probing each of them (docs/benchmarks.md, "Projects").
 *
 * A presumption is a guess, never a cooldown: a request that no other shard can take still tries a presumed project
 * (see `KeyPool.pickSpread`). The window's length is learnt from Google's retry delays (the longest one seen for the
 * model, at most a minute), so until the shard has seen a full window it counts fewer calls than the window held and
 * presumes less, not more. Time is a parameter, so the rules are tested without waiting.
 */

/** Google's per-minute quotas: the longest window a pick is remembered for. */
export const MINUTE_MS = 60_000;

/**
 * How many windows past the last window end Google named the shard still places windows by it: the learnt length is
 * a little short of the true one (the longest delay seen), so the placement drifts by that much every window.
 */
export const MAX_WINDOWS_AHEAD = 30;

/** Window ends Google names this close together are one end, seen from calls made at different instants. */
export const SAME_END_MS = 100;

/** Gaps between window ends that must agree with a learnt window before the shard counts calls by it. */
export const GAPS_TO_TRUST = 8;

/**
 * The greatest common divisor of two lengths measured to within {@link SAME_END_MS}: a remainder that close to zero
 * or to the divisor counts as none.
 */
export function approximateGcd(a: number, b: number): number {
  let [x, y] = a >= b ? [a, b] : [b, a];
  while (y > SAME_END_MS) {
    const r = x % y;
    if (r <= SAME_END_MS || y - r <= SAME_END_MS) return y;
    [x, y] = [y, r];
  }
  return x;
}

/** A project as the estimate sees it: its keys in this worker and its share of the pool's quota. */
export interface QuotaGroup {
  readonly keys: readonly number[];
  readonly weight: number;
}

function slot(index: number, model: string): string {
  return `${index}\u0000${model}`;
}

/** The first position in the ascending `times` at or after `since`. */
function firstAtOrAfter(times: readonly number[], since: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((times[mid] ?? 0) < since) low = mid + 1;
    else high = mid;
  }
  return low;
}

export class SpentProjects {
  /** when each (key, model) was picked within the last minute, ascending */
  private readonly picks = new Map<string, number[]>();
  /** per model: the window's length learnt from the gaps between window ends, and how many gaps agreed with it */
  private readonly windows = new Map<string, { readonly length: number; readonly gaps: number }>();
  /** per model: the longest per-minute retry delay Google gave (at most a minute): the window is at least that long */
  private readonly longestDelays = new Map<string, number>();
  /** per model: the latest window end Google named, where the windows are placed from */
  private readonly boundaries = new Map<string, number>();
  /** per model: the most calls, for a weight of 1, a project was seen to take in a window before Google refused it */
  private readonly limits = new Map<string, number>();
  /** (key, model) → epoch milliseconds until which the key's project is presumed spent */
  private readonly presumed = new Map<string, number>();

  /**
   * Remembers a pick of key `index` of `group` for `model` at `now` (a minute long, the longest quota window); when it
   * brings the group's picks in this window to the most a project was seen to take, presumes the group spent until the
   * window ends, so the next request goes elsewhere without a call Google would refuse.
   */
  recordPick(group: QuotaGroup, index: number, model: string, now: number): void {
    const key = slot(index, model);
    const times = this.picks.get(key) ?? [];
    times.push(now);
    const stale = firstAtOrAfter(times, now - MINUTE_MS);
    if (stale > 0) times.splice(0, stale);
    this.picks.set(key, times);
    const limit = this.limits.get(model);
    const window = this.windowAt(model, now);
    if (limit !== undefined && window !== undefined && this.loadSince(group, model, window.start) >= limit) {
      this.mark(group, model, window.end);
    }
  }

  /**
   * The quota window `now` falls in for `model`, placed from the last window end Google named and the learnt length;
   * undefined before any, or when that end is too far back to place it from.
   */
  private windowAt(model: string, now: number): { readonly start: number; readonly end: number } | undefined {
    const length = this.trustedWindow(model);
    const boundary = this.boundaries.get(model);
    if (length === undefined || boundary === undefined || !(length > 0)) return undefined;
    const k = Math.floor((now - boundary) / length);
    if (k > MAX_WINDOWS_AHEAD) return undefined;
    const start = boundary + k * length;
    return { start, end: start + length };
  }

  /**
   * Learns the window's length from `until`, a window end Google named at `now`: the greatest common divisor of the
   * gaps between the window ends seen (ends closer than {@link SAME_END_MS} are one end), trusted once it is shorter
   * than twice the longest retry delay (a multiple of the window that short is the window) or
   * {@link GAPS_TO_TRUST} gaps agree with it. Until then the window is the retry delay itself, which is shorter than
   * the window and so counts fewer calls, never the previous window's.
   */
  private learnWindow(model: string, until: number, now: number): number {
    const last = this.boundaries.get(model);
    if (last === undefined || until > last + SAME_END_MS) this.boundaries.set(model, until);
    this.longestDelays.set(model, Math.max(this.longestDelays.get(model) ?? 0, Math.min(MINUTE_MS, until - now)));
    const gap = last === undefined ? 0 : Math.abs(until - last);
    const learnt = this.windows.get(model);
    if (gap > SAME_END_MS) {
      const length = approximateGcd(Math.min(MINUTE_MS, learnt?.length ?? gap), gap);
      if (length !== learnt?.length) this.limits.delete(model);
      this.windows.set(model, { length, gaps: length === learnt?.length ? learnt.gaps + 1 : 1 });
    }
    return this.trustedWindow(model) ?? Math.min(MINUTE_MS, until - now);
  }

  /** The learnt window's length once enough gaps agree with it. */
  private trustedWindow(model: string): number | undefined {
    const learnt = this.windows.get(model);
    if (learnt === undefined) return undefined;
    // the divisor is a multiple of the window, and the window is at least the longest delay: under twice that, it is one
    const proven = learnt.length < 2 * (this.longestDelays.get(model) ?? 0);
    return proven || learnt.gaps >= GAPS_TO_TRUST ? learnt.length : undefined;
  }

  private mark(group: QuotaGroup, model: string, until: number): void {
    for (const index of group.keys) {
      const key = slot(index, model);
      this.presumed.set(key, Math.max(this.presumed.get(key) ?? 0, until));
    }
  }

  /** Picks of `group`'s keys for `model` at or after `since`, over the group's weight. */
  private loadSince(group: QuotaGroup, model: string, since: number): number {
    const count = group.keys.reduce((sum, index) => {
      const times = this.picks.get(slot(index, model)) ?? [];
      return sum + times.length - firstAtOrAfter(times, since);
    }, 0);
    return count / group.weight;
  }

  /**
   * After Google refused `spent`'s project for `model` at `now` on a per-minute quota until `until`: presumes spent,
   * until then, every other group of `groups` whose picks in this window are at least those `spent` had admitted
   * (its picks less the one refused), for its weight. Returns the keys it marked.
   */
  afterRefusal(groups: readonly QuotaGroup[], spent: QuotaGroup, model: string, until: number, now: number): number[] {
    const window = this.learnWindow(model, until, now);
    const since = until - window;
    const admitted = this.loadSince(spent, model, since) - 1 / spent.weight;
    // a project refused before this worker used it was spent by someone else: nothing to compare the others with
    if (!(admitted > 0)) return [];
    // learnt only over a window of known length: a shorter one would undercount what a project can take
    if (this.trustedWindow(model) !== undefined)
      this.limits.set(model, Math.max(this.limits.get(model) ?? 0, admitted));
    const marked: number[] = [];
    for (const group of groups) {
      if (group.keys.some((index) => spent.keys.includes(index))) continue;
      if (!(group.weight > 0) || this.loadSince(group, model, since) < admitted) continue;
      this.mark(group, model, until);
      marked.push(...group.keys);
    }
    return marked;
  }

  /** Until when (key, model) is presumed spent at `now`; undefined when it is not. Expired marks are dropped. */
  presumedUntil(index: number, model: string, now: number): number | undefined {
    const key = slot(index, model);
    const until = this.presumed.get(key);
    if (until === undefined) return undefined;
    if (until <= now) {
      this.presumed.delete(key);
      return undefined;
    }
    return until;
  }
}
