/**
 * The usage data point: what the shard worker writes to Workers Analytics Engine for each request it answers, and
 * what `npm run usage` asks the Analytics Engine SQL API about. One list of fields, in column order, read by both
 * sides, so a field's column (`blob3`, `double6`) cannot differ between the writer and the queries; docs/operations.md
 * describes each field.
 *
 * Analytics Engine stores strings as `blob1..blob20`, numbers as `double1..double20`, and one `index1`, its sampling
 * key: under heavy traffic it keeps a sample of each index value's points, each standing for `_sample_interval` of
 * them. The index is the key's Google project: quotas are counted per project, so each project's request count stays
 * accurate however much the others send, and requests that used no key (refused before Google) are a bucket of their
 * own. Plain TypeScript with neither Workers nor Node.js types and no import, so both tsconfigs compile it and the
 * constructs may read it, as they read the contract: it names the binding and its dataset.
 *
 * @module
 */

/**
 * The Workers Analytics Engine dataset each answered request's usage is written to, one data point per request. Bound
 * on every shard worker and the preview worker unless metering is turned off; a dataset binding is not an environment
 * variable, so it takes none from the keys. Without it the worker meters nothing.
 */
export const USAGE_BINDING = 'USAGE';
/** The bindings a shard worker holds that are no environment variable, bound after the settings' text bindings. */
export const SRC_WORKER_DATASET_BINDINGS = [USAGE_BINDING] as const;
/** The dataset the constructs bind unless told otherwise; a plain SQL identifier, as the usage queries name it. */
export const DEFAULT_USAGE_DATASET = 'zen_ai_router_usage';
/**
 * What a dataset name may be: letters, digits and `_`, starting with a letter, at most 64 characters, so the SQL
 * queries name it without quoting (a regex source).
 */
export const USAGE_DATASET_PATTERN = '^[A-Za-z][A-Za-z0-9_]{0,63}$';

/** The blobs, in column order: `blob1` is the route. */
export const USAGE_BLOBS = [
  /** the route's name, as in the log line (`chat.completions`, `native.streamGenerateContent`, …) */
  'route',
  /** the Gemini model the call named; empty when none */
  'model',
  /** `pass` or the client token's name; empty before the credential was checked */
  'client',
  /**
   * The key that served the request as the operator numbers it: `KEY13` for the 13th of `TF_VAR_api_keys`, or
   * `shard1:KEY3` on a shard that cannot tell (no `KEY_PROJECTS`: `npm run usage` numbers it from `KEYS_PER_SHARD`);
   * empty when no key was used
   */
  'key',
  /** the worker's own error code, or how a stream ended early (`upstream_stream_interrupted`, `client_disconnected`) */
  'error',
  /** `whole`, `stream` (a streamed body, metered at its end) or `live` (a Live API session, metered when it opened) */
  'delivery',
] as const;

/** The doubles, in column order: `double1` is the status. */
export const USAGE_DOUBLES = [
  /** the HTTP status the client got */
  'status',
  /** Google's status for the last attempt; 0 when Google was not asked */
  'upstreamStatus',
  /** calls made to Google for the request (failovers included) */
  'attempts',
  /** milliseconds until the response headers, as the log line's `ms` */
  'ms',
  /** milliseconds until the body's last byte (a stream's end); `ms` for a whole reply */
  'totalMs',
  /** Google's `promptTokenCount` (OpenAI's `prompt_tokens`) */
  'promptTokens',
  /** Google's `candidatesTokenCount` (OpenAI's `completion_tokens`, less reasoning tokens) */
  'outputTokens',
  /** Google's `cachedContentTokenCount` (OpenAI's `prompt_tokens_details.cached_tokens`): part of the prompt */
  'cachedTokens',
  /** Google's `thoughtsTokenCount` (OpenAI's `completion_tokens_details.reasoning_tokens`) */
  'thinkingTokens',
  /** Google's `totalTokenCount` (OpenAI's `total_tokens`) */
  'totalTokens',
  /** the key's place in `TF_VAR_api_keys`; 0 when no key was used or the shard cannot tell */
  'globalKey',
  /** `SHARD_INDEX` of the shard that wrote the point; -1 for a worker that stands alone (the preview) */
  'shard',
  /** n of the shard's `KEY<n>`; 0 when no key was used */
  'keyIndex',
  /** milliseconds the request waited for a cooling key */
  'waitedMs',
] as const;

export type UsageBlob = (typeof USAGE_BLOBS)[number];
export type UsageDouble = (typeof USAGE_DOUBLES)[number];

/** The column of a blob field: `blob1` for `route`. */
export function blobColumn(field: UsageBlob): string {
  return `blob${USAGE_BLOBS.indexOf(field) + 1}`;
}

/** The column of a double field: `double1` for `status`. */
export function doubleColumn(field: UsageDouble): string {
  return `double${USAGE_DOUBLES.indexOf(field) + 1}`;
}

/** The column of the sampling key, the project label (empty when no key was used). */
export const USAGE_INDEX_COLUMN = 'index1';

/** One data point as `writeDataPoint` takes it. */
export interface UsageDataPoint {
  readonly blobs: readonly string[];
  readonly doubles: readonly number[];
  readonly indexes: readonly string[];
}

/** A data point's fields by name, before they are laid out in columns. */
export interface UsageFields {
  readonly project: string;
  readonly blobs: Readonly<Record<UsageBlob, string>>;
  readonly doubles: Readonly<Record<UsageDouble, number>>;
}

/** The fields laid out in their columns. */
export function usageDataPoint(fields: UsageFields): UsageDataPoint {
  return {
    blobs: USAGE_BLOBS.map((name) => fields.blobs[name]),
    doubles: USAGE_DOUBLES.map((name) => fields.doubles[name]),
    indexes: [fields.project],
  };
}

/** A data point read back by field name (the stand-in dataset's points, the SQL stand-in's rows). */
export function usageFieldsOf(point: UsageDataPoint): UsageFields {
  const blobs = Object.fromEntries(USAGE_BLOBS.map((name, i) => [name, point.blobs[i] ?? '']));
  const doubles = Object.fromEntries(USAGE_DOUBLES.map((name, i) => [name, point.doubles[i] ?? 0]));
  return {
    project: point.indexes[0] ?? '',
    blobs: blobs as Record<UsageBlob, string>,
    doubles: doubles as Record<UsageDouble, number>,
  };
}

/**
 * The timestamp (ms) of the last midnight in Google's quota time zone (Pacific time) at or before `now`: daily
 * quotas reset then, so "today" starts there.
 */
export function pacificMidnight(now: number): number {
  const candidate = now - pacificWallClockMs(now);
  // on the days the clocks change, the wall clock since midnight is an hour off the time elapsed
  const hour = Math.floor(pacificWallClockMs(candidate) / 3_600_000);
  if (hour === 23) return candidate + 3_600_000;
  if (hour === 1) return candidate - 3_600_000;
  return candidate;
}

const PACIFIC_CLOCK = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles',
  hourCycle: 'h23',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});

/** Milliseconds since midnight on the Pacific wall clock at `at`. */
function pacificWallClockMs(at: number): number {
  const parts = PACIFIC_CLOCK.formatToParts(new Date(at));
  const part = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return ((part('hour') * 60 + part('minute')) * 60 + part('second')) * 1000 + (((at % 1000) + 1000) % 1000);
}
