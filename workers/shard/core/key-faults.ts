/**
 * Reads Google's error bodies to decide what a failure says about the key that got it: a spent quota (cool the key
 * for that model), a key or project that cannot call the API (remove it), or nothing about the key at all. Only
 * structured fields are read; see {@link keyFaultOf}.
 */
import type { Cooldown } from './key-pool';

/** The inner `error` object of a Google error body. */
export interface GoogleError {
  readonly code?: number;
  readonly message?: string;
  readonly status?: string;
  readonly details: readonly Record<string, unknown>[];
}

/** Without a RetryInfo hint, a per-minute quota is assumed to free within a minute. */
export const DEFAULT_MINUTE_COOLDOWN_MS = 60_000;

const PACIFIC = 'America/Los_Angeles';

/**
 * Extracts the error from a parsed body in either shape Google uses: `{"error":{...}}` (native API) or
 * `[{"error":{...}}]` (the OpenAI-compatible endpoint).
 */
export function googleErrorOf(body: unknown): GoogleError | undefined {
  const wrapper: unknown = Array.isArray(body) ? body[0] : body;
  if (!wrapper || typeof wrapper !== 'object') return undefined;
  const error: unknown = (wrapper as { error?: unknown }).error;
  if (!error || typeof error !== 'object') return undefined;
  const e = error as Record<string, unknown>;
  return {
    ...(typeof e.code === 'number' ? { code: e.code } : {}),
    ...(typeof e.message === 'string' ? { message: e.message } : {}),
    ...(typeof e.status === 'string' ? { status: e.status } : {}),
    details: Array.isArray(e.details)
      ? e.details.filter((d): d is Record<string, unknown> => !!d && typeof d === 'object')
      : [],
  };
}

function detailsOfType(err: GoogleError, type: string): Record<string, unknown>[] {
  return err.details.filter((d) => {
    const detailType = d['@type'];
    return typeof detailType === 'string' && detailType.endsWith(`google.rpc.${type}`);
  });
}

/** Parses a protobuf Duration as JSON renders it ("17s", "0.5s", "1.250s") into milliseconds. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match ? Math.ceil(Number(match[1]) * 1000) : undefined;
}

/** How finely a protobuf Duration is stated, in milliseconds: 1000 for "17s", 100 for "0.5s", 1 for "1.250s". */
export function durationPrecisionMs(value: string): number {
  const fraction = /\.(\d+)s$/.exec(value.trim())?.[1] ?? '';
  return Math.max(1, 1000 / 10 ** fraction.length);
}

/** The wall clock in America/Los_Angeles at `epochMs`, as if it were UTC (for offset arithmetic). */
function pacificWallClockAsUtc(epochMs: number): { wall: number; y: number; m: number; d: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: PACIFIC,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(epochMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  const [y, m, d] = [get('year'), get('month'), get('day')];
  return { wall: Date.UTC(y, m - 1, d, get('hour'), get('minute'), get('second')), y, m, d };
}

/**
 * The next midnight in America/Los_Angeles after `now`, when Gemini's per-day quotas reset. The UTC offset is taken
 * at the target instant, not at `now`, so the answer is right across DST changes (23- and 25-hour days); midnight
 * never falls in a Pacific DST gap, which happens at 02:00.
 */
export function nextPacificMidnight(now: number): number {
  const { y, m, d } = pacificWallClockAsUtc(now);
  const midnightWall = Date.UTC(y, m - 1, d + 1);
  const offsetAt = (t: number): number => pacificWallClockAsUtc(t).wall - Math.floor(t / 1000) * 1000;
  const guess = midnightWall - offsetAt(now);
  return midnightWall - offsetAt(guess);
}

export type KeyFault =
  | {
      readonly kind: 'cooldown';
      readonly cooldown: Cooldown;
      readonly quotaId?: string;
      /**
       * the requests the quota allows per window (`QuotaFailure.quotaValue` of a per-minute request quota); never a
       * token quota's value, which counts tokens
       */
      readonly requestLimit?: number;
      /** how finely `RetryInfo.retryDelay` stated the cooldown's end (1000 for whole seconds) */
      readonly untilPrecisionMs?: number;
    }
  | { readonly kind: 'removed'; readonly reason: string };

/**
 * Whether a quota is the project's, shared by all its keys: Google's quota ids say so
 * (`GenerateRequestsPerMinutePerProjectPerModel-FreeTier`, `GenerateRequestsPerDayPerProjectPerModel-FreeTier`).
 * Any other quota id, and a 429 that names none, is kept to the key that got it.
 */
export function isProjectQuota(quotaId: string | undefined): boolean {
  return quotaId !== undefined && /PerProject/i.test(quotaId);
}

/** Cooldown for a 429 that says nothing about which quota tripped: Google's transient pushback, not a spent quota. */
export const BARE_429_COOLDOWN_MS = 5_000;

/**
 * `ErrorInfo.reason` values (google.api.ErrorReason) that say the key itself, or its project, cannot call the API:
 * the key is invalid or restricted, the API is off or unbilled in its project, or the consumer is suspended.
 * Reasons are enum values Google sets; unlike a message they never quote the request.
 */
export const KEY_LEVEL_REASONS: ReadonlySet<string> = new Set([
  'API_KEY_INVALID',
  'API_KEY_SERVICE_BLOCKED',
  'API_KEY_HTTP_REFERRER_BLOCKED',
  'API_KEY_IP_ADDRESS_BLOCKED',
  'API_KEY_ANDROID_APP_BLOCKED',
  'API_KEY_IOS_APP_BLOCKED',
  'SERVICE_DISABLED',
  'BILLING_DISABLED',
  'CONSUMER_SUSPENDED',
  'CONSUMER_INVALID',
]);

function errorInfoReasons(err: GoogleError): string[] {
  return detailsOfType(err, 'ErrorInfo')
    .map((i) => i.reason)
    .filter((r): r is string => typeof r === 'string');
}

/**
 * The code that names a Google error in the status view: its first `ErrorInfo.reason` (`API_KEY_INVALID`), else
 * `error.status` (`RESOURCE_EXHAUSTED`). Both are enum values Google sets, never text quoted from the request.
 */
export function errorCodeOf(err: GoogleError | undefined): string | undefined {
  return (err ? errorInfoReasons(err)[0] : undefined) ?? err?.status;
}

interface QuotaViolation {
  readonly quotaId?: string;
  readonly quotaValue?: string;
}

function quotaViolations(err: GoogleError): QuotaViolation[] {
  return detailsOfType(err, 'QuotaFailure').flatMap((q) =>
    Array.isArray(q.violations)
      ? q.violations
          .filter((v): v is Record<string, unknown> => !!v && typeof v === 'object')
          .map((v) => ({
            ...(typeof v.quotaId === 'string' && v.quotaId ? { quotaId: v.quotaId } : {}),
            ...(typeof v.quotaValue === 'string' ? { quotaValue: v.quotaValue } : {}),
          }))
      : [],
  );
}

/**
 * The requests per window of a per-minute request quota among `violations` (`GenerateRequestsPerMinute…` with a
 * `quotaValue` of a positive whole number); undefined when none says it, or more than one disagree.
 */
function requestLimitOf(violations: readonly QuotaViolation[]): number | undefined {
  const limits = violations
    .filter((v) => v.quotaId !== undefined && /Requests/i.test(v.quotaId) && /PerMinute/i.test(v.quotaId))
    .map((v) => (v.quotaValue !== undefined && /^[1-9][0-9]{0,8}$/.test(v.quotaValue) ? Number(v.quotaValue) : NaN));
  const [first] = limits;
  return first !== undefined && limits.every((l) => l === first) && Number.isFinite(first) ? first : undefined;
}

/**
 * What a failed upstream response says about the key, read ONLY from Google's structured fields: the HTTP status,
 * `error.status`, `ErrorInfo.reason`, `QuotaFailure` and `RetryInfo`. `error.message` and every other free text are
 * never read, because Google quotes request field names and values in them: a client could otherwise word a field
 * so that Google's answer condemns a healthy key. Where Google gives no structure, the failure is not the key's.
 * Undefined means pass the answer to the client and leave the key alone.
 */
export function keyFaultOf(status: number, err: GoogleError | undefined, now: number): KeyFault | undefined {
  if (status === 429) {
    const violations = err ? quotaViolations(err) : [];
    const delayText = err
      ? detailsOfType(err, 'RetryInfo')
          .map((r) => r.retryDelay)
          .find((d): d is string => parseDurationMs(d) !== undefined)
      : undefined;
    const retryDelay = parseDurationMs(delayText);
    // a quota of zero (free tier on a pro model) never frees with the minute: only a new day, or billing, changes it
    const zero = violations.find((v) => v.quotaValue === '0');
    if (zero) {
      return {
        kind: 'cooldown',
        cooldown: { until: nextPacificMidnight(now), reason: 'quota-zero' },
        ...(zero.quotaId ? { quotaId: zero.quotaId } : {}),
      };
    }
    const daily = violations.find((v) => v.quotaId !== undefined && /perday/i.test(v.quotaId));
    if (daily)
      return {
        kind: 'cooldown',
        cooldown: { until: nextPacificMidnight(now), reason: 'quota-day' },
        ...(daily.quotaId ? { quotaId: daily.quotaId } : {}),
      };
    if (violations.length === 0 && retryDelay === undefined) {
      return { kind: 'cooldown', cooldown: { until: now + BARE_429_COOLDOWN_MS, reason: 'quota-unspecified' } };
    }
    const quotaId = violations.find((v) => v.quotaId !== undefined)?.quotaId;
    const requestLimit = requestLimitOf(violations);
    return {
      kind: 'cooldown',
      cooldown: { until: now + (retryDelay ?? DEFAULT_MINUTE_COOLDOWN_MS), reason: 'quota-minute' },
      ...(quotaId ? { quotaId } : {}),
      ...(requestLimit !== undefined ? { requestLimit } : {}),
      ...(delayText !== undefined ? { untilPrecisionMs: durationPrecisionMs(delayText) } : {}),
    };
  }
  // the client's password never reaches Google, so a credential Google refuses can only be the pool key
  if (status === 401) return { kind: 'removed', reason: 'UNAUTHENTICATED' };
  if (!err || (status !== 400 && status !== 403)) return undefined;
  const keyReason = errorInfoReasons(err).find((r) => KEY_LEVEL_REASONS.has(r));
  return keyReason ? { kind: 'removed', reason: keyReason } : undefined;
}

/**
 * Google's refusal to serve the region the request came from: HTTP 400, `FAILED_PRECONDITION`, and no details
 * (Google sends no ErrorInfo for it; its only text is "User location is not supported for the API use."). It
 * depends on where the Worker ran, not on the key or the request.
 */
export function isUnsupportedLocation(status: number, err: GoogleError | undefined): boolean {
  return status === 400 && err?.status === 'FAILED_PRECONDITION' && err.details.length === 0;
}

/**
 * A 403 `PERMISSION_DENIED` without any ErrorInfo says nothing structured about why. It answers both a request for
 * another project's resource (the client's doing) and a key Google blocked as leaked (the key's): only a second
 * call on the same key that carries nothing of the client's request can tell them apart.
 */
export function needsKeyProbe(status: number, err: GoogleError | undefined): boolean {
  return status === 403 && err?.status === 'PERMISSION_DENIED' && detailsOfType(err, 'ErrorInfo').length === 0;
}

/** Whether a probe's answer blames the key: Google refused it, or denied a request that held nothing but the key. */
export function probeBlamesKey(status: number, err: GoogleError | undefined, now: number): boolean {
  return keyFaultOf(status, err, now)?.kind === 'removed' || (status === 403 && err?.status === 'PERMISSION_DENIED');
}
