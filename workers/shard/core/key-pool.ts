/**
 * The per-isolate key pool: which keys may serve a request now. Gemini quotas are per project and per model, so a
 * cooldown is scoped to (key, model): a key out of `gemini-2.5-pro` requests can still serve `gemini-2.5-flash`; a
 * quota the whole project shares cools each of its keys (see `./upstream`). Keys are drawn by group (a Google
 * project, see `./key-projects`): a group by its weight, its share of the pool's quota, the least loaded of several
 * such draws by the picks this isolate made lately, then one of its keys, so the load follows quota, not key count,
 * and stays even within a quota window. It also counts what this isolate has seen per key, for the status view
 * (`./status`). Time and randomness are parameters so the cooldown and draw rules are tested without waiting.
 */

import { type QuotaGroup, type Refusal, SpentProjects } from './spent-projects';

/**
 * What a draw does with projects presumed spent for this window (see `./spent-projects`): `last` tries them only when
 * no other project is left (a request no other shard can take), `skip` leaves them out, so the shard declines and the
 * orchestrator sends the request to another shard without a call Google would refuse.
 */
export type PresumedSpent = 'last' | 'skip';

/**
 * Why a (key, model) cools: a per-minute quota (`quota-minute`), a per-day one (`quota-day`), a quota of zero
 * (`quota-zero`, until the day's reset), or a 429 that named no quota (`quota-unspecified`, a few seconds).
 */
export type CooldownReason = 'quota-minute' | 'quota-day' | 'quota-zero' | 'quota-unspecified';

/** Cooldowns that last until the next Pacific midnight: waiting or retrying sooner cannot help. */
const UNTIL_MIDNIGHT: ReadonlySet<CooldownReason> = new Set(['quota-day', 'quota-zero']);

export interface Cooldown {
  /** epoch milliseconds when the key may be used again */
  readonly until: number;
  readonly reason: CooldownReason;
}

/** Used for requests that name no model (model lists). */
export const ANY_MODEL = '*';

/** The last failed upstream call made with a key: Google's status and error code, or the worker's own code. */
export interface KeyError {
  /** HTTP status of Google's answer; absent when none came (timeout, unreachable) */
  readonly status?: number;
  /** `ErrorInfo.reason` or `error.status` (`RESOURCE_EXHAUSTED`, `API_KEY_INVALID`), or e.g. `upstream_timeout` */
  readonly code?: string;
  /** epoch milliseconds */
  readonly at: number;
}

/** What this isolate has seen of one key. */
export interface KeyCounters {
  /** upstream calls made with the key (failovers and 403 probes included) */
  readonly calls: number;
  /** of those, answered 429 */
  readonly rateLimited: number;
  readonly lastError?: KeyError;
}

/** One key's state and counters at an instant, for the status view. */
export interface KeySnapshot extends KeyCounters {
  readonly index: number;
  /** why the key was taken out of rotation; absent while it is in */
  readonly removed?: string;
  /** cooldowns in force, per model (`*` for requests that name none), soonest first */
  readonly cooldowns: readonly (Cooldown & { readonly model: string })[];
}

/** Only well-formed codes are kept: the status view and `npm start` print them as they are. */
const ERROR_CODE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export type PoolStatus =
  | { readonly kind: 'available'; readonly keys: readonly number[] }
  /** every usable key is cooling; `retryAfterMs` until the first frees, `allDay` when all are out for the day */
  | { readonly kind: 'cooling'; readonly retryAfterMs: number; readonly allDay: boolean }
  /** no usable key at all: every configured key was removed */
  | { readonly kind: 'exhausted' };

/** Keys that share one quota (a Google project's keys in this worker), and its weight in a draw. */
export interface KeyGroup extends QuotaGroup {
  /** 1-based key indices */
  readonly keys: readonly number[];
  /** the group's share of the pool's quota; positive */
  readonly weight: number;
}

/** A group's keys that may serve now, and its weight. */
interface LiveGroup {
  readonly keys: readonly number[];
  readonly weight: number;
  /** every key of the group, usable or not: the calls made with any of them load its shared quota */
  readonly all: readonly number[];
}

/** A group drawn by weight, and what is left of the draw inside it, in [0, 1), to pick one of its keys. */
interface Drawn {
  readonly group: LiveGroup;
  readonly rest: number;
}

/** One group of `live` (total weight `total`) by a uniform `u` in [0, 1), in proportion to the weights. */
function drawGroup(live: readonly LiveGroup[], total: number, u: number): Drawn | undefined {
  let target = u * total;
  for (const [i, group] of live.entries()) {
    if (target < group.weight || i === live.length - 1) return { group, rest: target / group.weight };
    target -= group.weight;
  }
  return undefined;
}

/**
 * How long a pick keeps weighing on its key's project in the draw, counted in picks, not time: its weight halves with
 * every this many later picks of the pool for the same model. Counting picks makes the draw's memory the same at any request rate, so
 * a project's share stays its quota share whether requests come every few milliseconds or every few minutes; 256
 * picks remember enough calls for a project holding a few percent of the quota to weigh what its share says
 * (docs/benchmarks.md, "Projects": the worst share of random layouts was 10.6 % off with 128, 6.2 % with 256).
 */
export const RECENT_PICKS_HALF_LIFE = 256;

export interface KeyPoolOptions {
  /** @default {@link RECENT_PICKS_HALF_LIFE} */
  readonly recentHalfLife?: number;
}

/** A (key, model)'s recent picks, decayed: `level` as it stood after the model's pick number `at`. */
interface Recent {
  readonly level: number;
  readonly at: number;
}

/** One of `keys` by a uniform `u` in [0, 1). */
function keyAt(keys: readonly number[], u: number): number | undefined {
  return keys[Math.min(keys.length - 1, Math.max(0, Math.floor(u * keys.length)))];
}

export class KeyPool {
  private readonly removed = new Map<number, string>();
  private readonly cooldowns = new Map<string, Cooldown>();
  private readonly counters = new Map<number, KeyCounters>();
  /**
   * the calls each (key, model) was picked for lately, decayed with {@link KeyPoolOptions.recentHalfLife}: per model,
   * because Google counts each model's quota on its own, so a project busy on one model has the other's to give
   */
  private readonly recent = new Map<string, Recent>();
  private readonly halfLife: number;
  /** picks made so far per model: the clock that model's recent picks decay by */
  private readonly picks = new Map<string, number>();
  private requestCount = 0;
  private firstRequestAt: number | undefined;
  private readonly spent = new SpentProjects();

  constructor(options: KeyPoolOptions = {}) {
    this.halfLife = options.recentHalfLife ?? RECENT_PICKS_HALF_LIFE;
  }

  private static slot(index: number, model: string): string {
    return `${index}\u0000${model}`;
  }

  /** The cooldown in force for (key, model) at `now`, if any; expired entries are dropped on the way. */
  cooldownOf(index: number, model: string, now: number): Cooldown | undefined {
    const slot = KeyPool.slot(index, model);
    const cooldown = this.cooldowns.get(slot);
    if (cooldown && cooldown.until <= now) {
      this.cooldowns.delete(slot);
      return undefined;
    }
    return cooldown;
  }

  isRemoved(index: number): boolean {
    return this.removed.has(index);
  }

  /** Keys (1-based indices) that may serve `model` at `now`. */
  available(indices: readonly number[], model: string, now: number): number[] {
    return indices.filter((i) => !this.removed.has(i) && !this.cooldownOf(i, model, now));
  }

  /** Picks uniformly among available keys not in `exclude`; undefined when none is left. */
  pick(
    indices: readonly number[],
    model: string,
    now: number,
    exclude: ReadonlySet<number>,
    random: () => number,
  ): number | undefined {
    const candidates = this.available(indices, model, now).filter((i) => !exclude.has(i));
    if (candidates.length === 0) return undefined;
    return candidates[Math.min(candidates.length - 1, Math.floor(random() * candidates.length))];
  }

  /**
   * Draws a group with a key that may serve `model` (available, not in `exclude`) in proportion to its weight, as
   * many times as there are such groups, and keeps the draw whose group had the fewest recent picks for its weight
   * (the earliest on a tie); then one of its keys uniformly, from what is left of that draw inside the group. The
   * pick counts among its key's recent picks.
   *
   * Why several draws: a project's quota runs out when chance sends it more than its share within one window, and
   * each time that costs a call Google refuses before the project cools. Keeping the least loaded of several draws
   * ("the power of d choices") holds the projects' calls close to their shares, while the draws, being by weight,
   * still give every project its quota share over time. On issue 22's pool at 80 % of its quota, two draws leave
   * three fifths of the refused calls one draw makes, as many draws as groups two fifths (docs/benchmarks.md,
   * "Projects").
   * With every key its own group of weight 1, and `random` giving the same number every time, this is exactly
   * {@link pick}.
   */
  pickSpread(
    groups: readonly KeyGroup[],
    model: string,
    now: number,
    exclude: ReadonlySet<number>,
    random: () => number,
    presumed: PresumedSpent = 'last',
  ): number | undefined {
    const live = this.liveGroups(groups, model, now, exclude, presumed);
    const total = live.reduce((sum, g) => sum + g.weight, 0);
    if (live.length === 0 || !(total > 0)) return undefined;
    let kept = drawGroup(live, total, random());
    let keptLoad = kept === undefined ? 0 : this.loadOf(kept.group, model);
    for (let draw = 1; draw < live.length; draw++) {
      const next = drawGroup(live, total, random());
      const load = next === undefined ? Number.POSITIVE_INFINITY : this.loadOf(next.group, model);
      if (load < keptLoad) {
        kept = next;
        keptLoad = load;
      }
    }
    return kept === undefined ? undefined : this.counted(kept.group, keyAt(kept.group.keys, kept.rest), model, now);
  }

  /**
   * The first group in `groups`' order with a key that may serve `model` (a conversation's ranking: its home project
   * while it has quota), and one of those keys drawn uniformly. The pick counts as a call of that key, so the draws of
   * requests without a conversation steer around the projects conversations keep busy.
   */
  pickFirst(
    groups: readonly KeyGroup[],
    model: string,
    now: number,
    exclude: ReadonlySet<number>,
    random: () => number,
    presumed: PresumedSpent = 'last',
  ): number | undefined {
    const first = this.liveGroups(groups, model, now, exclude, presumed)[0];
    return first === undefined ? undefined : this.counted(first, keyAt(first.keys, random()), model, now);
  }

  /**
   * The groups with a key that may serve `model`, with those keys; groups presumed spent only when `presumed` is
   * `last` and no other group is left.
   */
  private liveGroups(
    groups: readonly KeyGroup[],
    model: string,
    now: number,
    exclude: ReadonlySet<number>,
    presumed: PresumedSpent,
  ): LiveGroup[] {
    const live = groups
      .map((g) => ({
        keys: this.available(g.keys, model, now).filter((i) => !exclude.has(i)),
        weight: g.weight,
        all: g.keys,
      }))
      .filter((g) => g.keys.length > 0 && g.weight > 0);
    const fresh = live.filter((g) => g.keys.some((i) => this.spent.presumedUntil(i, model, now) === undefined));
    return fresh.length > 0 || presumed === 'skip' ? fresh : live;
  }

  /**
   * After Google refused a project on a per-minute request quota: presumes the other groups of `groups` that took the
   * quota's limit in this window spent until it ends (see `./spent-projects`); returns their keys.
   */
  presumeSpent(refusal: Refusal, groups: readonly KeyGroup[]): number[] {
    // a project Google already cooled needs no presumption: it is out until its own cooldown ends
    const serving = groups.filter((g) => this.available(g.keys, refusal.model, refusal.now).length > 0);
    return this.spent.afterRefusal(refusal, serving);
  }

  /** Key `index`'s recent picks for `model`, decayed to now. */
  private recentOf(index: number, model: string): number {
    const recent = this.recent.get(KeyPool.slot(index, model));
    const picks = this.picks.get(model) ?? 0;
    return recent === undefined ? 0 : recent.level * 2 ** (-(picks - recent.at) / this.halfLife);
  }

  /** A group's recent picks for `model` over its weight: what the draw compares. */
  private loadOf(group: LiveGroup, model: string): number {
    return group.all.reduce((sum, index) => sum + this.recentOf(index, model), 0) / group.weight;
  }

  /** Counts a pick of `index` (of `group`) for `model` at `now` among its recent picks, and passes it on. */
  private counted(group: LiveGroup, index: number | undefined, model: string, now: number): number | undefined {
    if (index === undefined) return undefined;
    this.spent.recordPick({ keys: group.all, weight: group.weight }, index, model, now);
    const picks = (this.picks.get(model) ?? 0) + 1;
    this.picks.set(model, picks);
    this.recent.set(KeyPool.slot(index, model), { level: this.recentOf(index, model) + 1, at: picks });
    return index;
  }

  /** A presumption that (key, model) is spent, as the per-minute cooldown it stands for. */
  private presumedCooldown(index: number, model: string, now: number): Cooldown | undefined {
    const until = this.spent.presumedUntil(index, model, now);
    return until === undefined ? undefined : { until, reason: 'quota-minute' };
  }

  coolDown(index: number, model: string, cooldown: Cooldown): void {
    const slot = KeyPool.slot(index, model);
    const current = this.cooldowns.get(slot);
    // a later per-minute 429 must not shorten a per-day cooldown already in force
    if (!current || current.until < cooldown.until) this.cooldowns.set(slot, cooldown);
  }

  /** Takes a key out of rotation for the life of the isolate (invalid, suspended or leaked). */
  remove(index: number, reason: string): void {
    this.removed.set(index, reason);
  }

  /** Counts one client request this isolate handled (the status view's own requests are not counted). */
  countRequest(now: number): void {
    this.requestCount++;
    this.firstRequestAt ??= now;
  }

  /** Client requests counted so far, and when the first was (undefined before any). */
  requests(): { readonly count: number; readonly since?: number } {
    return { count: this.requestCount, ...(this.firstRequestAt !== undefined ? { since: this.firstRequestAt } : {}) };
  }

  /** Counts one upstream call made with key `index`. */
  recordCall(index: number): void {
    const current = this.countersOf(index);
    this.counters.set(index, { ...current, calls: current.calls + 1 });
  }

  /** Records a failed upstream call made with key `index`; a 429 also counts as rate limited. */
  recordError(index: number, error: KeyError): void {
    const current = this.countersOf(index);
    const code = error.code !== undefined && ERROR_CODE.test(error.code) ? error.code : undefined;
    this.counters.set(index, {
      ...current,
      rateLimited: current.rateLimited + (error.status === 429 ? 1 : 0),
      lastError: {
        ...(error.status !== undefined ? { status: error.status } : {}),
        ...(code !== undefined ? { code } : {}),
        at: error.at,
      },
    });
  }

  /** Each key's state and counters at `now`, in the order of `indices`; expired cooldowns are dropped. */
  snapshot(indices: readonly number[], now: number): KeySnapshot[] {
    const cooling = new Map<number, (Cooldown & { model: string })[]>();
    for (const [slot, cooldown] of [...this.cooldowns]) {
      const [index, model] = slot.split('\u0000') as [string, string];
      if (this.cooldownOf(Number(index), model, now) === undefined) continue;
      cooling.set(Number(index), [...(cooling.get(Number(index)) ?? []), { model, ...cooldown }]);
    }
    return indices.map((index) => {
      const removed = this.removed.get(index);
      return {
        index,
        ...this.countersOf(index),
        ...(removed !== undefined ? { removed } : {}),
        cooldowns: (cooling.get(index) ?? []).sort((a, b) => a.until - b.until || a.model.localeCompare(b.model)),
      };
    });
  }

  private countersOf(index: number): KeyCounters {
    return this.counters.get(index) ?? { calls: 0, rateLimited: 0 };
  }

  /** The pool's state for `model` at `now`; keys presumed spent for this window count as cooling until it ends. */
  status(indices: readonly number[], model: string, now: number): PoolStatus {
    const keys = this.available(indices, model, now);
    if (keys.some((i) => this.spent.presumedUntil(i, model, now) === undefined)) return { kind: 'available', keys };
    const cooling = indices
      .filter((i) => !this.removed.has(i))
      .map((i) => this.cooldownOf(i, model, now) ?? this.presumedCooldown(i, model, now))
      .filter((c): c is Cooldown => c !== undefined);
    if (cooling.length === 0) return { kind: 'exhausted' };
    return {
      kind: 'cooling',
      retryAfterMs: Math.max(0, Math.min(...cooling.map((c) => c.until)) - now),
      allDay: cooling.every((c) => UNTIL_MIDNIGHT.has(c.reason)),
    };
  }
}
