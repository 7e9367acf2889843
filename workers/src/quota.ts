/**
 * Reads Google's error bodies to decide what a failure says about the key that got it: a per-minute or per-day
 * quota (cool the key), an invalid, suspended or leaked key (remove it), or nothing about the key at all.
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
    details: Array.isArray(e.details) ? e.details.filter((d): d is Record<string, unknown> => !!d && typeof d === 'object') : [],
  };
}

function detailsOfType(err: GoogleError, type: string): Record<string, unknown>[] {
  return err.details.filter(d => typeof d['@type'] === 'string' && (d['@type'] as string).endsWith(`google.rpc.${type}`));
}

/** Parses a protobuf Duration as JSON renders it ("17s", "0.5s", "1.250s") into milliseconds. */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match ? Math.ceil(Number(match[1]) * 1000) : undefined;
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
  const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find(p => p.type === type)?.value);
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
  | { readonly kind: 'cooldown'; readonly cooldown: Cooldown; readonly quotaId?: string }
  | { readonly kind: 'removed'; readonly reason: string };

/**
 * What a failed upstream response says about the key. Undefined for failures that are not the key's fault
 * (500/503/504, a bad request), which must neither cool nor remove it.
 */
export function keyFaultOf(status: number, err: GoogleError | undefined, now: number): KeyFault | undefined {
  if (status === 429) {
    const quotaIds = err
      ? detailsOfType(err, 'QuotaFailure').flatMap(q =>
          Array.isArray(q.violations) ? q.violations.map(v => String((v as { quotaId?: unknown }).quotaId ?? '')) : [],
        )
      : [];
    const daily = quotaIds.find(id => /perday/i.test(id));
    if (daily) return { kind: 'cooldown', cooldown: { until: nextPacificMidnight(now), reason: 'quota-day' }, quotaId: daily };
    const retryDelay = err ? detailsOfType(err, 'RetryInfo').map(r => parseDurationMs(r.retryDelay)).find(ms => ms !== undefined) : undefined;
    const quotaId = quotaIds.find(Boolean);
    return {
      kind: 'cooldown',
      cooldown: { until: now + (retryDelay ?? DEFAULT_MINUTE_COOLDOWN_MS), reason: 'quota-minute' },
      ...(quotaId ? { quotaId } : {}),
    };
  }
  if (!err) return undefined;
  const reasons = detailsOfType(err, 'ErrorInfo').map(i => String(i.reason ?? ''));
  const message = err.message ?? '';
  if (status === 400 && (reasons.includes('API_KEY_INVALID') || /api key (not valid|not found|expired)/i.test(message))) {
    return { kind: 'removed', reason: 'API_KEY_INVALID' };
  }
  if (status === 403) {
    // 403 also answers requests for another project's files; only key-level denials take the key out
    const keyReason = reasons.find(r => /CONSUMER_SUSPENDED|API_KEY_SERVICE_BLOCKED|API_KEY_/i.test(r));
    if (keyReason) return { kind: 'removed', reason: keyReason };
    if (/leaked|suspended|api key/i.test(message)) return { kind: 'removed', reason: err.status ?? 'PERMISSION_DENIED' };
  }
  return undefined;
}
