/**
 * A per-project, per-model windowed rate limit for the fake Gemini, the way Google enforces its per-minute quotas:
 * at most `limit` calls of one project on one model in each window of `windowMs`. Google's rate-limits page: "Rate
 * limits are applied per project, not per API key", and they are per model; its 429s name the quota
 * `GenerateRequestsPerMinutePerProjectPerModel-FreeTier` (ai.google.dev/gemini-api/docs/rate-limits). The fake asks
 * its admission hook with the caller's project, so every key of a project draws on the same windows; a key that is
 * its own project (the default) is limited alone, as before projects existed.
 *
 * Windows are FIXED and aligned to multiples of `windowMs` since the epoch, so every project's window turns over at
 * the same instant and a pool of P projects can take exactly P × limit calls per window: the capacity the
 * physical-limit formula of `bench/capacity-model.ts` assumes. A refused call is told to retry when its window ends.
 *
 * The clock is injected, so the rules are tested without waiting.
 */

/** A call the limit refuses: the fake answers it as Google's per-minute quota 429. */
export interface AdmissionRefusal {
  /** milliseconds until the window frees (RetryInfo.retryDelay) */
  readonly retryDelayMs: number;
  /** calls per window (QuotaFailure.quotaValue); absent when the limit does not state it */
  readonly limit?: number;
}

/**
 * Decides whether the fake serves a call of `project` (the caller key's project: its label in the fake's `projects`
 * option, else the key itself) on `model`; undefined admits it. `apiKey` is the caller, for per-key accounting.
 */
export type Admission = (project: string, model: string, apiKey: string) => AdmissionRefusal | undefined;

export interface WindowedRateLimitOptions {
  /** calls admitted per project, per model, per window; a positive integer */
  readonly limit: number;
  /** window length in milliseconds; a positive integer */
  readonly windowMs: number;
  /**
   * Whether a refusal states the limit (`quotaValue`). Google's per-minute 429s do not always: some name the quota
   * without a value (google-gemini/gemini-cli#8437), others carry one (`"quotaValue": "10"`).
   *
   * @default true
   */
  readonly statesLimit?: boolean;
  /**
   * Epoch milliseconds.
   *
   * @default Date.now
   */
  readonly now?: () => number;
}

/** What one project met, over every model and window since the limit was created. */
export interface RateLimitStats {
  readonly admitted: number;
  readonly refused: number;
  /** (model, window) pairs in which the project refused at least one call: how often it ran out */
  readonly exhaustions: number;
}

interface WindowCount {
  window: number;
  admitted: number;
  refused: number;
}

const NO_CALLS: RateLimitStats = { admitted: 0, refused: 0, exhaustions: 0 };

export class WindowedRateLimit {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly statesLimit: boolean;
  private readonly windows = new Map<string, WindowCount>();
  private readonly perProject = new Map<string, RateLimitStats>();

  constructor(options: WindowedRateLimitOptions) {
    for (const field of ['limit', 'windowMs'] as const) {
      const value = options[field];
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`${field} must be a positive integer, got ${JSON.stringify(value)}`);
      }
    }
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.now = options.now ?? Date.now;
    this.statesLimit = options.statesLimit ?? true;
  }

  /** Counts the call and admits it (undefined), or refuses it with the time until its window ends. */
  admit(project: string, model: string): AdmissionRefusal | undefined {
    const now = this.now();
    const window = Math.floor(now / this.windowMs);
    const slot = `${project}\u0000${model}`;
    let count = this.windows.get(slot);
    if (count === undefined || count.window !== window) {
      count = { window, admitted: 0, refused: 0 };
      this.windows.set(slot, count);
    }
    const stats = this.perProject.get(project) ?? NO_CALLS;
    if (count.admitted < this.limit) {
      count.admitted++;
      this.perProject.set(project, { ...stats, admitted: stats.admitted + 1 });
      return undefined;
    }
    count.refused++;
    this.perProject.set(project, {
      ...stats,
      refused: stats.refused + 1,
      exhaustions: stats.exhaustions + (count.refused === 1 ? 1 : 0),
    });
    return { retryDelayMs: (window + 1) * this.windowMs - now, ...(this.statesLimit ? { limit: this.limit } : {}) };
  }

  /** Counts for one project; zeros for a project never seen. */
  statsOf(project: string): RateLimitStats {
    return this.perProject.get(project) ?? NO_CALLS;
  }

  /** Counts summed over every project. */
  totals(): RateLimitStats {
    let admitted = 0;
    let refused = 0;
    let exhaustions = 0;
    for (const s of this.perProject.values()) {
      admitted += s.admitted;
      refused += s.refused;
      exhaustions += s.exhaustions;
    }
    return { admitted, refused, exhaustions };
  }
}

/**
 * Milliseconds as a protobuf Duration in its JSON form ("1s", "0.250s"), the way RetryInfo.retryDelay carries it;
 * whole seconds are written without a fraction, others with 3 digits, both forms the JSON mapping allows.
 */
export function protoDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ms must be a non-negative number, got ${ms}`);
  const whole = Math.ceil(ms);
  return whole % 1000 === 0 ? `${whole / 1000}s` : `${(whole / 1000).toFixed(3)}s`;
}
