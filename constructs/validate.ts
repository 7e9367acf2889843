/**
 * Validation rules shared by the constructs (field = prop name) and `config.ts` (field = environment variable).
 *
 * Each rule yields a message that names the field, the allowed values and the value received; unresolved Tokens
 * are skipped because their value is only known to Terraform.
 */
import { Token } from 'cdktf';
import { SRC_WORKER_FIXED_BINDINGS } from '../workers/shared/contract';
import { PLAN_LIMITS, SCRIPT_NAME_MAX_LENGTH, SCRIPT_NAME_PATTERN, type WorkersPlan } from './limits';

/** A failed check's message, or undefined when the value is fine. */
export type RuleResult = string | undefined;

/** A configuration mistake the user can fix; the composition root prints its message without a stack trace. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
}

/** Throws the first failed rule's message. */
export function assertValid(results: readonly RuleResult[]): void {
  const failure = results.find((r): r is string => r !== undefined);
  if (failure !== undefined) throw new ValidationError(failure);
}

/** Renders a received value for a message: strings quoted, so an empty or padded value is visible. */
export function received(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

function unresolved(value: unknown): boolean {
  return Token.isUnresolved(value);
}

/** @param why - where the bounds come from, when it is not obvious (e.g. a plan limit) */
export function integerInRange(field: string, value: number, min: number, max: number, why?: string): RuleResult {
  if (unresolved(value)) return undefined;
  if (Number.isInteger(value) && value >= min && value <= max) return undefined;
  const reason = why === undefined ? '' : ` (${why})`;
  return `${field} must be an integer from ${min} to ${max}${reason}, got ${received(value)}`;
}

export function oneOf<T extends string>(field: string, value: T, allowed: readonly T[]): RuleResult {
  return allowed.includes(value) ? undefined : `${field} must be one of ${allowed.join(', ')}, got ${received(value)}`;
}

export function scriptName(field: string, value: string): RuleResult {
  if (unresolved(value)) return undefined;
  if (value.length <= SCRIPT_NAME_MAX_LENGTH && SCRIPT_NAME_PATTERN.test(value)) return undefined;
  return (
    `${field} must be a worker name of 1 to ${SCRIPT_NAME_MAX_LENGTH} characters (lower-case letters, digits and ` +
    `inner hyphens), got ${received(value)} (${value.length} characters)`
  );
}

export function dnsLabel(field: string, value: string): RuleResult {
  if (unresolved(value)) return undefined;
  if (value.length <= 63 && SCRIPT_NAME_PATTERN.test(value)) return undefined;
  return `${field} must be a DNS label of 1 to 63 lower-case letters, digits and inner hyphens, got ${received(value)}`;
}

export function nonEmpty(field: string, value: string): RuleResult {
  if (unresolved(value)) return undefined;
  return value.trim() === '' ? `${field} must be a non-empty string, got ${received(value)}` : undefined;
}

export function samplingRate(field: string, value: number): RuleResult {
  if (unresolved(value)) return undefined;
  if (Number.isFinite(value) && value > 0 && value <= 1) return undefined;
  return `${field} must be a number greater than 0 and at most 1, got ${received(value)}`;
}

export function sha256Hex(field: string, value: string): RuleResult {
  if (/^[0-9a-f]{64}$/.test(value)) return undefined;
  return `${field} must be 64 lower-case hex characters (a SHA-256), got ${received(value)}`;
}

/**
 * Cloudflare rejects a compatibility date in the future (API error 10021), so catch it at synth.
 *
 * @param today - `YYYY-MM-DD` in UTC, injectable so tests do not depend on the clock.
 */
export function compatibilityDate(field: string, value: string, today: string = utcToday()): RuleResult {
  const wellFormed = /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`));
  if (wellFormed && value <= today) return undefined;
  return `${field} must be a date YYYY-MM-DD not after today (${today}), got ${received(value)}`;
}

/**
 * A base URL the worker appends `/v1beta/...` to: https, no credentials, query, fragment or trailing slash. A path
 * is allowed so the worker can go through a proxy such as Cloudflare AI Gateway.
 */
export function httpsBaseUrl(field: string, value: string): RuleResult {
  if (unresolved(value)) return undefined;
  const problem = `${field} must be an https:// URL without credentials, query, fragment or trailing slash (e.g. https://generativelanguage.googleapis.com), got ${received(value)}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return problem;
  }
  const bare = url.protocol === 'https:' && !url.username && !url.password && url.search === '' && url.hash === '';
  return bare && !value.endsWith('/') ? undefined : problem;
}

export function utcToday(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Why a src worker's key count is capped: the plan's env-var limit minus the fixed bindings. */
export function envVarLimitReason(plan: WorkersPlan): string {
  return (
    `the ${plan} Workers plan allows ${PLAN_LIMITS[plan].envVarsPerWorker} environment variables per worker, ` +
    `${SRC_WORKER_FIXED_BINDINGS.length} of them taken by ${SRC_WORKER_FIXED_BINDINGS.join(', ')}`
  );
}
