/**
 * Metering: one data point in Workers Analytics Engine (the `USAGE` binding) for each request the shard worker
 * answers, laid out by `../../shared/usage-schema`: route, model, client, key and project, status, error code,
 * attempts, latency and Google's token counts. A whole reply is metered when its response leaves; a stream when its
 * last byte has (its last chunk carries the usage), through the `StreamMeter` its surface hands back
 * (`./stream-meter`).
 *
 * Metering never fails or slows a request: `writeDataPoint` returns at once (the runtime sends the point later), no
 * binding means no metering, and any exception is swallowed and counted; the count rides on later request lines
 * (`meterErrors`). No field holds a key, a password or a token: keys are named by number, clients by name, and a
 * model id that contains a secret (or anything shaped like a Google API key) is written as `[redacted]`.
 */
import { USAGE_BINDING, type UsageDataPoint, type UsageFields, usageDataPoint } from '../../shared/usage-schema';
import type { ShardConfig, ShardEnv } from '../edge/bindings';
import { type LineFacts, secretsOf } from '../surfaces/contract';
import { projectOfKey } from './key-projects';
import type { StreamEnd, Usage } from './stream-meter';
import type { TokenCounts } from './usage-tokens';

/** The part of an Analytics Engine dataset binding the worker uses. */
export interface UsageDataset {
  writeDataPoint(point: UsageDataPoint): void;
}

/** The `USAGE` binding, when the worker has one. */
export function usageDatasetOf(env: ShardEnv): UsageDataset | undefined {
  // not a text binding, so it is read through a view of the env that holds any value
  const value = (env as Readonly<Record<string, unknown>>)[USAGE_BINDING];
  const candidate = value as Partial<UsageDataset> | null | undefined;
  return typeof candidate?.writeDataPoint === 'function' ? (candidate as UsageDataset) : undefined;
}

/** What the edge knows of a request once it is answered. */
export interface MeteredRequest {
  readonly route: string;
  /** `pass` or a client token's name; absent before the credential was checked */
  readonly client?: string;
  /** absent when the request was refused before the configuration was read */
  readonly config?: ShardConfig;
  /** the configuration's secrets, when the edge has them already (see `secretsOf`) */
  readonly secrets?: readonly string[];
  readonly line: LineFacts;
  /** until the response headers */
  readonly ms: number;
  readonly usage?: Usage;
}

// module scope: the isolate's count of data points that could not be written
let failures = 0;

/** Data points this isolate failed to write (an exception from the binding, or from building the point). */
export function meterFailures(): number {
  return failures;
}

function write(dataset: UsageDataset, build: () => UsageDataPoint): void {
  try {
    dataset.writeDataPoint(build());
  } catch {
    failures++;
  }
}

/**
 * Writes the request's data point: now, or when its stream ends (`now` gives the time then). Never throws; returns
 * how many points this isolate has failed to write so far, for the request line.
 */
export function meterRequest(env: ShardEnv, request: MeteredRequest, now: () => number, started: number): number {
  try {
    const dataset = usageDatasetOf(env);
    if (dataset === undefined) return failures;
    const usage = request.usage;
    if (usage?.kind === 'stream') {
      usage.ended.then(
        (end) => write(dataset, () => usageDataPoint(usageFields(request, end, now() - started))),
        () => failures++,
      );
    } else {
      const end: StreamEnd =
        usage?.tokens === undefined ? { how: 'complete' } : { how: 'complete', tokens: usage.tokens };
      write(dataset, () => usageDataPoint(usageFields(request, end, request.ms)));
    }
  } catch {
    failures++;
  }
  return failures;
}

const NO_TOKENS: TokenCounts = { prompt: 0, output: 0, cached: 0, thinking: 0, total: 0 };

/** Why a stream that began with a 200 ended early, in the error blob. */
const STREAM_END_ERRORS: Readonly<Record<StreamEnd['how'], string | undefined>> = {
  complete: undefined,
  cut: 'upstream_stream_interrupted',
  cancelled: 'client_disconnected',
};

/** The data point's fields, by name. */
export function usageFields(request: MeteredRequest, end: StreamEnd, totalMs: number): UsageFields {
  const { line, config } = request;
  const keyed = keyFacts(config, line.keyIndex);
  const tokens = end.tokens ?? NO_TOKENS;
  const delivery = line.status === 101 ? 'live' : request.usage?.kind === 'stream' ? 'stream' : 'whole';
  return {
    project: keyed.project,
    blobs: {
      route: request.route,
      model: shownModel(line.model, config, request.secrets),
      client: request.client ?? '',
      key: keyed.key,
      error: line.error ?? STREAM_END_ERRORS[end.how] ?? '',
      delivery,
    },
    doubles: {
      status: line.status,
      upstreamStatus: line.upstreamStatus ?? 0,
      attempts: line.attempts,
      ms: request.ms,
      totalMs,
      promptTokens: tokens.prompt,
      outputTokens: tokens.output,
      cachedTokens: tokens.cached,
      thinkingTokens: tokens.thinking,
      totalTokens: tokens.total,
      globalKey: keyed.globalKey,
      shard: config?.shardIndex ?? -1,
      keyIndex: line.keyIndex ?? 0,
      waitedMs: line.waitedMs ?? 0,
    },
  };
}

/**
 * What a Google API key looks like (`AIza` and 35 more): a shard knows only its own keys, and a model id built from
 * another shard's must not be written either.
 */
const GOOGLE_KEY_SHAPE = /AIza[0-9A-Za-z_-]{30,}/;

/** The model as the log line has it; a client may put anything in a model field, so a secret is never written. */
function shownModel(model: string | undefined, config: ShardConfig | undefined, known?: readonly string[]): string {
  if (model === undefined) return '';
  const secrets = known ?? (config === undefined ? [] : secretsOf(config));
  const secret = GOOGLE_KEY_SHAPE.test(model) || secrets.some((s) => s !== '' && model.includes(s));
  return secret ? '[redacted]' : model;
}

/**
 * The key's label, project and global number. A worker that knows the layout (`KEY_PROJECTS`), stands alone, or is
 * the first shard (its `KEY<n>` is global key n) says `KEY13`; another shard without the layout cannot, and says
 * `shard1:KEY3`. Without declared projects each key is its own project, named like the key (`key13`).
 */
export function keyFacts(
  config: ShardConfig | undefined,
  keyIndex: number | undefined,
): { readonly key: string; readonly project: string; readonly globalKey: number } {
  if (config === undefined || keyIndex === undefined) return { key: '', project: '', globalKey: 0 };
  // without the layout the keys lie in order, shard by shard: the first shard's KEY<n> (or a lone worker's) is key n
  const first = (config.shardIndex ?? 0) === 0;
  const global =
    config.projects !== undefined ? config.projects.globalKeys.get(keyIndex) : first ? keyIndex : undefined;
  const local = `shard${config.shardIndex ?? 0}:`;
  const key = global === undefined ? `${local}KEY${keyIndex}` : `KEY${global}`;
  const declared = config.projects === undefined ? undefined : projectOfKey(config.projects, keyIndex)?.label;
  const project = declared ?? (global === undefined ? `${local}key${keyIndex}` : `key${global}`);
  return { key, project, globalKey: global ?? 0 };
}
