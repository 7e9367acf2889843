/**
 * The per-isolate key pool: which keys may serve a request now. Gemini quotas are per project and per model, so a
 * cooldown is scoped to (key, model): a key out of `gemini-2.5-pro` requests can still serve `gemini-2.5-flash`.
 * Time and randomness are parameters so the cooldown rules are tested without waiting.
 */

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

export type PoolStatus =
  | { readonly kind: 'available'; readonly keys: readonly number[] }
  /** every usable key is cooling; `retryAfterMs` until the first frees, `allDay` when all are out for the day */
  | { readonly kind: 'cooling'; readonly retryAfterMs: number; readonly allDay: boolean }
  /** no usable key at all: every configured key was removed */
  | { readonly kind: 'exhausted' };

export class KeyPool {
  private readonly removed = new Map<number, string>();
  private readonly cooldowns = new Map<string, Cooldown>();

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

  status(indices: readonly number[], model: string, now: number): PoolStatus {
    const keys = this.available(indices, model, now);
    if (keys.length > 0) return { kind: 'available', keys };
    const cooling = indices
      .filter((i) => !this.removed.has(i))
      .map((i) => this.cooldownOf(i, model, now))
      .filter((c): c is Cooldown => c !== undefined);
    if (cooling.length === 0) return { kind: 'exhausted' };
    return {
      kind: 'cooling',
      retryAfterMs: Math.max(0, Math.min(...cooling.map((c) => c.until)) - now),
      allDay: cooling.every((c) => UNTIL_MIDNIGHT.has(c.reason)),
    };
  }
}
