import { Token, ref, type TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import type { WorkersScriptBindings } from '@cdktf/provider-cloudflare/lib/workers-script';
import type { WorkerBundle } from './worker-bundle';
import {
  ANTHROPIC_MODEL_MAP_BINDING,
  CLIENT_TOKENS_BINDING,
  DEFAULT_COMPATIBILITY_DATE,
  DEFAULT_GEMINI_BASE_URL,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  GEMINI_BASE_URL_BINDING,
  KEY_PROJECTS_BINDING,
  KEYS_PER_SHARD_BINDING,
  MAX_MAX_WAIT_MS,
  MAX_UPSTREAM_TIMEOUT_MS,
  MAX_WAIT_MS_BINDING,
  MIN_UPSTREAM_TIMEOUT_MS,
  PASS_BINDING,
  SHARD_INDEX_BINDING,
  UPSTREAM_TIMEOUT_MS_BINDING,
  keyBindingName,
} from '../workers/shared/contract';
import { DEFAULT_USAGE_DATASET, USAGE_BINDING } from '../workers/shared/usage-schema';
import { clientTokensBindingText } from './client-tokens';
import { clientLimiterWiring, type ClientLimitsSetting } from './client-limits';
import { WORKERS_PLANS, boundOptionalBindings, type WorkersPlan } from './limits';
import * as rules from './validate';
import { DEFAULT_LOG_SAMPLING_RATE, createWorkerScript, type WorkerScriptResources } from './worker-script';

/** Largest `shardIndex`: the contract's `BACKEND_SERVICE_<n>` bound, which owner tags share (`MAX_TAG_SHARD`). */
const MAX_SHARD_INDEX = 999_999;

export interface ShardWorkerProps {
  /** Cloudflare account that owns the worker (a string or a Terraform variable reference). */
  readonly accountId: string;

  /** Worker script name; also its workers.dev label, so at most 63 DNS characters. */
  readonly scriptName: string;

  /** The bundled shard worker (`buildWorkerBundles().shard`). */
  readonly bundle: WorkerBundle;

  /**
   * The sensitive `list(string)` Terraform variable holding every API key.
   *
   * The shard binds `keyCount` consecutive elements starting at `firstKeyIndex` as `KEY1..KEY<keyCount>`; the
   * values never pass through TypeScript.
   */
  readonly apiKeys: TerraformVariable;

  /** 0-based index into `apiKeys` of this shard's `KEY1`. */
  readonly firstKeyIndex: number;

  /** How many keys this shard holds. */
  readonly keyCount: number;

  /**
   * The 0-based indexes into `apiKeys` of `KEY1..KEY<keyCount>`, one per key, when the keys are not the consecutive
   * run from `firstKeyIndex` (the prod stack places a project's keys together, see `keyLayout`).
   *
   * @default - `firstKeyIndex .. firstKeyIndex + keyCount - 1`
   */
  readonly keyIndexes?: readonly number[];

  /**
   * The pool's layout as the workers recompute it: every key's project label (the whole pool's, in key order) and
   * the keys per shard it was computed with, bound as the plain-text `KEY_PROJECTS` ("a,a,b") and `KEYS_PER_SHARD`
   * after every other binding. Two environment variables, so a worker holds two keys fewer.
   *
   * @default - none: every key is its own project
   */
  readonly layout?: ShardLayoutBindings;

  /** The sensitive string Terraform variable holding the client password, bound as `PASS`. */
  readonly pass: TerraformVariable;

  /**
   * The sensitive `map(string)` Terraform variable of named client tokens (see `declareClientTokens`), bound as one
   * secret, `CLIENT_TOKENS = jsonencode(var.client_tokens)`; any token authenticates like `PASS`.
   */
  readonly clientTokens: TerraformVariable;

  /**
   * Upstream base URL, bound as `GEMINI_BASE_URL`.
   *
   * @default 'https://generativelanguage.googleapis.com'
   */
  readonly geminiBaseUrl?: string;

  /**
   * How long the worker waits for upstream response headers before answering 504, bound as `UPSTREAM_TIMEOUT_MS`.
   *
   * @default 300000 - long enough for a non-streamed thinking model's answer
   */
  readonly upstreamTimeoutMs?: number;

  /**
   * How long a request may wait, in ms, for the earliest cooling key when every key that could serve it is cooling,
   * instead of being refused, bound as `MAX_WAIT_MS` (0..60000). The worker never waits past a client disconnect.
   *
   * @default 0 - refuse at once, so the orchestrator can try another shard
   */
  readonly maxWaitMs?: number;

  /**
   * Claude model lines to Gemini model ids for the Anthropic routes (`{ opus: 'gemini-3.5-pro' }`), bound as the
   * plain-text `ANTHROPIC_MODEL_MAP` (JSON) on every shard worker; lines left out keep the worker's defaults. The
   * binding takes one environment variable, so a worker holds one key fewer.
   *
   * @default - none: no binding, the worker's defaults (opus, fable, mythos → gemini-3.8-flash, sonnet →
   * gemini-3.5-flash, haiku → gemini-3.5-flash-lite)
   */
  readonly anthropicModelMap?: Readonly<Record<string, string>>;

  /**
   * Per-client request rates: client name to `{ rpm, burst? }` (requests a minute on average, and at most `burst` at
   * once, default `rpm`), bound as the plain-text `CLIENT_LIMITS` (JSON) with the `CLIENT_LIMITER` Durable Object
   * namespace that counts each limited client's requests across isolates (see `./client-limits`). A limited client
   * over its rate gets 429 with `retry-after`; the binding takes one environment variable, so a worker holds one key
   * fewer. The names are checked against `client_tokens` at plan: each needs a token.
   *
   * @default - none: no client has a limit, and no request costs a Durable Object call
   */
  readonly clientLimits?: ClientLimitsSetting;

  /**
   * The script name (a reference, so Terraform deploys it first) of the shard that hosts the `ClientRateLimiter`
   * class, whose namespace this worker binds; only read with `clientLimits`.
   *
   * @default - this worker hosts the class: it declares the class's migration and binds its own namespace
   */
  readonly clientLimiterHost?: string;

  /**
   * This worker's index as a shard behind the orchestrator, the n of the orchestrator's `BACKEND_SERVICE_<n>` that
   * reaches it (0..999999), bound as the plain-text `SHARD_INDEX`: the worker names it in the owner tag of every
   * resource it hands out (files, cached contents, batches, …), so the orchestrator can send a request naming one back
   * to it. The binding takes one environment variable, so a shard holds one key fewer.
   *
   * @default - none: the worker stands alone (the preview): it tags resources as shard 0
   */
  readonly shardIndex?: number;

  /**
   * The Workers Analytics Engine dataset the worker writes a usage data point to for each request it answers, bound
   * as `USAGE` (see docs/operations.md for the data point's fields); `false` binds none and meters nothing. A dataset
   * binding is not an environment variable, so it costs no key.
   *
   * @default 'zen_ai_router_usage'
   */
  readonly usageDataset?: string | false;

  /**
   * Whether the worker answers on `<scriptName>.<subdomain>.workers.dev`.
   *
   * @default false - prod shards are reachable only through the orchestrator's service bindings
   */
  readonly publicOnWorkersDev?: boolean;

  /**
   * Share of requests recorded in Workers Logs (0 < rate <= 1).
   *
   * @default 1 - every request: failures must be findable and a small gateway stays inside the included volume
   */
  readonly logSamplingRate?: number;

  /**
   * Workers runtime compatibility date, `YYYY-MM-DD`, not in the future.
   *
   * @default '2026-04-20'
   */
  readonly compatibilityDate?: string;

  /**
   * Which plan's env-var limit to check `keyCount` against.
   *
   * @default 'free'
   */
  readonly workersPlan?: WorkersPlan;

  /**
   * Run the worker where Cloudflare's Smart Placement finds the lowest latency to its upstream (Google) instead of
   * in the data center that received the request (`placement = { mode = "smart" }`).
   *
   * @default false - the worker runs where the request arrived
   */
  readonly smartPlacement?: boolean;
}

/** What a worker is told of the pool's layout (see {@link ShardWorkerProps.layout}). */
export interface ShardLayoutBindings {
  readonly keyProjects: readonly string[];
  readonly keysPerShard: number;
}

/** The layout's two plain-text bindings, in binding order; the orchestrator binds the same. */
export function layoutBindings(layout: ShardLayoutBindings | undefined): WorkersScriptBindings[] {
  if (layout === undefined) return [];
  return [
    { name: KEY_PROJECTS_BINDING, type: 'plain_text', text: layout.keyProjects.join(',') },
    { name: KEYS_PER_SHARD_BINDING, type: 'plain_text', text: String(layout.keysPerShard) },
  ];
}

/**
 * The props that are settings of the deployment rather than of one worker: a stack takes them once
 * (`GatewayStackProps` extends {@link ShardSettings}) and passes them unchanged to each of its shard workers, and
 * `config.ts` reads each from one environment variable. A new shard setting is a prop above plus its name here.
 */
export const SHARD_SETTING_NAMES = [
  'geminiBaseUrl',
  'upstreamTimeoutMs',
  'maxWaitMs',
  'anthropicModelMap',
  'clientLimits',
  'usageDataset',
  'logSamplingRate',
  'compatibilityDate',
  'smartPlacement',
] as const satisfies readonly (keyof ShardWorkerProps)[];

/** The settings every shard worker of a stack shares; see {@link SHARD_SETTING_NAMES}. */
export type ShardSettings = Pick<ShardWorkerProps, (typeof SHARD_SETTING_NAMES)[number]>;

/** Just the shard settings out of a larger props object (a stack's), to spread into each {@link ShardWorker}. */
export function shardSettingsOf(props: ShardSettings): ShardSettings {
  return Object.fromEntries(SHARD_SETTING_NAMES.map((name) => [name, props[name]])) as ShardSettings;
}

/**
 * One shard worker holding a slice of the API keys as secret bindings.
 *
 * Bindings are emitted in a fixed order (`KEY1..KEYk`, `PASS`, `GEMINI_BASE_URL`, `UPSTREAM_TIMEOUT_MS`,
 * `MAX_WAIT_MS`, `CLIENT_TOKENS`, then `SHARD_INDEX` when `shardIndex` is given, then `ANTHROPIC_MODEL_MAP` when given,
 * then the `USAGE` dataset unless `usageDataset` is false, then `KEY_PROJECTS` and `KEYS_PER_SHARD` when `layout` is
 * given, then `CLIENT_LIMITS` and `CLIENT_LIMITER` when `clientLimits` is given) so the provider never sees a
 * reordering as a change. `SHARD_INDEX` comes before the surface bindings because a
 * shard always binds it, so setting or unsetting a surface setting later moves no other binding.
 *
 * @example
 * new ShardWorker(shards, '0', {
 *   accountId: accountId.stringValue, scriptName: 'zen-ai-router-worker-0', bundle: bundles.shard,
 *   apiKeys, firstKeyIndex: 0, keyCount: 8, pass, clientTokens,
 * });
 */
export class ShardWorker extends Construct {
  /** The script name as a Terraform reference, so dependants are ordered after this worker. */
  public readonly scriptName: string;
  /** How many keys this worker binds; the orchestrator's weight for it. */
  public readonly keyCount: number;
  public readonly resources: WorkerScriptResources;

  constructor(scope: Construct, id: string, props: ShardWorkerProps) {
    super(scope, id);
    const settings = settingsInEffect(props);
    assertValidShard(props, settings);
    const limiter = clientLimiterWiring(this, props, props.clientLimits, props.clientLimiterHost);
    this.resources = createWorkerScript(this, {
      accountId: props.accountId,
      scriptName: props.scriptName,
      bundle: props.bundle,
      bindings: [...shardBindings(props, settings), ...limiter.bindings],
      ...(limiter.migrations === undefined ? {} : { migrations: limiter.migrations }),
      publicOnWorkersDev: props.publicOnWorkersDev ?? false,
      logSamplingRate: settings.logSamplingRate,
      compatibilityDate: settings.compatibilityDate,
      smartPlacement: props.smartPlacement ?? false,
    });
    this.scriptName = this.resources.script.scriptName;
    this.keyCount = props.keyCount;
  }
}

/** The optional props a shard worker binds or checks, with their defaults applied; the model map as its JSON text. */
interface SettingsInEffect {
  readonly plan: WorkersPlan;
  readonly geminiBaseUrl: string;
  readonly upstreamTimeoutMs: number;
  readonly maxWaitMs: number;
  readonly logSamplingRate: number;
  readonly compatibilityDate: string;
  readonly anthropicModelMap: string | undefined;
  readonly usageDataset: string | false;
}

function settingsInEffect(props: ShardWorkerProps): SettingsInEffect {
  return {
    plan: props.workersPlan ?? 'free',
    geminiBaseUrl: props.geminiBaseUrl ?? DEFAULT_GEMINI_BASE_URL,
    upstreamTimeoutMs: props.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
    maxWaitMs: props.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
    logSamplingRate: props.logSamplingRate ?? DEFAULT_LOG_SAMPLING_RATE,
    compatibilityDate: props.compatibilityDate ?? DEFAULT_COMPATIBILITY_DATE,
    anthropicModelMap: props.anthropicModelMap === undefined ? undefined : JSON.stringify(props.anthropicModelMap),
    usageDataset: props.usageDataset ?? DEFAULT_USAGE_DATASET,
  };
}

/** Throws the first problem: the plan on its own, since the key-count rule depends on it. */
function assertValidShard(props: ShardWorkerProps, settings: SettingsInEffect): void {
  const { plan, anthropicModelMap } = settings;
  const optionalBindings = boundOptionalBindings({
    ...props,
    asShard: props.shardIndex !== undefined,
    keyProjects: props.layout?.keyProjects,
  });
  rules.assertValid([rules.oneOf('workersPlan', plan, WORKERS_PLANS)]);
  rules.assertValid([
    rules.scriptName('scriptName', props.scriptName),
    rules.nonEmpty('accountId', props.accountId),
    rules.sha256Hex('bundle.sha256', props.bundle.sha256),
    rules.integerInRange('firstKeyIndex', props.firstKeyIndex, 0, Number.MAX_SAFE_INTEGER),
    props.shardIndex === undefined
      ? undefined
      : rules.integerInRange('shardIndex', props.shardIndex, 0, MAX_SHARD_INDEX),
    rules.keysPerWorker('keyCount', props.keyCount, plan, '', optionalBindings),
    keyIndexesProblem(props),
    props.layout === undefined ? undefined : rules.projectLabels('layout.keyProjects', props.layout.keyProjects),
    props.layout === undefined ? undefined : rules.positiveInteger('layout.keysPerShard', props.layout.keysPerShard),
    rules.httpsBaseUrl('geminiBaseUrl', settings.geminiBaseUrl),
    rules.integerInRange(
      'upstreamTimeoutMs',
      settings.upstreamTimeoutMs,
      MIN_UPSTREAM_TIMEOUT_MS,
      MAX_UPSTREAM_TIMEOUT_MS,
    ),
    rules.integerInRange('maxWaitMs', settings.maxWaitMs, 0, MAX_MAX_WAIT_MS),
    rules.samplingRate('logSamplingRate', settings.logSamplingRate),
    rules.compatibilityDate('compatibilityDate', settings.compatibilityDate),
    anthropicModelMap === undefined ? undefined : rules.anthropicModelMap('anthropicModelMap', anthropicModelMap),
    settings.usageDataset === false ? undefined : rules.usageDataset('usageDataset', settings.usageDataset),
    props.clientLimits === undefined
      ? undefined
      : rules.clientLimits('clientLimits', JSON.stringify(props.clientLimits)),
  ]);
}

/** `keyIndexes`, when given: one index into `apiKeys` per key, each a distinct integer from 0. */
function keyIndexesProblem(props: ShardWorkerProps): rules.RuleResult {
  const indexes = props.keyIndexes;
  if (indexes === undefined) return undefined;
  const wellFormed =
    indexes.every((i) => Number.isSafeInteger(i) && i >= 0) && new Set(indexes).size === indexes.length;
  if (indexes.length === props.keyCount && wellFormed) return undefined;
  return (
    `keyIndexes must hold keyCount (${props.keyCount}) distinct integers from 0 (indexes into apiKeys), got ` +
    `[${indexes.join(', ')}]`
  );
}

/** Where `KEY<j+1>` comes from in `apiKeys`. */
function keyIndexOf(props: ShardWorkerProps, j: number): number {
  return props.keyIndexes?.[j] ?? props.firstKeyIndex + j;
}

/** Every binding in the order the class comment gives. */
function shardBindings(props: ShardWorkerProps, settings: SettingsInEffect): WorkersScriptBindings[] {
  const { anthropicModelMap } = settings;
  const keyBindings = Array.from(
    { length: props.keyCount },
    (_, j): WorkersScriptBindings => ({
      name: keyBindingName(j + 1),
      type: 'secret_text',
      text: Token.asString(ref(`${props.apiKeys.fqn}[${keyIndexOf(props, j)}]`)),
    }),
  );
  return [
    ...keyBindings,
    { name: PASS_BINDING, type: 'secret_text', text: props.pass.stringValue },
    { name: GEMINI_BASE_URL_BINDING, type: 'plain_text', text: settings.geminiBaseUrl },
    { name: UPSTREAM_TIMEOUT_MS_BINDING, type: 'plain_text', text: String(settings.upstreamTimeoutMs) },
    { name: MAX_WAIT_MS_BINDING, type: 'plain_text', text: String(settings.maxWaitMs) },
    // last, so adding it moved no existing binding
    { name: CLIENT_TOKENS_BINDING, type: 'secret_text', text: clientTokensBindingText(props.clientTokens) },
    ...(props.shardIndex === undefined
      ? []
      : [{ name: SHARD_INDEX_BINDING, type: 'plain_text', text: String(props.shardIndex) }]),
    // the surface bindings after every fixed one, so setting or unsetting one moves no other binding
    ...(anthropicModelMap === undefined
      ? []
      : [{ name: ANTHROPIC_MODEL_MAP_BINDING, type: 'plain_text', text: anthropicModelMap }]),
    // not an environment variable; after the settings' bindings, and before the layout, which stays last
    ...(settings.usageDataset === false
      ? []
      : [{ name: USAGE_BINDING, type: 'analytics_engine', dataset: settings.usageDataset }]),
    // last: set or unset, the layout moves no other binding
    ...layoutBindings(props.layout),
  ];
}
