import { Testing, TerraformStack } from 'cdktf';
import {
  Orchestrator,
  ShardWorker,
  type OrchestratorProps,
  type PreviewStackProps,
  type ProdStackProps,
  type ShardWorkerProps,
  type WorkersPlan,
} from '../../constructs';
import { utcToday } from '../../constructs/validate';
import { MAX_TAG_SHARD } from '../../workers/shared/owner-tag';
import { fixtureBundles } from '../fixtures/bundles';
import { previewStack, prodStack, secretInputs } from '../fixtures/synth';

function shard(props: Partial<ShardWorkerProps>): void {
  const stack = new TerraformStack(Testing.app(), 'test');
  new ShardWorker(stack, 'Shard', {
    ...secretInputs(stack),
    accountId: 'acc',
    scriptName: 'w-0',
    bundle: fixtureBundles.shard,
    firstKeyIndex: 0,
    keyCount: 1,
    ...props,
  });
}

function orchestrator(props: Partial<OrchestratorProps>): void {
  const stack = new TerraformStack(Testing.app(), 'test');
  new Orchestrator(stack, 'Orchestrator', {
    accountId: 'acc',
    scriptName: 'o',
    bundle: fixtureBundles.orchestrator,
    backends: [{ scriptName: 'w-0', keyCount: 1 }],
    ...props,
  });
}

function prod(props: Partial<ProdStackProps>): void {
  prodStack(props);
}

function preview(props: Partial<PreviewStackProps>): void {
  previewStack(props);
}

const FREE_ENV_VARS =
  'the free Workers plan allows 64 environment variables per worker, 5 of them taken by PASS, GEMINI_BASE_URL, UPSTREAM_TIMEOUT_MS, MAX_WAIT_MS, CLIENT_TOKENS';
// a prod shard's: the fixed bindings and SHARD_INDEX
const FREE_SHARD_ENV_VARS =
  'the free Workers plan allows 64 environment variables per worker, 6 of them taken by PASS, GEMINI_BASE_URL, UPSTREAM_TIMEOUT_MS, MAX_WAIT_MS, CLIENT_TOKENS, SHARD_INDEX';
const NAME_RULE = 'must be a worker name of 1 to 63 characters (lower-case letters, digits and inner hyphens)';

// every construct-level validation error, with its exact message
const cases: [string, () => void, string][] = [
  [
    'shard: workersPlan',
    () => shard({ workersPlan: 'gold' as WorkersPlan }),
    'workersPlan must be one of free, paid, got "gold"',
  ],
  [
    'shard: scriptName with an underscore',
    () => shard({ scriptName: 'worker_0' }),
    `scriptName ${NAME_RULE}, got "worker_0" (8 characters)`,
  ],
  [
    'shard: scriptName ending in a hyphen',
    () => shard({ scriptName: 'worker-' }),
    `scriptName ${NAME_RULE}, got "worker-" (7 characters)`,
  ],
  [
    'shard: scriptName over 63 characters',
    () => shard({ scriptName: 'w'.repeat(64) }),
    `scriptName ${NAME_RULE}, got "${'w'.repeat(64)}" (64 characters)`,
  ],
  ['shard: accountId empty', () => shard({ accountId: ' ' }), 'accountId must be a non-empty string, got " "'],
  [
    'shard: bundle hash',
    () => shard({ bundle: { ...fixtureBundles.shard, sha256: 'abc' } }),
    'bundle.sha256 must be 64 lower-case hex characters (a SHA-256), got "abc"',
  ],
  [
    'shard: firstKeyIndex negative',
    () => shard({ firstKeyIndex: -1 }),
    `firstKeyIndex must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got -1`,
  ],
  [
    'shard: keyCount 0',
    () => shard({ keyCount: 0 }),
    `keyCount must be an integer from 1 to 59 (${FREE_ENV_VARS}), got 0`,
  ],
  [
    'shard: keyCount over the free env-var limit',
    () => shard({ keyCount: 60 }),
    `keyCount must be an integer from 1 to 59 (${FREE_ENV_VARS}), got 60`,
  ],
  [
    'shard: keyCount over the paid env-var limit',
    () => shard({ keyCount: 124, workersPlan: 'paid' }),
    'keyCount must be an integer from 1 to 123 (the paid Workers plan allows 128 environment variables per worker, 5 of them taken by PASS, GEMINI_BASE_URL, UPSTREAM_TIMEOUT_MS, MAX_WAIT_MS, CLIENT_TOKENS), got 124',
  ],
  [
    'shard: keyCount over the free env-var limit less the ANTHROPIC_MODEL_MAP binding',
    () => shard({ keyCount: 59, anthropicModelMap: { opus: 'gemini-3.5-pro' } }),
    'keyCount must be an integer from 1 to 58 (the free Workers plan allows 64 environment variables per worker, 6 of them taken by PASS, GEMINI_BASE_URL, UPSTREAM_TIMEOUT_MS, MAX_WAIT_MS, CLIENT_TOKENS, ANTHROPIC_MODEL_MAP), got 59',
  ],
  [
    'shard: keyCount over the free env-var limit less the SHARD_INDEX binding',
    () => shard({ keyCount: 59, shardIndex: 0 }),
    `keyCount must be an integer from 1 to 58 (${FREE_SHARD_ENV_VARS}), got 59`,
  ],
  [
    'shard: shardIndex not an integer',
    () => shard({ shardIndex: 1.5 }),
    'shardIndex must be an integer from 0 to 999999, got 1.5',
  ],
  [
    'shard: shardIndex negative',
    () => shard({ shardIndex: -1 }),
    'shardIndex must be an integer from 0 to 999999, got -1',
  ],
  [
    'shard: shardIndex past what an owner tag can name',
    () => shard({ shardIndex: MAX_TAG_SHARD + 1 }),
    'shardIndex must be an integer from 0 to 999999, got 1000000',
  ],
  [
    'shard: anthropicModelMap with a key that is not a Claude line',
    () => shard({ anthropicModelMap: { 'Opus 5': 'gemini-3.5-pro' } }),
    'anthropicModelMap has the key "Opus 5"; keys are Claude model lines in lowercase letters (opus, sonnet, haiku, fable, mythos, …), got "{\\"Opus 5\\":\\"gemini-3.5-pro\\"}"',
  ],
  [
    'shard: anthropicModelMap with a value that is not a Gemini model id',
    () => shard({ anthropicModelMap: { haiku: 'models/../x' } }),
    'anthropicModelMap.haiku must be a Gemini model id of letters, digits, ".", "_" or "-" (e.g. "gemini-3.5-flash"), got "{\\"haiku\\":\\"models/../x\\"}"',
  ],
  [
    'prod: keysPerShard over the free env-var limit less the ANTHROPIC_MODEL_MAP binding',
    () => prod({ keysPerShard: 58, anthropicModelMap: {} }),
    'keysPerShard must be an integer from 1 to 57 (the free Workers plan allows 64 environment variables per worker, 7 of them taken by PASS, GEMINI_BASE_URL, UPSTREAM_TIMEOUT_MS, MAX_WAIT_MS, CLIENT_TOKENS, SHARD_INDEX, ANTHROPIC_MODEL_MAP), got 58',
  ],
  [
    'shard: geminiBaseUrl over http',
    () => shard({ geminiBaseUrl: 'http://generativelanguage.googleapis.com' }),
    'geminiBaseUrl must be an https:// URL without credentials, query, fragment or trailing slash (e.g. https://generativelanguage.googleapis.com), got "http://generativelanguage.googleapis.com"',
  ],
  [
    'shard: geminiBaseUrl with a trailing slash',
    () => shard({ geminiBaseUrl: 'https://proxy.example.com/' }),
    'geminiBaseUrl must be an https:// URL without credentials, query, fragment or trailing slash (e.g. https://generativelanguage.googleapis.com), got "https://proxy.example.com/"',
  ],
  [
    'shard: upstreamTimeoutMs',
    () => shard({ upstreamTimeoutMs: 999 }),
    'upstreamTimeoutMs must be an integer from 1000 to 600000, got 999',
  ],
  ['shard: maxWaitMs negative', () => shard({ maxWaitMs: -1 }), 'maxWaitMs must be an integer from 0 to 60000, got -1'],
  [
    'shard: maxWaitMs over a minute',
    () => shard({ maxWaitMs: 60_001 }),
    'maxWaitMs must be an integer from 0 to 60000, got 60001',
  ],
  [
    'shard: logSamplingRate 0',
    () => shard({ logSamplingRate: 0 }),
    'logSamplingRate must be a number greater than 0 and at most 1 (e.g. 0.1 for 10%), got 0',
  ],
  [
    'shard: logSamplingRate over 1',
    () => shard({ logSamplingRate: 1.5 }),
    'logSamplingRate must be a number greater than 0 and at most 1 (e.g. 0.1 for 10%), got 1.5',
  ],
  [
    'shard: compatibilityDate in the future',
    () => shard({ compatibilityDate: '2999-01-01' }),
    `compatibilityDate must be a date YYYY-MM-DD not after today (${utcToday()}), got "2999-01-01"`,
  ],
  [
    'shard: compatibilityDate malformed',
    () => shard({ compatibilityDate: '2025-13-01' }),
    `compatibilityDate must be a date YYYY-MM-DD not after today (${utcToday()}), got "2025-13-01"`,
  ],
  ['orchestrator: no backends', () => orchestrator({ backends: [] }), 'backends must hold at least one shard, got 0'],
  [
    'orchestrator: shardAttempts',
    () => orchestrator({ shardAttempts: 11 }),
    'shardAttempts must be an integer from 1 to 10, got 11',
  ],
  [
    'orchestrator: a backend keyCount that is not a count',
    () =>
      orchestrator({
        backends: [
          { scriptName: 'w-0', keyCount: 8 },
          { scriptName: 'w-1', keyCount: 2.5 },
        ],
      }),
    'backends[1].keyCount must be an integer from 0 to 999999, got 2.5',
  ],
  [
    'orchestrator: no backend with keys',
    () =>
      orchestrator({
        backends: [
          { scriptName: 'w-0', keyCount: 0 },
          { scriptName: 'w-1', keyCount: 0 },
        ],
      }),
    'backends must hold at least one shard with keys (keyCount above 0), got key counts 0, 0',
  ],
  [
    'orchestrator: shardTimeoutMs too low',
    () => orchestrator({ shardTimeoutMs: 999 }),
    'shardTimeoutMs must be an integer from 1000 to 900000, got 999',
  ],
  [
    'orchestrator: shardTimeoutMs fractional',
    () => orchestrator({ shardTimeoutMs: 1500.5 }),
    'shardTimeoutMs must be an integer from 1000 to 900000, got 1500.5',
  ],
  [
    'orchestrator: scriptName',
    () => orchestrator({ scriptName: 'Orchestrator' }),
    `scriptName ${NAME_RULE}, got "Orchestrator" (12 characters)`,
  ],
  ['prod: keyCount 0', () => prod({ keyCount: 0 }), 'keyCount must be a positive integer (1, 2, 3, ...), got 0'],
  [
    'prod: workersPlan',
    () => prod({ workersPlan: 'pro' as WorkersPlan }),
    'workersPlan must be one of free, paid, got "pro"',
  ],
  ['prod: namePrefix empty', () => prod({ namePrefix: '' }), 'namePrefix must be a non-empty string, got ""'],
  [
    'prod: namePrefix making names invalid',
    () => prod({ namePrefix: 'Zen' }),
    `scriptName ${NAME_RULE}, got "Zen-worker-0" (12 characters)`,
  ],
  [
    'prod: workersDevSubdomain',
    () => prod({ workersDevSubdomain: 'my_sub' }),
    'workersDevSubdomain must be a DNS label of 1 to 63 lower-case letters, digits and inner hyphens, got "my_sub"',
  ],
  [
    'prod: shardTimeoutMs not above the default upstream deadline',
    () => prod({ shardTimeoutMs: 300_000 }),
    "shardTimeoutMs must be greater than upstreamTimeoutMs + maxWaitMs (300000 + 0 = 300000) so the shard's own answer (its 504 for a slow Gemini) arrives first, got 300000",
  ],
  [
    'prod: upstreamTimeoutMs raised past the default shardTimeoutMs',
    () => prod({ upstreamTimeoutMs: 310_000 }),
    "shardTimeoutMs must be greater than upstreamTimeoutMs + maxWaitMs (310000 + 0 = 310000) so the shard's own answer (its 504 for a slow Gemini) arrives first, got 310000 (the default)",
  ],
  [
    'prod: maxWaitMs pushing the shards past the default shardTimeoutMs',
    () => prod({ maxWaitMs: 10_000 }),
    "shardTimeoutMs must be greater than upstreamTimeoutMs + maxWaitMs (300000 + 10000 = 310000) so the shard's own answer (its 504 for a slow Gemini) arrives first, got 310000 (the default)",
  ],
  [
    'prod: keysPerShard 0',
    () => prod({ keysPerShard: 0 }),
    `keysPerShard must be an integer from 1 to 58 (${FREE_SHARD_ENV_VARS}), got 0`,
  ],
  [
    'prod: keysPerShard over the env-var limit',
    () => prod({ keysPerShard: 59 }),
    `keysPerShard must be an integer from 1 to 58 (${FREE_SHARD_ENV_VARS}), got 59`,
  ],
  [
    'prod: more workers than the free plan allows',
    () => prod({ keyCount: 800, keysPerShard: 8 }),
    "keyCount and keysPerShard must need at most 100 workers (the free Workers plan's limit per account; raise keysPerShard or lower keyCount), got keyCount=800 and keysPerShard=8: 100 shards + the orchestrator = 101 workers",
  ],
  [
    'prod: more workers than the paid plan allows',
    () => prod({ keyCount: 500, keysPerShard: 1, workersPlan: 'paid' }),
    "keyCount and keysPerShard must need at most 500 workers (the paid Workers plan's limit per account; raise keysPerShard or lower keyCount), got keyCount=500 and keysPerShard=1: 500 shards + the orchestrator = 501 workers",
  ],
  ['preview: prNumber 0', () => preview({ prNumber: 0 }), 'prNumber must be a positive integer (1, 2, 3, ...), got 0'],
  ['preview: keyLimit 0', () => preview({ keyLimit: 0 }), 'keyLimit must be a positive integer (1, 2, 3, ...), got 0'],
  [
    'preview: name over 63 characters',
    () => preview({ namePrefix: 'a'.repeat(40), prNumber: 12345678 }),
    `scriptName ${NAME_RULE}, got "${'a'.repeat(40)}-worker-preview-12345678" (64 characters)`,
  ],
];

describe('construct validation', () => {
  test.each(cases)('%s', (_name, build, message) => {
    expect(build).toThrow(new Error(message));
  });

  test('the limits are inclusive: 59 keys per shard on free and 99 shards plus the orchestrator are accepted', () => {
    expect(() => shard({ keyCount: 59 })).not.toThrow();
    expect(() => shard({ keyCount: 58, anthropicModelMap: { opus: 'gemini-3.5-pro' } })).not.toThrow();
    expect(() => shard({ keyCount: 58, shardIndex: MAX_TAG_SHARD })).not.toThrow();
    expect(() => shard({ keyCount: 57, shardIndex: 0, anthropicModelMap: { opus: 'gemini-3.5-pro' } })).not.toThrow();
    expect(() => prod({ keysPerShard: 58 })).not.toThrow();
    expect(() => shard({ maxWaitMs: 0 })).not.toThrow();
    expect(() => shard({ maxWaitMs: 60_000 })).not.toThrow();
    expect(() => prod({ keyCount: 792, keysPerShard: 8 })).not.toThrow();
  });

  test('a shard deadline 1 ms above the upstream one is accepted, as are both timeout bounds', () => {
    expect(() => prod({ shardTimeoutMs: 300_001 })).not.toThrow();
    expect(() => prod({ maxWaitMs: 9_999 })).not.toThrow();
    expect(() => prod({ upstreamTimeoutMs: 1_000, shardTimeoutMs: 1_001 })).not.toThrow();
    expect(() => orchestrator({ shardTimeoutMs: 1_000 })).not.toThrow();
    expect(() => orchestrator({ shardTimeoutMs: 900_000 })).not.toThrow();
  });
});
