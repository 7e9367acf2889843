/**
 * The app's configuration, read from the environment in this one module and nowhere else.
 *
 * Secret values are never read here: API keys, the password and the client tokens reach Terraform only through
 * `TF_VAR_api_keys`, `TF_VAR_pass` and `TF_VAR_client_tokens` at plan/apply time. Every bad value fails synth with a
 * message naming the variable, the allowed values and the value received; the rules are the constructs' own
 * (`constructs/validate.ts`), named here for the variables, so a value synth accepts is one the constructs accept.
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
  WORKERS_PLANS,
  boundOptionalBindings,
  boundSurfaceBindings,
  maxKeysPerWorker,
  orchestratorScriptName,
  previewBoundKeyCount,
  previewScriptName,
  shardCount,
  shardScriptName,
  type GatewayStackProps,
  type PreviewStackProps,
  type ProdStackProps,
  type StateConfig,
  type WorkersPlan,
} from './constructs';
import * as rules from './constructs/validate';

/** Synth works on a bare machine with this many keys; deploying needs the real count. */
export const DEMO_KEY_COUNT = 20;
export const DEFAULT_STATE_KEY_PREFIX = 'zen-ai-router';
export const DEFAULT_STATE_REGION = 'auto';
export const DEFAULT_STATE_DIR = 'terraform-state';

/** What both stacks are built from, with the plan and the name prefix always chosen. */
export type StackSettings = GatewayStackProps & Required<Pick<GatewayStackProps, 'workersPlan' | 'namePrefix'>>;

/** What only the prod stack takes, besides the bundles. */
export type ProdSettings = Required<Pick<ProdStackProps, 'keysPerShard'>> &
  Pick<ProdStackProps, 'shardAttempts' | 'shardTimeoutMs'>;

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

/** Every variable {@link loadConfig} reads, for documentation and for tests that start from a clean env. */
export const CONFIG_VARIABLES = [
  'KEY_COUNT',
  'KEYS_PER_SHARD',
  'PR_NUMBER',
  'PREVIEW_KEY_LIMIT',
  'CLOUDFLARE_ACCOUNT_ID',
  'WORKERS_PLAN',
  'WORKER_NAME_PREFIX',
  'STATE_BUCKET',
  'STATE_ENDPOINT',
  'STATE_KEY_PREFIX',
  'STATE_REGION',
  'STATE_DIR',
  'GEMINI_BASE_URL',
  'UPSTREAM_TIMEOUT_MS',
  'MAX_WAIT_MS',
  'SHARD_ATTEMPTS',
  'SHARD_TIMEOUT_MS',
  'LOG_SAMPLING_RATE',
  'COMPATIBILITY_DATE',
  'WORKERS_DEV_SUBDOMAIN',
  'SMART_PLACEMENT',
  'ANTHROPIC_MODEL_MAP',
] as const;

/** The environment variables as `process.env` holds them. */
type ProcessEnv = Readonly<Record<string, string | undefined>>;

/**
 * Parses and validates the configuration.
 *
 * @param env - usually `process.env`; tests pass plain objects
 * @param cwd - base for a relative `STATE_DIR`, so the local state path is absolute in the synthesized JSON
 * @throws Error naming the variable, the allowed values and the value received
 */
export function loadConfig(env: ProcessEnv, cwd: string = process.cwd()): AppConfig {
  // CI systems often set a variable to "" to mean unset.
  const get = (name: (typeof CONFIG_VARIABLES)[number]): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  /** The variable's value as a number, once `rule` (named for the variable) accepts its text; undefined when unset. */
  const numberFrom = (
    name: (typeof CONFIG_VARIABLES)[number],
    rule: (field: string, raw: string) => rules.RuleResult,
  ): number | undefined => {
    const raw = get(name);
    if (raw === undefined) return undefined;
    rules.assertValid([rule(name, raw)]);
    return Number(raw);
  };
  const inRange = (min: number, max: number) => (field: string, raw: string) =>
    rules.integerInRange(field, raw, min, max);

  const rawPlan = get('WORKERS_PLAN') ?? 'free';
  rules.assertValid([rules.oneOf('WORKERS_PLAN', rawPlan, WORKERS_PLANS as readonly string[])]);
  const workersPlan = rawPlan as WorkersPlan;
  const planHint = workersPlan === 'free' ? ', or set WORKERS_PLAN=paid' : '';

  const givenKeyCount = numberFrom('KEY_COUNT', rules.positiveInteger);
  const keyCount = givenKeyCount ?? DEMO_KEY_COUNT;
  const keysPerShard = numberFrom('KEYS_PER_SHARD', rules.positiveInteger) ?? DEFAULT_KEYS_PER_SHARD;
  const prNumber = numberFrom('PR_NUMBER', rules.positiveInteger);
  const previewKeyLimit = numberFrom('PREVIEW_KEY_LIMIT', rules.positiveInteger);
  const namePrefix = get('WORKER_NAME_PREFIX') ?? DEFAULT_NAME_PREFIX;
  const anthropicModelMap = anthropicModelMapFrom(get('ANTHROPIC_MODEL_MAP'));
  // a prod shard binds SHARD_INDEX beside the surface bindings; each takes one environment variable from its keys
  const shardBindings = boundOptionalBindings({ anthropicModelMap, asShard: true });
  const mapHint = anthropicModelMap === undefined ? '' : ', or leave ANTHROPIC_MODEL_MAP unset';

  rules.assertValid([
    rules.keysPerWorker(
      'KEYS_PER_SHARD',
      get('KEYS_PER_SHARD') ?? keysPerShard,
      workersPlan,
      planHint + mapHint,
      shardBindings,
    ),
    rules.workersPerAccount(
      { keyCount: 'KEY_COUNT', keysPerShard: 'KEYS_PER_SHARD' },
      keyCount,
      keysPerShard,
      workersPlan,
      prNumber !== undefined,
      planHint,
    ),
  ]);
  // the longest names are the highest shard index and the preview, so checking those covers every worker.
  rules.assertValid([
    rules.scriptName(
      'WORKER_NAME_PREFIX (in the last shard name)',
      shardScriptName(namePrefix, shardCount(keyCount, keysPerShard) - 1),
    ),
    rules.scriptName('WORKER_NAME_PREFIX (in the orchestrator name)', orchestratorScriptName(namePrefix)),
    prNumber === undefined
      ? undefined
      : rules.scriptName(
          'WORKER_NAME_PREFIX and PR_NUMBER (in the preview worker name)',
          previewScriptName(namePrefix, prNumber),
        ),
  ]);

  const accountId = get('CLOUDFLARE_ACCOUNT_ID');
  rules.assertValid([
    accountId === undefined || /^[0-9a-f]{32}$/.test(accountId)
      ? undefined
      : `CLOUDFLARE_ACCOUNT_ID must be 32 lower-case hex characters (the account id shown in the dashboard), got ${rules.received(accountId)}`,
  ]);

  const geminiBaseUrl = get('GEMINI_BASE_URL');
  const compatibilityDate = get('COMPATIBILITY_DATE');
  const workersDevSubdomain = get('WORKERS_DEV_SUBDOMAIN');
  rules.assertValid([
    geminiBaseUrl === undefined ? undefined : rules.httpsBaseUrl('GEMINI_BASE_URL', geminiBaseUrl),
    compatibilityDate === undefined ? undefined : rules.compatibilityDate('COMPATIBILITY_DATE', compatibilityDate),
    workersDevSubdomain === undefined ? undefined : rules.dnsLabel('WORKERS_DEV_SUBDOMAIN', workersDevSubdomain),
  ]);

  const upstreamTimeoutMs = numberFrom(
    'UPSTREAM_TIMEOUT_MS',
    inRange(MIN_UPSTREAM_TIMEOUT_MS, MAX_UPSTREAM_TIMEOUT_MS),
  );
  const maxWaitMs = numberFrom('MAX_WAIT_MS', inRange(0, MAX_MAX_WAIT_MS));
  const shardTimeoutMs = numberFrom('SHARD_TIMEOUT_MS', inRange(MIN_SHARD_TIMEOUT_MS, MAX_SHARD_TIMEOUT_MS));
  // checked here as well as in ProdStack so the message names the variables, not the props.
  rules.assertValid([
    rules.shardTimeoutOutlastsShard(
      { shardTimeoutMs: 'SHARD_TIMEOUT_MS', upstreamTimeoutMs: 'UPSTREAM_TIMEOUT_MS', maxWaitMs: 'MAX_WAIT_MS' },
      {
        shardTimeoutMs: shardTimeoutMs ?? DEFAULT_SHARD_TIMEOUT_MS,
        upstreamTimeoutMs: upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
        maxWaitMs: maxWaitMs ?? DEFAULT_MAX_WAIT_MS,
      },
      get('SHARD_TIMEOUT_MS'),
    ),
  ]);

  const state = stateConfig(get, accountId, cwd);
  const shardAttempts = numberFrom('SHARD_ATTEMPTS', inRange(1, MAX_SHARD_ATTEMPTS));
  const logSamplingRate = numberFrom('LOG_SAMPLING_RATE', rules.samplingRate);
  const smartPlacement = booleanFlag('SMART_PLACEMENT', get('SMART_PLACEMENT'));
  return {
    stack: {
      keyCount,
      state,
      workersPlan,
      namePrefix,
      accountId,
      geminiBaseUrl,
      upstreamTimeoutMs,
      maxWaitMs,
      anthropicModelMap,
      logSamplingRate,
      compatibilityDate,
      workersDevSubdomain,
      smartPlacement,
    },
    prod: { keysPerShard, shardAttempts, shardTimeoutMs },
    preview: prNumber === undefined ? undefined : { prNumber, keyLimit: previewKeyLimit },
    keyCountIsDemo: givenKeyCount === undefined,
  };
}

/**
 * What synth should tell the user about the configuration it was given (main.ts writes each to stderr): values it
 * chose for them, and a preview holding fewer keys than `KEY_COUNT`.
 */
export function configNotices(config: AppConfig): string[] {
  const notices: string[] = [];
  const { keyCount, workersPlan } = config.stack;
  if (config.keyCountIsDemo) {
    notices.push(
      `KEY_COUNT is not set; synthesizing for ${DEMO_KEY_COUNT} demo keys. Set KEY_COUNT to the length of ` +
        'TF_VAR_api_keys before deploying, or the plan fails its api_keys validation.',
    );
  }
  if (config.preview !== undefined) {
    const { prNumber, keyLimit } = config.preview;
    const surfaceBindings = boundSurfaceBindings(config.stack);
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

function stateConfig(
  get: (name: (typeof CONFIG_VARIABLES)[number]) => string | undefined,
  accountId: string | undefined,
  cwd: string,
): StateConfig {
  const bucket = get('STATE_BUCKET');
  const endpoint = get('STATE_ENDPOINT');
  const keyPrefix = get('STATE_KEY_PREFIX') ?? DEFAULT_STATE_KEY_PREFIX;
  const region = get('STATE_REGION') ?? DEFAULT_STATE_REGION;
  if (bucket === undefined) {
    const remoteOnly = (['STATE_ENDPOINT', 'STATE_KEY_PREFIX', 'STATE_REGION'] as const).filter(
      (n) => get(n) !== undefined,
    );
    rules.assertValid([
      remoteOnly.length === 0
        ? undefined
        : `STATE_BUCKET must be set when ${remoteOnly.join(', ')} ${remoteOnly.length === 1 ? 'is' : 'are'} set (remote state needs a bucket), got nothing`,
    ]);
    return { kind: 'local', dir: resolve(cwd, get('STATE_DIR') ?? DEFAULT_STATE_DIR) };
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

/**
 * `ANTHROPIC_MODEL_MAP` as the prop takes it, once the worker's own parser accepts the text: a JSON object from Claude
 * model lines to Gemini model ids.
 */
function anthropicModelMapFrom(raw: string | undefined): Readonly<Record<string, string>> | undefined {
  if (raw === undefined) return undefined;
  rules.assertValid([rules.anthropicModelMap('ANTHROPIC_MODEL_MAP', raw)]);
  // the parser has checked it is an object of strings
  return JSON.parse(raw) as Record<string, string>;
}

/** `true` or `false` only: a typo such as `yes` or `1` must not silently mean either. */
function booleanFlag(name: string, raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new rules.ValidationError(`${name} must be true or false, got ${rules.received(raw)}`);
}
