/**
 * The app's configuration, read from the environment in this one module and nowhere else.
 *
 * Secret values are never read here: API keys, the password and the client tokens reach Terraform only through
 * `TF_VAR_api_keys`, `TF_VAR_pass` and `TF_VAR_client_tokens` at plan/apply time. Every bad value fails synth with a
 * message naming the variable, the allowed values and the value received; the rules are the constructs' own
 * (`constructs/validate.ts`), named here for the variables, so a value synth accepts is one the constructs accept.
 *
 * `CONFIG_TABLE` holds one row per variable; `loadConfig` reads the rows in a loop, each checked by its own rule, then
 * runs the few rules that span variables as named steps. So when two variables are wrong, the one wrong by itself is
 * reported before a combination.
 */
import { resolve } from 'node:path';
import {
  DEFAULT_KEYS_PER_SHARD,
  DEFAULT_MAX_WAIT_MS,
  DEFAULT_NAME_PREFIX,
  DEFAULT_SHARD_TIMEOUT_MS,
  DEFAULT_UPSTREAM_TIMEOUT_MS,
  MAX_MAX_WAIT_MS,
  MAX_SHARD_ATTEMPTS,
  MAX_SHARD_TIMEOUT_MS,
  MAX_UPSTREAM_TIMEOUT_MS,
  MIN_SHARD_TIMEOUT_MS,
  MIN_UPSTREAM_TIMEOUT_MS,
  boundOptionalBindings,
  boundSurfaceBindings,
  describeLayout,
  maxKeysPerWorker,
  orchestratorScriptName,
  previewBoundKeyCount,
  previewScriptName,
  shardCount,
  shardLayoutOutput,
  shardScriptName,
  type GatewayStackProps,
  type PreviewStackProps,
  type ProdStackProps,
  type StateConfig,
  usageAlertFrom,
} from './constructs';
import * as rules from './constructs/validate';
import {
  accountIdProblem,
  anthropicModelMapFrom,
  booleanFlag,
  clientLimitsFrom,
  commaList,
  integerIn,
  keyProjectsFrom,
  number,
  positiveInteger,
  type Reader,
  text,
  usageDatasetFrom,
  workersPlanFrom,
} from './config-readers';
import { keyLayout } from './workers/shared/key-layout';

/** Synth works on a bare machine with this many keys; deploying needs the real count. */
export const DEMO_KEY_COUNT = 20;
export const DEFAULT_STATE_KEY_PREFIX = 'zen-ai-router';
export const DEFAULT_STATE_REGION = 'auto';
export const DEFAULT_STATE_DIR = 'terraform-state';

/** What both stacks are built from, with the plan and the name prefix always chosen. */
export type StackSettings = GatewayStackProps & Required<Pick<GatewayStackProps, 'workersPlan' | 'namePrefix'>>;

/** What only the prod stack takes, besides the bundles. */
export type ProdSettings = Required<Pick<ProdStackProps, 'keysPerShard'>> &
  Pick<ProdStackProps, 'shardAttempts' | 'shardTimeoutMs' | 'usageAlert'>;

/** What only a preview stack takes, besides the bundle. */
export type PreviewSettings = Pick<PreviewStackProps, 'prNumber' | 'keyLimit'>;

/** The configuration, shaped as the stacks' props so main.ts passes each part through as it is. */
export interface AppConfig {
  readonly stack: StackSettings;
  readonly prod: ProdSettings;
  /** the preview stack to synthesize beside prod; undefined when PR_NUMBER is unset */
  readonly preview: PreviewSettings | undefined;
  /** true when KEY_COUNT was unset and {@link DEMO_KEY_COUNT} is used; main.ts prints a notice. */
  readonly keyCountIsDemo: boolean;
}

/** The state variables as given; the `stateConfig` step checks them together and makes the {@link StateConfig}. */
interface StateVariables {
  readonly stateBucket?: string;
  readonly stateEndpoint?: string;
  readonly stateKeyPrefix?: string;
  readonly stateRegion?: string;
  readonly stateDir?: string;
}

/** The stack settings before the `stateConfig` step, as the steps that span variables check them. */
type StackWithoutState = Omit<StackSettings, 'state'>;

/** One value per variable: what {@link loadConfig}'s loop reads before the steps that span variables. */
type ConfigValues = StackWithoutState &
  Omit<ProdSettings, 'usageAlert'> &
  Partial<PreviewSettings> &
  StateVariables &
  AlertVariables;

/** The usage alert's variables as given; `usageAlertFrom` makes the prod stack's `usageAlert` of them. */
interface AlertVariables {
  readonly alertEmails?: readonly string[];
  readonly alertWebhookIds?: readonly string[];
  readonly alertRequests?: number;
}

/**
 * How a row turns its variable's text into the prop's value, or throws a {@link rules.ValidationError} naming the
 * variable. The rules are the constructs' own, named for the variable.
 */

/** One environment variable: how its text is read, and the value when it is unset (else undefined). */
interface Row<T> {
  readonly env: string;
  readonly read: Reader<T>;
  readonly fallback?: T;
}

/** A row for every prop of T, keyed by the prop, in the order the variables are checked. */
type Rows<T> = { readonly [P in keyof T]-?: Row<NonNullable<T[P]>> };

/**
 * The configuration table: every variable synth reads, keyed by the prop it sets, in the order they are checked; each
 * row's own rule runs in the loop of {@link loadConfig}, and the rules that span variables are the named steps after
 * it. Every prop not taken out for prod, the preview or the state is a stack setting, so a new shard setting is one
 * row here.
 */
const CONFIG_TABLE = {
  workersPlan: { env: 'WORKERS_PLAN', read: workersPlanFrom, fallback: 'free' },
  keyCount: { env: 'KEY_COUNT', read: positiveInteger, fallback: DEMO_KEY_COUNT },
  keysPerShard: { env: 'KEYS_PER_SHARD', read: positiveInteger, fallback: DEFAULT_KEYS_PER_SHARD },
  keyProjects: { env: 'KEY_PROJECTS', read: keyProjectsFrom },
  prNumber: { env: 'PR_NUMBER', read: positiveInteger },
  keyLimit: { env: 'PREVIEW_KEY_LIMIT', read: positiveInteger },
  namePrefix: { env: 'WORKER_NAME_PREFIX', read: text(), fallback: DEFAULT_NAME_PREFIX },
  anthropicModelMap: { env: 'ANTHROPIC_MODEL_MAP', read: anthropicModelMapFrom },
  clientLimits: { env: 'CLIENT_LIMITS', read: clientLimitsFrom },
  usageDataset: { env: 'USAGE_DATASET', read: usageDatasetFrom },
  accountId: { env: 'CLOUDFLARE_ACCOUNT_ID', read: text(accountIdProblem) },
  geminiBaseUrl: { env: 'GEMINI_BASE_URL', read: text(rules.httpsBaseUrl) },
  compatibilityDate: { env: 'COMPATIBILITY_DATE', read: text(rules.compatibilityDate) },
  workersDevSubdomain: { env: 'WORKERS_DEV_SUBDOMAIN', read: text(rules.dnsLabel) },
  upstreamTimeoutMs: { env: 'UPSTREAM_TIMEOUT_MS', read: integerIn(MIN_UPSTREAM_TIMEOUT_MS, MAX_UPSTREAM_TIMEOUT_MS) },
  maxWaitMs: { env: 'MAX_WAIT_MS', read: integerIn(0, MAX_MAX_WAIT_MS) },
  shardTimeoutMs: { env: 'SHARD_TIMEOUT_MS', read: integerIn(MIN_SHARD_TIMEOUT_MS, MAX_SHARD_TIMEOUT_MS) },
  // checked together by the stateConfig step
  stateBucket: { env: 'STATE_BUCKET', read: text() },
  stateEndpoint: { env: 'STATE_ENDPOINT', read: text() },
  stateKeyPrefix: { env: 'STATE_KEY_PREFIX', read: text() },
  stateRegion: { env: 'STATE_REGION', read: text() },
  stateDir: { env: 'STATE_DIR', read: text() },
  shardAttempts: { env: 'SHARD_ATTEMPTS', read: integerIn(1, MAX_SHARD_ATTEMPTS) },
  logSamplingRate: { env: 'LOG_SAMPLING_RATE', read: number(rules.samplingRate) },
  smartPlacement: { env: 'SMART_PLACEMENT', read: booleanFlag },
  // checked together by usageAlertFrom
  alertEmails: { env: 'ALERT_EMAILS', read: commaList },
  alertWebhookIds: { env: 'ALERT_WEBHOOK_IDS', read: commaList },
  alertRequests: { env: 'ALERT_REQUESTS', read: positiveInteger },
} as const satisfies Rows<ConfigValues>;

/** The name of a variable {@link loadConfig} reads. */
export type ConfigVariable = (typeof CONFIG_TABLE)[keyof typeof CONFIG_TABLE]['env'];

/** Every variable {@link loadConfig} reads, for documentation and for tests that start from a clean env. */
export const CONFIG_VARIABLES: readonly ConfigVariable[] = Object.values(CONFIG_TABLE).map((row) => row.env);

/** The environment variables as `process.env` holds them. */
type ProcessEnv = Readonly<Record<string, string | undefined>>;

/** A variable's text, trimmed; undefined when unset or blank, since CI systems often set "" to mean unset. */
type Get = (name: ConfigVariable) => string | undefined;

/**
 * Parses and validates the configuration: each variable by its row's rule, in table order, then the rules that
 * span variables.
 *
 * @param env - usually `process.env`; tests pass plain objects
 * @param cwd - base for a relative `STATE_DIR`, so the local state path is absolute in the synthesized JSON
 * @throws Error naming the variable, the allowed values and the value received
 */
export function loadConfig(env: ProcessEnv, cwd: string = process.cwd()): AppConfig {
  const get: Get = (name) => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const { keysPerShard, shardAttempts, shardTimeoutMs, prNumber, keyLimit, ...rest } = readRows(CONFIG_TABLE, get);
  const { stateBucket, stateEndpoint, stateKeyPrefix, stateRegion, stateDir, keyProjects, ...withAlert } = rest;
  const { alertEmails, alertWebhookIds, alertRequests, clientLimits, usageDataset, ...others } = withAlert;
  // each prop is absent when its setting is unset, so such a configuration is exactly what it was before it
  const settings = {
    ...others,
    ...(keyProjects === undefined ? {} : { keyProjects }),
    ...(clientLimits === undefined ? {} : { clientLimits }),
    ...(usageDataset === undefined ? {} : { usageDataset }),
  };
  const usageAlert = usageAlertFrom(
    { emails: alertEmails, webhookIds: alertWebhookIds, requests: alertRequests },
    settings.workersPlan,
    { emails: 'ALERT_EMAILS', webhookIds: 'ALERT_WEBHOOK_IDS', requests: 'ALERT_REQUESTS', plan: 'WORKERS_PLAN' },
  );
  // the key only when an alert is configured, so a configuration without one is exactly what it was before
  const prod = { keysPerShard, shardAttempts, shardTimeoutMs, ...(usageAlert === undefined ? {} : { usageAlert }) };
  assertProjectsPerKey(settings);
  assertWorkersFit(settings, prod, prNumber, get);
  assertNamesFit(settings, prod, prNumber);
  assertShardDeadline(settings, prod, get);
  const state = stateConfig(
    { stateBucket, stateEndpoint, stateKeyPrefix, stateRegion, stateDir },
    settings.accountId,
    cwd,
  );
  return {
    stack: { ...settings, state },
    prod,
    preview: prNumber === undefined ? undefined : { prNumber, keyLimit },
    keyCountIsDemo: get('KEY_COUNT') === undefined,
  };
}

/** The loop: each row's value from its variable, or its fallback when the variable is unset. */
function readRows(rows: Rows<ConfigValues>, get: Get): ConfigValues {
  const values: Record<string, unknown> = {};
  for (const [prop, row] of Object.entries<Row<unknown>>(rows)) {
    // the rows are CONFIG_TABLE's, whose names make up ConfigVariable
    const raw = get(row.env as ConfigVariable);
    values[prop] = raw === undefined ? row.fallback : row.read(row.env, raw);
  }
  // every prop has a row (Rows<ConfigValues>), and a required one has a fallback
  return values as unknown as ConfigValues;
}

/** One project label per key, checked once KEY_COUNT is known. */
function assertProjectsPerKey({ keyProjects, keyCount }: StackWithoutState): void {
  if (keyProjects === undefined) return;
  const fields = { keyProjects: 'KEY_PROJECTS', keyCount: 'KEY_COUNT' };
  rules.assertValid([rules.projectsPerKey(fields, keyProjects, keyCount)]);
}

/** Keys per shard within the plan's env-var limit, and every worker within the plan's limit per account. */
function assertWorkersFit(stack: StackWithoutState, prod: ProdSettings, prNumber: number | undefined, get: Get): void {
  const { workersPlan, keyCount, anthropicModelMap, keyProjects, clientLimits } = stack;
  const planHint = workersPlan === 'free' ? ', or set WORKERS_PLAN=paid' : '';
  // a prod shard binds SHARD_INDEX beside the setting and layout bindings; each takes one environment variable
  const shardBindings = boundOptionalBindings({ anthropicModelMap, clientLimits, keyProjects, asShard: true });
  const optional = boundSurfaceBindings({ anthropicModelMap, clientLimits });
  const mapHint = optional.length === 0 ? '' : `, or leave ${optional.join(' or ')} unset`;
  rules.assertValid([
    rules.keysPerWorker(
      'KEYS_PER_SHARD',
      get('KEYS_PER_SHARD') ?? prod.keysPerShard,
      workersPlan,
      planHint + mapHint,
      shardBindings,
    ),
    rules.workersPerAccount(
      { keyCount: 'KEY_COUNT', keysPerShard: 'KEYS_PER_SHARD' },
      keyCount,
      prod.keysPerShard,
      workersPlan,
      prNumber !== undefined,
      planHint,
      keyProjects,
    ),
  ]);
}

/** Every worker name is a DNS label: the longest are the highest shard index and the preview, so those cover all. */
function assertNamesFit(stack: StackWithoutState, prod: ProdSettings, prNumber: number | undefined): void {
  const { namePrefix, keyCount, keyProjects } = stack;
  rules.assertValid([
    rules.scriptName(
      'WORKER_NAME_PREFIX (in the last shard name)',
      shardScriptName(namePrefix, shardCount(keyCount, prod.keysPerShard, keyProjects) - 1),
    ),
    rules.scriptName('WORKER_NAME_PREFIX (in the orchestrator name)', orchestratorScriptName(namePrefix)),
    prNumber === undefined
      ? undefined
      : rules.scriptName(
          'WORKER_NAME_PREFIX and PR_NUMBER (in the preview worker name)',
          previewScriptName(namePrefix, prNumber),
        ),
  ]);
}

/** Checked here as well as in ProdStack so the message names the variables, not the props. */
function assertShardDeadline(stack: StackWithoutState, prod: ProdSettings, get: Get): void {
  rules.assertValid([
    rules.shardTimeoutOutlastsShard(
      { shardTimeoutMs: 'SHARD_TIMEOUT_MS', upstreamTimeoutMs: 'UPSTREAM_TIMEOUT_MS', maxWaitMs: 'MAX_WAIT_MS' },
      {
        shardTimeoutMs: prod.shardTimeoutMs ?? DEFAULT_SHARD_TIMEOUT_MS,
        upstreamTimeoutMs: stack.upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
        maxWaitMs: stack.maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
      },
      get('SHARD_TIMEOUT_MS'),
    ),
  ]);
}

/**
 * What synth should tell the user about the configuration it was given (main.ts writes each to stderr): values it
 * chose for them, the layout of the keys' projects over the shards, and a preview holding fewer keys than `KEY_COUNT`.
 */
export function configNotices(config: AppConfig): string[] {
  const notices: string[] = [];
  const { keyCount, workersPlan, keyProjects, namePrefix } = config.stack;
  if (config.keyCountIsDemo) {
    notices.push(
      `KEY_COUNT is not set; synthesizing for ${DEMO_KEY_COUNT} demo keys. Set KEY_COUNT to the length of ` +
        'TF_VAR_api_keys before deploying, or the plan fails its api_keys validation.',
    );
  }
  if (keyProjects !== undefined) {
    const layout = keyLayout(keyProjects, keyCount, config.prod.keysPerShard);
    const lines = describeLayout(shardLayoutOutput(layout, (i) => shardScriptName(namePrefix, i)));
    notices.push(`KEY_PROJECTS places ${lines.join('\n  ')}`);
  }
  if (config.preview !== undefined) {
    const { prNumber, keyLimit } = config.preview;
    const surfaceBindings = boundOptionalBindings({ ...config.stack, asShard: false });
    const bound = previewBoundKeyCount(keyCount, workersPlan, keyLimit, surfaceBindings);
    if (bound < keyCount) {
      const beside = surfaceBindings.length === 0 ? '' : ` beside ${surfaceBindings.join(', ')}`;
      const why =
        keyLimit !== undefined && keyLimit === bound
          ? `PREVIEW_KEY_LIMIT=${keyLimit}`
          : `one worker on the ${workersPlan} Workers plan holds at most ${maxKeysPerWorker(workersPlan, surfaceBindings)} keys${beside}`;
      notices.push(
        `the preview-${prNumber} worker holds the first ${bound} of the ${keyCount} keys (${why}); ` +
          `TF_VAR_api_keys must still hold all ${keyCount}, and prod uses every key.`,
      );
    }
  }
  return notices;
}

/** Local state unless STATE_BUCKET is set; remote state needs an endpoint, given or from the account id. */
function stateConfig(given: StateVariables, accountId: string | undefined, cwd: string): StateConfig {
  const { stateBucket: bucket, stateEndpoint: endpoint } = given;
  const keyPrefix = given.stateKeyPrefix ?? DEFAULT_STATE_KEY_PREFIX;
  const region = given.stateRegion ?? DEFAULT_STATE_REGION;
  if (bucket === undefined) {
    const remoteOnly = (['stateEndpoint', 'stateKeyPrefix', 'stateRegion'] as const)
      .filter((prop) => given[prop] !== undefined)
      .map((prop) => CONFIG_TABLE[prop].env);
    rules.assertValid([
      remoteOnly.length === 0
        ? undefined
        : `STATE_BUCKET must be set when ${remoteOnly.join(', ')} ${remoteOnly.length === 1 ? 'is' : 'are'} set (remote state needs a bucket), got nothing`,
    ]);
    return { kind: 'local', dir: resolve(cwd, given.stateDir ?? DEFAULT_STATE_DIR) };
  }
  rules.assertValid([
    /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket)
      ? undefined
      : `STATE_BUCKET must be an R2 bucket name (3 to 63 lower-case letters, digits and inner hyphens), got ${rules.received(bucket)}`,
    endpoint !== undefined || accountId !== undefined
      ? undefined
      : 'STATE_ENDPOINT must be set when STATE_BUCKET is set and CLOUDFLARE_ACCOUNT_ID is not (the default is https://<CLOUDFLARE_ACCOUNT_ID>.r2.cloudflarestorage.com), got nothing',
    endpoint === undefined ? undefined : rules.httpsBaseUrl('STATE_ENDPOINT', endpoint),
    /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(keyPrefix)
      ? undefined
      : `STATE_KEY_PREFIX must be slash-separated segments of letters, digits, ".", "_" and "-" without leading or trailing slash, got ${rules.received(keyPrefix)}`,
    /^[a-z0-9-]+$/.test(region)
      ? undefined
      : `STATE_REGION must be a region name such as auto (R2) or us-east-1, got ${rules.received(region)}`,
  ]);
  return {
    kind: 's3',
    bucket,
    endpoint: endpoint ?? `https://${accountId}.r2.cloudflarestorage.com`,
    keyPrefix,
    region,
  };
}
