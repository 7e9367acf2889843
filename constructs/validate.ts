/**
 * Validation rules shared by the constructs (field = prop name) and `config.ts` (field = environment variable): each
 * rule is written once, and each caller names its own fields.
 *
 * Each rule yields a message that names the field, the allowed values and the value received; unresolved Tokens
 * are skipped because their value is only known to Terraform. A numeric rule takes a number (a prop) or the text of
 * one (an environment variable, quoted in the message as it was given).
 */
import { Token } from 'cdktf';
import { SRC_WORKER_FIXED_BINDINGS, parseAnthropicModelMap, parseClientLimits } from '../workers/shared/contract';
import { USAGE_DATASET_PATTERN } from '../workers/shared/usage-schema';
import { projectCountProblem, projectLabelsProblem } from '../workers/shared/key-layout';
import { PLAN_LIMITS, SCRIPT_NAME_MAX_LENGTH, SCRIPT_NAME_PATTERN, maxKeysPerWorker, type WorkersPlan } from './limits';
import { shardCount } from './names';

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

/** An integer as a prop holds it, or as an environment variable spells it (digits, an optional minus); else NaN. */
function integerOf(value: number | string): number {
  if (typeof value === 'number') return value;
  return /^-?[0-9]+$/.test(value) ? Number(value) : Number.NaN;
}

/**
 * @param why - where the bounds come from, when it is not obvious (e.g. a plan limit)
 * @param hint - what else the caller's user can change, appended after the bounds (e.g. `, or set WORKERS_PLAN=paid`)
 */
export function integerInRange(
  field: string,
  value: number | string,
  min: number,
  max: number,
  why?: string,
  hint = '',
): RuleResult {
  if (unresolved(value)) return undefined;
  const n = integerOf(value);
  if (Number.isInteger(n) && n >= min && n <= max) return undefined;
  const reason = why === undefined ? '' : ` (${why})`;
  return `${field} must be an integer from ${min} to ${max}${reason}${hint}, got ${received(value)}`;
}

/** A count or number that starts at 1 and has no useful upper bound (a key count, a pull request number). */
export function positiveInteger(field: string, value: number | string): RuleResult {
  if (unresolved(value)) return undefined;
  const n = typeof value === 'number' ? value : /^[1-9][0-9]*$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isSafeInteger(n) && n >= 1) return undefined;
  return `${field} must be a positive integer (1, 2, 3, ...), got ${received(value)}`;
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

export function samplingRate(field: string, value: number | string): RuleResult {
  if (unresolved(value)) return undefined;
  const n = typeof value === 'number' ? value : /^[0-9]*\.?[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (Number.isFinite(n) && n > 0 && n <= 1) return undefined;
  return `${field} must be a number greater than 0 and at most 1 (e.g. 0.1 for 10%), got ${received(value)}`;
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

/** An Analytics Engine dataset name the usage queries can name without quoting. */
export function usageDataset(field: string, value: string): RuleResult {
  if (unresolved(value) || new RegExp(USAGE_DATASET_PATTERN).test(value)) return undefined;
  return (
    `${field} must be an Analytics Engine dataset name of 1 to 64 letters, digits and "_", starting with a letter ` +
    `(or off, to meter nothing), got ${received(value)}`
  );
}

export function utcToday(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Why a shard worker's key count is capped: the plan's env-var limit minus the fixed and bound optional bindings. */
function envVarLimitReason(plan: WorkersPlan, optionalBindings: readonly string[]): string {
  const taken = [...SRC_WORKER_FIXED_BINDINGS, ...optionalBindings];
  return (
    `the ${plan} Workers plan allows ${PLAN_LIMITS[plan].envVarsPerWorker} environment variables per worker, ` +
    `${taken.length} of them taken by ${taken.join(', ')}`
  );
}

/**
 * How many keys one shard worker may hold: from 1 to what the plan's environment-variable limit leaves beside the
 * fixed bindings and the optional bindings it binds.
 *
 * @param hint - see {@link integerInRange}
 * @param optionalBindings - the optional bindings the worker binds (`boundOptionalBindings`: `SHARD_INDEX` on a
 * shard, the surface bindings whose settings are given)
 */
export function keysPerWorker(
  field: string,
  value: number | string,
  plan: WorkersPlan,
  hint = '',
  optionalBindings: readonly string[] = [],
): RuleResult {
  const max = maxKeysPerWorker(plan, optionalBindings);
  return integerInRange(field, value, 1, max, envVarLimitReason(plan, optionalBindings), hint);
}

/**
 * The Claude-line-to-Gemini-model map of the Anthropic routes, as JSON text, checked by the worker's own parser so
 * synth accepts exactly what the worker reads.
 */
export function anthropicModelMap(field: string, text: string): RuleResult {
  if (unresolved(text)) return undefined;
  const parsed = parseAnthropicModelMap(text, field);
  return parsed.ok ? undefined : `${parsed.problem}, got ${received(text)}`;
}

/** Every project label of `KEY_PROJECTS` (the `keyProjects` prop) valid, checked by the workers' own rule. */
export function projectLabels(field: string, labels: readonly string[]): RuleResult {
  return projectLabelsProblem(field, labels);
}

/** One project label per key: `KEY_PROJECTS has 4 labels for KEY_COUNT=5; ...`. */
export function projectsPerKey(
  fields: { readonly keyProjects: string; readonly keyCount: string },
  labels: readonly string[],
  keyCount: number,
): RuleResult {
  return projectCountProblem(fields, labels, keyCount);
}

/**
 * The per-client request rates, as JSON text, checked by the worker's own parser so synth accepts exactly what the
 * worker reads; the message names the client and the field.
 */
export function clientLimits(field: string, text: string): RuleResult {
  if (unresolved(text)) return undefined;
  const parsed = parseClientLimits(text, field);
  return parsed.ok ? undefined : parsed.problem;
}

/** The callers' names for the inputs of {@link workersPerAccount}. */
export interface WorkerCountFields {
  readonly keyCount: string;
  readonly keysPerShard: string;
}

/**
 * The workers a deployment needs, one per shard plus the orchestrator (plus the preview, when `withPreview`), must fit
 * the plan's limit per account.
 *
 * @param hint - what else the caller's user can change, appended to the advice (e.g. `, or set WORKERS_PLAN=paid`)
 * @param keyProjects - the keys' project labels, already checked (one per key): projects kept whole may need more shards
 */
export function workersPerAccount(
  fields: WorkerCountFields,
  keyCount: number,
  keysPerShard: number,
  plan: WorkersPlan,
  withPreview: boolean,
  hint = '',
  keyProjects?: readonly string[],
): RuleResult {
  const shards = shardCount(keyCount, keysPerShard, keyProjects);
  const workers = shards + 1 + (withPreview ? 1 : 0);
  const limit = PLAN_LIMITS[plan].workersPerAccount;
  if (workers <= limit) return undefined;
  const { keyCount: count, keysPerShard: perShard } = fields;
  return (
    `${count} and ${perShard} must need at most ${limit} workers (the ${plan} Workers plan's limit per account; raise ` +
    `${perShard} or lower ${count}${hint}), got ${count}=${keyCount} and ${perShard}=${keysPerShard}: ${shards} shards ` +
    `+ the orchestrator${withPreview ? ' + the preview' : ''} = ${workers} workers`
  );
}

/** The callers' names for the inputs of {@link shardTimeoutOutlastsShard}. */
export interface ShardDeadlineFields {
  readonly shardTimeoutMs: string;
  readonly upstreamTimeoutMs: string;
  readonly maxWaitMs: string;
}

/**
 * The orchestrator's deadline for a shard must exceed the longest a shard takes to answer by itself: waiting
 * `maxWaitMs` for a key, then `upstreamTimeoutMs` for Gemini. At or below that sum the orchestrator's generic 504
 * wins the race, hiding the shard's own answer (which names the upstream timeout) and cancelling a request Gemini
 * may still complete.
 *
 * @param values - the values in effect, defaults applied
 * @param givenShardTimeout - the shard deadline as the user gave it, or undefined when it is the default
 */
export function shardTimeoutOutlastsShard(
  fields: ShardDeadlineFields,
  values: { readonly shardTimeoutMs: number; readonly upstreamTimeoutMs: number; readonly maxWaitMs: number },
  givenShardTimeout: number | string | undefined,
): RuleResult {
  const { shardTimeoutMs, upstreamTimeoutMs, maxWaitMs } = values;
  if (shardTimeoutMs > upstreamTimeoutMs + maxWaitMs) return undefined;
  const got = givenShardTimeout === undefined ? `${shardTimeoutMs} (the default)` : received(givenShardTimeout);
  return (
    `${fields.shardTimeoutMs} must be greater than ${fields.upstreamTimeoutMs} + ${fields.maxWaitMs} (${upstreamTimeoutMs} + ` +
    `${maxWaitMs} = ${upstreamTimeoutMs + maxWaitMs}) so the shard's own answer (its 504 for a slow Gemini) arrives ` +
    `first, got ${got}`
  );
}
