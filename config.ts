/**
 * The app's configuration, read from the environment in this one module and nowhere else.
 *
 * Secret values are never read here: API keys, the password and the client tokens reach Terraform only through
 * `TF_VAR_api_keys`, `TF_VAR_pass` and `TF_VAR_client_tokens` at plan/apply time. Every bad value fails synth with a message naming the variable, the allowed
 * values and the value received.
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
  PLAN_LIMITS,
  WORKERS_PLANS,
  maxKeysPerWorker,
  orchestratorScriptName,
  previewBoundKeyCount,
  previewScriptName,
  shardCount,
  shardScriptName,
  type StateConfig,
  type WorkersPlan,
} from './constructs';
import * as rules from './constructs/validate';

/** Synth works on a bare machine with this many keys; deploying needs the real count. */
export const DEMO_KEY_COUNT = 20;
export const DEFAULT_STATE_KEY_PREFIX = 'zen-ai-router';
export const DEFAULT_STATE_REGION = 'auto';
export const DEFAULT_STATE_DIR = 'terraform-state';

export interface AppConfig {
  readonly keyCount: number;
  /** true when KEY_COUNT was unset and {@link DEMO_KEY_COUNT} is used; main.ts prints a notice. */
  readonly keyCountIsDemo: boolean;
  readonly keysPerShard: number;
  readonly prNumber: number | undefined;
  /** PREVIEW_KEY_LIMIT: most keys the preview worker binds */
  readonly previewKeyLimit: number | undefined;
  readonly accountId: string | undefined;
  readonly workersPlan: WorkersPlan;
  readonly namePrefix: string;
  readonly state: StateConfig;
  readonly geminiBaseUrl: string | undefined;
  readonly upstreamTimeoutMs: number | undefined;
  readonly maxWaitMs: number | undefined;
  readonly shardAttempts: number | undefined;
  readonly shardTimeoutMs: number | undefined;
  readonly logSamplingRate: number | undefined;
  readonly compatibilityDate: string | undefined;
  readonly workersDevSubdomain: string | undefined;
  readonly smartPlacement: boolean | undefined;
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
] as const;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses and validates the configuration.
 *
 * @param env - usually `process.env`; tests pass plain objects
 * @param cwd - base for a relative `STATE_DIR`, so the local state path is absolute in the synthesized JSON
 * @throws Error naming the variable, the allowed values and the value received
 */
export function loadConfig(env: Env, cwd: string = process.cwd()): AppConfig {
  // CI systems often set a variable to "" to mean unset.
  const get = (name: (typeof CONFIG_VARIABLES)[number]): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };

  const rawPlan = get('WORKERS_PLAN') ?? 'free';
  rules.assertValid([rules.oneOf('WORKERS_PLAN', rawPlan, WORKERS_PLANS as readonly string[])]);
  const workersPlan = rawPlan as WorkersPlan;
  const limits = PLAN_LIMITS[workersPlan];

  const rawKeyCount = get('KEY_COUNT');
  const keyCount = rawKeyCount === undefined ? DEMO_KEY_COUNT : positiveInteger('KEY_COUNT', rawKeyCount);
  const rawKeysPerShard = get('KEYS_PER_SHARD');
  const keysPerShard =
    rawKeysPerShard === undefined ? DEFAULT_KEYS_PER_SHARD : positiveInteger('KEYS_PER_SHARD', rawKeysPerShard);
  const rawPr = get('PR_NUMBER');
  const prNumber = rawPr === undefined ? undefined : positiveInteger('PR_NUMBER', rawPr);
  const rawPreviewKeyLimit = get('PREVIEW_KEY_LIMIT');
  const previewKeyLimit =
    rawPreviewKeyLimit === undefined ? undefined : positiveInteger('PREVIEW_KEY_LIMIT', rawPreviewKeyLimit);
  const namePrefix = get('WORKER_NAME_PREFIX') ?? DEFAULT_NAME_PREFIX;

  const maxKeys = maxKeysPerWorker(workersPlan);
  const shards = shardCount(keyCount, keysPerShard);
  const workers = shards + 1 + (prNumber === undefined ? 0 : 1);
  const planHint = workersPlan === 'free' ? ', or set WORKERS_PLAN=paid' : '';
  rules.assertValid([
    keysPerShard <= maxKeys
      ? undefined
      : `KEYS_PER_SHARD must be an integer from 1 to ${maxKeys} (${rules.envVarLimitReason(workersPlan)})${planHint}, got "${rawKeysPerShard}"`,
    workers <= limits.workersPerAccount
      ? undefined
      : `KEY_COUNT and KEYS_PER_SHARD must need at most ${limits.workersPerAccount} workers (the ${workersPlan} Workers ` +
        `plan's limit per account; raise KEYS_PER_SHARD or lower KEY_COUNT${planHint}), got KEY_COUNT=${keyCount} and ` +
        `KEYS_PER_SHARD=${keysPerShard}: ${shards} shards + the orchestrator${prNumber === undefined ? '' : ' + the preview'} = ${workers} workers`,
  ]);
  // the longest names are the highest shard index and the preview, so checking those covers every worker.
  rules.assertValid([
    rules.scriptName('WORKER_NAME_PREFIX (in the last shard name)', shardScriptName(namePrefix, shards - 1)),
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
  const upstreamTimeout = get('UPSTREAM_TIMEOUT_MS');
  const rawMaxWait = get('MAX_WAIT_MS');
  const shardAttempts = get('SHARD_ATTEMPTS');
  const rawShardTimeout = get('SHARD_TIMEOUT_MS');
  const logSamplingRate = get('LOG_SAMPLING_RATE');
  const compatibilityDate = get('COMPATIBILITY_DATE');
  const workersDevSubdomain = get('WORKERS_DEV_SUBDOMAIN');
  rules.assertValid([
    geminiBaseUrl === undefined ? undefined : rules.httpsBaseUrl('GEMINI_BASE_URL', geminiBaseUrl),
    compatibilityDate === undefined ? undefined : rules.compatibilityDate('COMPATIBILITY_DATE', compatibilityDate),
    workersDevSubdomain === undefined ? undefined : rules.dnsLabel('WORKERS_DEV_SUBDOMAIN', workersDevSubdomain),
  ]);

  const upstreamTimeoutMs =
    upstreamTimeout === undefined
      ? undefined
      : integer('UPSTREAM_TIMEOUT_MS', upstreamTimeout, MIN_UPSTREAM_TIMEOUT_MS, MAX_UPSTREAM_TIMEOUT_MS);
  const maxWaitMs = rawMaxWait === undefined ? undefined : integer('MAX_WAIT_MS', rawMaxWait, 0, MAX_MAX_WAIT_MS);
  const shardTimeoutMs =
    rawShardTimeout === undefined
      ? undefined
      : integer('SHARD_TIMEOUT_MS', rawShardTimeout, MIN_SHARD_TIMEOUT_MS, MAX_SHARD_TIMEOUT_MS);
  // a shard may wait MAX_WAIT_MS for a key and then UPSTREAM_TIMEOUT_MS for Gemini; at or below that sum the
  // orchestrator's generic 504 always wins the race and hides the shard's own 504 (which says Gemini was slow), so
  // the combination is rejected here rather than silently misbehaving in production.
  const effectiveUpstream = upstreamTimeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const effectiveWait = maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const effectiveShard = shardTimeoutMs ?? DEFAULT_SHARD_TIMEOUT_MS;
  rules.assertValid([
    effectiveShard > effectiveUpstream + effectiveWait
      ? undefined
      : `SHARD_TIMEOUT_MS must be greater than UPSTREAM_TIMEOUT_MS + MAX_WAIT_MS (${effectiveUpstream} + ${effectiveWait} = ` +
        `${effectiveUpstream + effectiveWait}) so the shard's own answer (its 504 for a slow Gemini) arrives first, got ` +
        (rawShardTimeout === undefined ? `${effectiveShard} (the default)` : rules.received(rawShardTimeout)),
  ]);

  return {
    keyCount,
    keyCountIsDemo: rawKeyCount === undefined,
    keysPerShard,
    prNumber,
    previewKeyLimit,
    accountId,
    workersPlan,
    namePrefix,
    state: stateConfig(get, accountId, cwd),
    geminiBaseUrl,
    upstreamTimeoutMs,
    maxWaitMs,
    shardAttempts:
      shardAttempts === undefined ? undefined : integer('SHARD_ATTEMPTS', shardAttempts, 1, MAX_SHARD_ATTEMPTS),
    shardTimeoutMs,
    logSamplingRate: logSamplingRate === undefined ? undefined : samplingRate(logSamplingRate),
    compatibilityDate,
    workersDevSubdomain,
    smartPlacement: booleanFlag('SMART_PLACEMENT', get('SMART_PLACEMENT')),
  };
}

/**
 * What synth should tell the user about the configuration it was given (main.ts writes each to stderr): values it
 * chose for them, and a preview holding fewer keys than `KEY_COUNT`.
 */
export function configNotices(config: AppConfig): string[] {
  const notices: string[] = [];
  if (config.keyCountIsDemo) {
    notices.push(
      `KEY_COUNT is not set; synthesizing for ${DEMO_KEY_COUNT} demo keys. Set KEY_COUNT to the length of ` +
        'TF_VAR_api_keys before deploying, or the plan fails its api_keys validation.',
    );
  }
  if (config.prNumber !== undefined) {
    const bound = previewBoundKeyCount(config.keyCount, config.workersPlan, config.previewKeyLimit);
    if (bound < config.keyCount) {
      const why =
        config.previewKeyLimit !== undefined && config.previewKeyLimit === bound
          ? `PREVIEW_KEY_LIMIT=${config.previewKeyLimit}`
          : `one worker on the ${config.workersPlan} Workers plan holds at most ${maxKeysPerWorker(config.workersPlan)} keys`;
      notices.push(
        `the preview-${config.prNumber} worker holds the first ${bound} of the ${config.keyCount} keys (${why}); ` +
          `TF_VAR_api_keys must still hold all ${config.keyCount}, and prod uses every key.`,
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

function positiveInteger(name: string, raw: string): number {
  if (/^[1-9][0-9]*$/.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  throw new rules.ValidationError(`${name} must be a positive integer (1, 2, 3, ...), got ${rules.received(raw)}`);
}

function integer(name: string, raw: string, min: number, max: number): number {
  const value = /^-?[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isSafeInteger(value) && value >= min && value <= max) return value;
  throw new rules.ValidationError(`${name} must be an integer from ${min} to ${max}, got ${rules.received(raw)}`);
}

/** `true` or `false` only: a typo such as `yes` or `1` must not silently mean either. */
function booleanFlag(name: string, raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new rules.ValidationError(`${name} must be true or false, got ${rules.received(raw)}`);
}

function samplingRate(raw: string): number {
  const value = /^[0-9]*\.?[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (value > 0 && value <= 1) return value;
  throw new rules.ValidationError(
    `LOG_SAMPLING_RATE must be a number greater than 0 and at most 1 (e.g. 0.1 for 10%), got ${rules.received(raw)}`,
  );
}
