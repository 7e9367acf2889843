/**
 * Reads the orchestrator's bindings: which shards exist and how it may use them.
 *
 * @module
 */
import {
  BACKEND_BINDING_PATTERN,
  DEFAULT_SHARD_ATTEMPTS,
  DEFAULT_SHARD_TIMEOUT_MS,
  MAX_SHARD_ATTEMPTS,
  MAX_SHARD_KEY_COUNT,
} from '../shared/contract';

/** Anything a request can be forwarded to: a service binding in production, a stub in tests. */
export interface Backend {
  fetch(request: Request): Promise<Response>;
}

/** One bound shard; `index` is the n of `BACKEND_SERVICE_<n>` and is what logs call the shard. */
export interface BoundBackend<B extends Backend = Backend> {
  readonly index: number;
  readonly backend: B;
}

function isBackend(value: unknown): value is Backend {
  return typeof value === 'object' && value !== null && typeof (value as { fetch?: unknown }).fetch === 'function';
}

/**
 * Every `BACKEND_SERVICE_<n>` binding that is a fetcher, in numeric order (so `BACKEND_SERVICE_10` comes after `_9`).
 * Gaps are allowed: a shard removed from the middle keeps the others' numbers stable in the logs.
 */
export function discoverBackends<B extends Backend>(env: Readonly<Record<string, unknown>>): BoundBackend<B>[] {
  const found: BoundBackend<B>[] = [];
  for (const [name, value] of Object.entries(env)) {
    const match = BACKEND_BINDING_PATTERN.exec(name);
    if (match && isBackend(value)) found.push({ index: Number(match[1]), backend: value as B });
  }
  return found.sort((a, b) => a.index - b.index);
}

function positiveInteger(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || !/^[1-9][0-9]{0,8}$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

/**
 * `SHARD_ATTEMPTS` as a number in 1..{@link MAX_SHARD_ATTEMPTS}. Absent or malformed means the default: a bad setting
 * must not take the gateway down, and only pool refusals are re-routed, which never costs a second billed call.
 */
export function parseShardAttempts(raw: unknown): number {
  return Math.min(positiveInteger(raw) ?? DEFAULT_SHARD_ATTEMPTS, MAX_SHARD_ATTEMPTS);
}

/** `SHARD_TIMEOUT_MS` as a positive number of milliseconds; absent or malformed means the default. */
export function parseShardTimeoutMs(raw: unknown): number {
  return positiveInteger(raw) ?? DEFAULT_SHARD_TIMEOUT_MS;
}

/** Each bound shard's weight, aligned with the bound backends, and why the weights are uniform when they are. */
export interface ShardWeights {
  readonly weights: readonly number[];
  /** set when `SHARD_KEY_COUNTS` could not be used and every bound shard weighs the same */
  readonly fallback?: 'missing' | 'malformed';
}

/** One entry of `SHARD_KEY_COUNTS`: a count from 0 to {@link MAX_SHARD_KEY_COUNT}, without leading zeros. */
function isKeyCount(entry: string): boolean {
  return /^(0|[1-9][0-9]*)$/.test(entry) && Number(entry) <= MAX_SHARD_KEY_COUNT;
}

/**
 * `SHARD_KEY_COUNTS` ("8,8,4": entry n is the key count of `BACKEND_SERVICE_<n>`) as one weight per bound backend.
 * Absent, malformed, missing an entry for a bound shard, or all zero means uniform weights with the reason, never a
 * failed request: a routing skew is better than an outage.
 */
export function shardWeights(raw: unknown, backends: readonly BoundBackend[]): ShardWeights {
  const uniform = (fallback: 'missing' | 'malformed'): ShardWeights => ({ weights: backends.map(() => 1), fallback });
  if (raw === undefined || raw === null || raw === '') return uniform('missing');
  if (typeof raw !== 'string') return uniform('malformed');
  const entries = raw.split(',').map((entry) => entry.trim());
  if (!entries.every(isKeyCount)) return uniform('malformed');
  const counts = entries.map(Number);
  // the construct writes exactly one entry per binding position, so a different length means the two disagree
  const highest = backends.reduce((max, b) => Math.max(max, b.index), -1);
  if (counts.length !== highest + 1) return uniform('malformed');
  const weights = backends.map((b) => counts[b.index]);
  if (!weights.every((w): w is number => w !== undefined)) return uniform('malformed');
  return weights.some((w) => w > 0) ? { weights } : uniform('malformed');
}
