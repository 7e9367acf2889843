/**
 * Which projects a shard can presume spent for the rest of a quota window without asking Google. Google's per-minute
 * 429 says the project's limit (`QuotaFailure.quotaValue`) and when its window ends (`RetryInfo.retryDelay`), and
 * free-tier projects share one limit per model. So when one project is refused, any other project of the shard that
 * took that many calls in the same window is spent too; asking Google would only cost a refused call and a round trip
 * before the request goes elsewhere. Once the shard has learnt the window's length from the window ends Google names,
 * it presumes a project spent as soon as the project takes the limit, before any 429 (ADR 0009; docs/benchmarks.md,
 * "Projects").
 *
 * The counts err one way only: the others' calls are counted over no more than the window and the refused project's
 * over no less, and a window length is used only once it is proven or many gaps agree, so a presumption may miss a
 * spent project but never takes one with quota left (given fixed windows and one limit per model). A presumption is
 * still a guess, never a cooldown: a request no other shard can take tries a presumed project last (see
 * `KeyPool.pickSpread`). Time is a parameter, so the rules are tested without waiting.
 */

/** Google's per-minute quotas: the longest window a pick is remembered for. */
export const MINUTE_MS = 60_000;

/**
 * How many windows past the last window end Google named the shard still places windows by it: the learnt length may
 * be off by a little (what the window ends it comes from were off by), and the placement drifts by that every window.
 */
export const MAX_WINDOWS_AHEAD = 30;

/**
 * Window ends Google names this close together are one end, seen from calls made at different instants (or as far
 * apart as the retry delay's precision, when that is coarser).
 */
export const SAME_END_MS = 100;

/**
 * How far inside its computed ends a learnt window is placed, for what the learnt length may be off by (or the retry
 * delay's precision, when that is coarser).
 */
export const WINDOW_EDGE_MS = 10;

/** Gaps between window ends that must agree with a learnt window before the shard counts calls by it. */
export const GAPS_TO_TRUST = 8;

/**
 * The greatest common divisor of two lengths measured to within `tolerance`: a remainder that close to zero or to the
 * divisor counts as none.
 */
export function approximateGcd(a: number, b: number, tolerance = SAME_END_MS): number {
  let [x, y] = a >= b ? [a, b] : [b, a];
  while (y > tolerance) {
    const r = x % y;
    if (r <= tolerance || y - r <= tolerance) return y;
    [x, y] = [y, r];
  }
  return x;
}

/** A project as the estimate sees it: its keys in this worker and its share of the pool's quota. */
export interface QuotaGroup {
  readonly keys: readonly number[];
  readonly weight: number;
}

/** Google's refusal of a project on a per-minute request quota that named its window's end, as the estimate reads it. */
export interface Refusal {
  /** the refused project (the key's group) */
  readonly spent: QuotaGroup;
  readonly model: string;
  /** epoch milliseconds when Google said the quota frees: the window's end */
  readonly until: number;
  /** epoch milliseconds of the refusal */
  readonly now: number;
  /** the requests the quota allows per window, when Google said it (`QuotaFailure.quotaValue`) */
  readonly requestLimit?: number;
  /**
   * how finely Google stated `until` (its `RetryInfo.retryDelay`): 1000 for a delay in whole seconds ("17s"), so that
   * while every delay comes so, two ends that far apart may be one
   */
  readonly endPrecisionMs: number;
}

/** What a worker knows of a quota window's length, in milliseconds. */
interface WindowBounds {
  /** the window is at least this long */
  readonly shortest: number;
  /** the window is at most this long */
  readonly longest: number;
  /** the two are the learnt length, trusted */
  readonly trusted: boolean;
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
  /**
   * per model: the window's length learnt from the gaps between window ends, how many gaps agreed with it, and the
   * window end it is measured from
   */
  private readonly windows = new Map<
    string,
    { readonly length: number; readonly gaps: number; readonly first: number }
  >();
  /**
   * per model: the finest a window end was stated (1000 while every retry delay came in whole seconds, as "17s")
   */
  private readonly precisions = new Map<string, number>();
  /** per model: the longest per-minute retry delay Google gave (at most a minute): the window is at least that long */
  private readonly longestDelays = new Map<string, number>();
  /** per model: the latest window end Google named, where the windows are placed from */
  private readonly boundaries = new Map<string, number>();
  /**
   * per model: the calls a project may take in a window: Google's stated limit, else the most a project whole in this
   * worker was seen to take in a window of trusted length before Google refused it
   */
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
    if (limit !== undefined && window !== undefined && this.callsSince(group, model, window.start) >= limit) {
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
    // a window placed a little inside where it was computed: counting a call of the window before, or presuming a
    // project spent into the next, would refuse a request its project could serve
    const start = boundary + k * length;
    const edge = this.edgeOf(model);
    return { start: start + edge, end: start + length - edge };
  }

  /**
   * Learns the window's length from `until`, a window end Google named at `now`: the greatest common divisor of the
   * gaps between the window ends seen (ends closer than {@link SAME_END_MS} are one end), trusted once it is shorter
   * than twice the longest retry delay (a multiple of the window that short is the window) or
   * {@link GAPS_TO_TRUST} gaps agree with it. Returns what is known of the length: until it is trusted, the window is
   * no shorter than the longest retry delay seen, and no longer than the divisor (or a minute).
   */
  private learnWindow(model: string, until: number, now: number): WindowBounds {
    const last = this.boundaries.get(model);
    const same = this.sameEndOf(model);
    if (last === undefined || until > last + same) this.boundaries.set(model, until);
    this.longestDelays.set(model, Math.max(this.longestDelays.get(model) ?? 0, Math.min(MINUTE_MS, until - now)));
    if (last !== undefined && Math.abs(until - last) > same) this.addGap(model, last, until);
    const trusted = this.trustedWindow(model);
    if (trusted !== undefined) return { shortest: trusted, longest: trusted, trusted: true };
    // the learnt divisor is a multiple of the window, and no per-minute window is longer than a minute
    const longest = Math.min(this.windows.get(model)?.length ?? MINUTE_MS, MINUTE_MS);
    return { shortest: this.longestDelays.get(model) ?? 0, longest, trusted: false };
  }

  /**
   * Counts the gap from window end `from` to `to` for the learnt window: one more that agrees with it, measured again
   * from the first end it was learnt from (the longer the span, the closer the length), or a new, shorter window.
   */
  private addGap(model: string, from: number, to: number): void {
    const learnt = this.windows.get(model);
    const gap = Math.abs(to - from);
    const same = this.sameEndOf(model);
    const divisor = approximateGcd(Math.min(MINUTE_MS, learnt?.length ?? gap), gap, same);
    if (learnt === undefined || Math.abs(divisor - learnt.length) > same) {
      // calls counted over a window that was too long to be one: the most a project took is learnt again
      this.limits.delete(model);
      this.windows.set(model, { length: divisor, gaps: 1, first: from });
      return;
    }
    const span = Math.abs(to - learnt.first);
    const windows = Math.max(1, Math.round(span / learnt.length));
    const length = Math.abs(span - windows * learnt.length) <= same ? span / windows : learnt.length;
    this.windows.set(model, { length, gaps: learnt.gaps + 1, first: learnt.first });
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

  /** Picks of `group`'s keys for `model` at or after `since`. */
  private callsSince(group: QuotaGroup, model: string, since: number): number {
    return group.keys.reduce((sum, index) => {
      const times = this.picks.get(slot(index, model)) ?? [];
      return sum + times.length - firstAtOrAfter(times, since);
    }, 0);
  }

  /**
   * After Google refused a project on a per-minute request quota: presumes spent, until the window ends, every other
   * group of `groups` that took the quota's limit in this window: the limit Google stated, else what the refused
   * project took. Returns the keys it marked.
   */
  afterRefusal(refusal: Refusal, groups: readonly QuotaGroup[]): number[] {
    const { spent, model, until, now } = refusal;
    // the finest wins: "1s" from a source that states milliseconds is a whole second by chance
    const precision = Math.min(this.precisions.get(model) ?? Number.POSITIVE_INFINITY, refusal.endPrecisionMs);
    this.precisions.set(model, precision);
    const window = this.learnWindow(model, until, now);
    const limit = refusal.requestLimit ?? this.admittedBy(spent, model, until, window);
    if (limit === undefined) return [];
    if (refusal.requestLimit !== undefined) this.limits.set(model, refusal.requestLimit);
    // learnt only over a window of known length: a longer one would count calls of the window before
    else if (window.trusted) this.limits.set(model, Math.max(this.limits.get(model) ?? 0, limit));
    // the others' calls are counted over no more than the window: those presumed spent took the limit in it
    const since = until - window.shortest + this.edgeOf(model);
    const marked: number[] = [];
    for (const group of groups) {
      if (group.keys.some((index) => spent.keys.includes(index))) continue;
      if (this.callsSince(group, model, since) < limit) continue;
      this.mark(group, model, until);
      marked.push(...group.keys);
    }
    return marked;
  }

  /**
   * The calls `spent`'s project took in the window before Google refused it, when that is its limit: counted over no
   * less than the window, and only for a project whole in this worker (a split one's other keys are used elsewhere).
   * Undefined when it tells nothing: the project took no call here, so someone else spent it.
   */
  private admittedBy(spent: QuotaGroup, model: string, until: number, window: WindowBounds): number | undefined {
    if (spent.weight < 1) return undefined;
    const admitted = this.callsSince(spent, model, until - window.longest - this.edgeOf(model)) - 1;
    return admitted > 0 ? admitted : undefined;
  }

  /** How far apart two window ends Google names for `model` may be and still be one end. */
  private sameEndOf(model: string): number {
    return Math.max(SAME_END_MS, this.precisions.get(model) ?? 0);
  }

  /** How far inside its computed ends a window of `model` is placed. */
  private edgeOf(model: string): number {
    return Math.max(WINDOW_EDGE_MS, this.precisions.get(model) ?? 0);
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
