import { DEMO_KEY_COUNT, configNotices, loadConfig } from '../../config';
import { utcToday } from '../../constructs/validate';

const ACCOUNT = '0123456789abcdef0123456789abcdef';
const load = (env: Record<string, string>) => loadConfig(env, '/repo');

describe('loadConfig', () => {
  test('an empty environment gives a synthesizable demo configuration with local state and no preview', () => {
    expect(load({})).toStrictEqual({
      stack: {
        keyCount: DEMO_KEY_COUNT,
        state: { kind: 'local', dir: '/repo/terraform-state' },
        workersPlan: 'free',
        namePrefix: 'zen-ai-router',
        accountId: undefined,
        geminiBaseUrl: undefined,
        upstreamTimeoutMs: undefined,
        maxWaitMs: undefined,
        anthropicModelMap: undefined,
        logSamplingRate: undefined,
        compatibilityDate: undefined,
        workersDevSubdomain: undefined,
        smartPlacement: undefined,
      },
      prod: { keysPerShard: 8, shardAttempts: undefined, shardTimeoutMs: undefined },
      preview: undefined,
      keyCountIsDemo: true,
    });
  });

  test('every variable set', () => {
    expect(
      load({
        KEY_COUNT: '40',
        KEYS_PER_SHARD: '10',
        PR_NUMBER: '42',
        PREVIEW_KEY_LIMIT: '12',
        CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
        WORKERS_PLAN: 'paid',
        WORKER_NAME_PREFIX: 'gw',
        STATE_BUCKET: 'tf-state',
        STATE_KEY_PREFIX: 'teams/gw',
        GEMINI_BASE_URL: 'https://proxy.example.com/google',
        UPSTREAM_TIMEOUT_MS: '30000',
        MAX_WAIT_MS: '2000',
        SHARD_ATTEMPTS: '2',
        SHARD_TIMEOUT_MS: '40000',
        LOG_SAMPLING_RATE: '0.25',
        COMPATIBILITY_DATE: '2025-10-01',
        WORKERS_DEV_SUBDOMAIN: 'acme',
        SMART_PLACEMENT: 'true',
        ANTHROPIC_MODEL_MAP: '{"opus":"gemini-3.5-pro"}',
      }),
    ).toStrictEqual({
      stack: {
        keyCount: 40,
        state: {
          kind: 's3',
          bucket: 'tf-state',
          endpoint: `https://${ACCOUNT}.r2.cloudflarestorage.com`,
          keyPrefix: 'teams/gw',
          region: 'auto',
        },
        workersPlan: 'paid',
        namePrefix: 'gw',
        accountId: ACCOUNT,
        geminiBaseUrl: 'https://proxy.example.com/google',
        upstreamTimeoutMs: 30000,
        maxWaitMs: 2000,
        anthropicModelMap: { opus: 'gemini-3.5-pro' },
        logSamplingRate: 0.25,
        compatibilityDate: '2025-10-01',
        workersDevSubdomain: 'acme',
        smartPlacement: true,
      },
      prod: { keysPerShard: 10, shardAttempts: 2, shardTimeoutMs: 40000 },
      preview: { prNumber: 42, keyLimit: 12 },
      keyCountIsDemo: false,
    });
  });

  test('empty and blank values count as unset, the way CI passes absent variables', () => {
    expect(load({ KEY_COUNT: '', PR_NUMBER: '  ', STATE_BUCKET: '' })).toMatchObject({
      stack: { keyCount: DEMO_KEY_COUNT, state: { kind: 'local' } },
      preview: undefined,
    });
  });

  test('names up to 63 characters are accepted', () => {
    expect(load({ WORKER_NAME_PREFIX: 'z'.repeat(50) }).stack.namePrefix).toHaveLength(50);
  });

  test('an explicit STATE_ENDPOINT and STATE_REGION win; a relative STATE_DIR is made absolute', () => {
    expect(
      load({ STATE_BUCKET: 'b-1', STATE_ENDPOINT: 'https://s3.example.com', STATE_REGION: 'eu-west-1' }).stack.state,
    ).toEqual({
      kind: 's3',
      bucket: 'b-1',
      endpoint: 'https://s3.example.com',
      keyPrefix: 'zen-ai-router',
      region: 'eu-west-1',
    });
    expect(load({ STATE_DIR: 'state/here' }).stack.state).toEqual({ kind: 'local', dir: '/repo/state/here' });
  });

  test('SMART_PLACEMENT=false is an explicit off, distinct from unset', () => {
    expect(load({ SMART_PLACEMENT: 'false' }).stack.smartPlacement).toBe(false);
  });
});

const NAME_RULE = 'must be a worker name of 1 to 63 characters (lower-case letters, digits and inner hyphens)';
// a prod shard's: the fixed bindings and SHARD_INDEX
const FREE_SHARD_ENV_VARS =
  'the free Workers plan allows 64 environment variables per worker, 6 of them taken by PASS, GEMINI_BASE_URL, UPSTREAM_TIMEOUT_MS, MAX_WAIT_MS, CLIENT_TOKENS, SHARD_INDEX';

// every invalid configuration, with the exact message synth fails with
const invalid: [Record<string, string>, string][] = [
  [{ KEY_COUNT: '0' }, 'KEY_COUNT must be a positive integer (1, 2, 3, ...), got "0"'],
  [{ KEY_COUNT: 'twenty' }, 'KEY_COUNT must be a positive integer (1, 2, 3, ...), got "twenty"'],
  [{ KEY_COUNT: '2.5' }, 'KEY_COUNT must be a positive integer (1, 2, 3, ...), got "2.5"'],
  [{ KEY_COUNT: '-4' }, 'KEY_COUNT must be a positive integer (1, 2, 3, ...), got "-4"'],
  [{ KEYS_PER_SHARD: '0' }, 'KEYS_PER_SHARD must be a positive integer (1, 2, 3, ...), got "0"'],
  [{ PR_NUMBER: 'abc' }, 'PR_NUMBER must be a positive integer (1, 2, 3, ...), got "abc"'],
  [{ PR_NUMBER: '0' }, 'PR_NUMBER must be a positive integer (1, 2, 3, ...), got "0"'],
  [
    { PR_NUMBER: '99999999999999999999' },
    'PR_NUMBER must be a positive integer (1, 2, 3, ...), got "99999999999999999999"',
  ],
  [{ WORKERS_PLAN: 'enterprise' }, 'WORKERS_PLAN must be one of free, paid, got "enterprise"'],
  [
    { KEYS_PER_SHARD: '59' },
    `KEYS_PER_SHARD must be an integer from 1 to 58 (${FREE_SHARD_ENV_VARS}), or set WORKERS_PLAN=paid, got "59"`,
  ],
  [
    { KEYS_PER_SHARD: '123', WORKERS_PLAN: 'paid' },
    'KEYS_PER_SHARD must be an integer from 1 to 122 (the paid Workers plan allows 128 environment variables per worker, 6 of them taken by PASS, GEMINI_BASE_URL, UPSTREAM_TIMEOUT_MS, MAX_WAIT_MS, CLIENT_TOKENS, SHARD_INDEX), got "123"',
  ],
  [
    { KEYS_PER_SHARD: '58', ANTHROPIC_MODEL_MAP: '{"opus":"gemini-3.5-pro"}' },
    'KEYS_PER_SHARD must be an integer from 1 to 57 (the free Workers plan allows 64 environment variables per worker, 7 of them taken by PASS, GEMINI_BASE_URL, UPSTREAM_TIMEOUT_MS, MAX_WAIT_MS, CLIENT_TOKENS, SHARD_INDEX, ANTHROPIC_MODEL_MAP), or set WORKERS_PLAN=paid, or leave ANTHROPIC_MODEL_MAP unset, got "58"',
  ],
  [
    { ANTHROPIC_MODEL_MAP: '{"opus":' },
    'ANTHROPIC_MODEL_MAP is not JSON; expected an object such as {"opus":"gemini-3.8-flash"}, got "{\\"opus\\":"',
  ],
  [
    { ANTHROPIC_MODEL_MAP: '["gemini-3.5-pro"]' },
    'ANTHROPIC_MODEL_MAP must be a JSON object from Claude model lines (opus, sonnet, …) to Gemini model ids, got "[\\"gemini-3.5-pro\\"]"',
  ],
  [
    { ANTHROPIC_MODEL_MAP: '{"Sonnet":"gemini-3.5-flash"}' },
    'ANTHROPIC_MODEL_MAP has the key "Sonnet"; keys are Claude model lines in lowercase letters (opus, sonnet, haiku, fable, mythos, …), got "{\\"Sonnet\\":\\"gemini-3.5-flash\\"}"',
  ],
  [
    { ANTHROPIC_MODEL_MAP: '{"opus":42}' },
    'ANTHROPIC_MODEL_MAP.opus must be a Gemini model id of letters, digits, ".", "_" or "-" (e.g. "gemini-3.5-flash"), got "{\\"opus\\":42}"',
  ],
  [{ PREVIEW_KEY_LIMIT: '0' }, 'PREVIEW_KEY_LIMIT must be a positive integer (1, 2, 3, ...), got "0"'],
  [{ PREVIEW_KEY_LIMIT: 'all' }, 'PREVIEW_KEY_LIMIT must be a positive integer (1, 2, 3, ...), got "all"'],
  [
    { KEY_COUNT: '800' },
    "KEY_COUNT and KEYS_PER_SHARD must need at most 100 workers (the free Workers plan's limit per account; raise KEYS_PER_SHARD or lower KEY_COUNT, or set WORKERS_PLAN=paid), got KEY_COUNT=800 and KEYS_PER_SHARD=8: 100 shards + the orchestrator = 101 workers",
  ],
  [
    { KEY_COUNT: '1000', KEYS_PER_SHARD: '2', WORKERS_PLAN: 'paid' },
    "KEY_COUNT and KEYS_PER_SHARD must need at most 500 workers (the paid Workers plan's limit per account; raise KEYS_PER_SHARD or lower KEY_COUNT), got KEY_COUNT=1000 and KEYS_PER_SHARD=2: 500 shards + the orchestrator = 501 workers",
  ],
  [
    { WORKER_NAME_PREFIX: 'Zen' },
    `WORKER_NAME_PREFIX (in the last shard name) ${NAME_RULE}, got "Zen-worker-2" (12 characters)`,
  ],
  [
    { WORKER_NAME_PREFIX: 'z'.repeat(51) },
    `WORKER_NAME_PREFIX (in the orchestrator name) ${NAME_RULE}, got "${'z'.repeat(51)}-orchestrator" (64 characters)`,
  ],
  [
    { WORKER_NAME_PREFIX: 'z'.repeat(33), PR_NUMBER: '1234567890123456' },
    `WORKER_NAME_PREFIX and PR_NUMBER (in the preview worker name) ${NAME_RULE}, got "${'z'.repeat(33)}-worker-preview-1234567890123456" (65 characters)`,
  ],
  [
    { CLOUDFLARE_ACCOUNT_ID: 'my-account' },
    'CLOUDFLARE_ACCOUNT_ID must be 32 lower-case hex characters (the account id shown in the dashboard), got "my-account"',
  ],
  [
    { GEMINI_BASE_URL: 'http://generativelanguage.googleapis.com' },
    'GEMINI_BASE_URL must be an https:// URL without credentials, query, fragment or trailing slash (e.g. https://generativelanguage.googleapis.com), got "http://generativelanguage.googleapis.com"',
  ],
  [
    { GEMINI_BASE_URL: 'https://user:secret@proxy.example.com' },
    'GEMINI_BASE_URL must be an https:// URL without credentials, query, fragment or trailing slash (e.g. https://generativelanguage.googleapis.com), got "https://user:secret@proxy.example.com"',
  ],
  [{ UPSTREAM_TIMEOUT_MS: '500' }, 'UPSTREAM_TIMEOUT_MS must be an integer from 1000 to 600000, got "500"'],
  [{ UPSTREAM_TIMEOUT_MS: '2m' }, 'UPSTREAM_TIMEOUT_MS must be an integer from 1000 to 600000, got "2m"'],
  [{ MAX_WAIT_MS: '-1' }, 'MAX_WAIT_MS must be an integer from 0 to 60000, got "-1"'],
  [{ MAX_WAIT_MS: '60001' }, 'MAX_WAIT_MS must be an integer from 0 to 60000, got "60001"'],
  [{ MAX_WAIT_MS: '2s' }, 'MAX_WAIT_MS must be an integer from 0 to 60000, got "2s"'],
  [{ SHARD_ATTEMPTS: '0' }, 'SHARD_ATTEMPTS must be an integer from 1 to 10, got "0"'],
  [{ SHARD_TIMEOUT_MS: '900001' }, 'SHARD_TIMEOUT_MS must be an integer from 1000 to 900000, got "900001"'],
  [{ SHARD_TIMEOUT_MS: '130s' }, 'SHARD_TIMEOUT_MS must be an integer from 1000 to 900000, got "130s"'],
  [
    { SHARD_TIMEOUT_MS: '300000' },
    `SHARD_TIMEOUT_MS must be greater than UPSTREAM_TIMEOUT_MS + MAX_WAIT_MS (300000 + 0 = 300000) so the shard's own answer (its 504 for a slow Gemini) arrives first, got "300000"`,
  ],
  [
    { UPSTREAM_TIMEOUT_MS: '310000' },
    `SHARD_TIMEOUT_MS must be greater than UPSTREAM_TIMEOUT_MS + MAX_WAIT_MS (310000 + 0 = 310000) so the shard's own answer (its 504 for a slow Gemini) arrives first, got 310000 (the default)`,
  ],
  [
    { MAX_WAIT_MS: '10000' },
    `SHARD_TIMEOUT_MS must be greater than UPSTREAM_TIMEOUT_MS + MAX_WAIT_MS (300000 + 10000 = 310000) so the shard's own answer (its 504 for a slow Gemini) arrives first, got 310000 (the default)`,
  ],
  [
    { UPSTREAM_TIMEOUT_MS: '30000', MAX_WAIT_MS: '5000', SHARD_TIMEOUT_MS: '35000' },
    `SHARD_TIMEOUT_MS must be greater than UPSTREAM_TIMEOUT_MS + MAX_WAIT_MS (30000 + 5000 = 35000) so the shard's own answer (its 504 for a slow Gemini) arrives first, got "35000"`,
  ],
  [
    { LOG_SAMPLING_RATE: '0' },
    'LOG_SAMPLING_RATE must be a number greater than 0 and at most 1 (e.g. 0.1 for 10%), got "0"',
  ],
  [
    { LOG_SAMPLING_RATE: '10%' },
    'LOG_SAMPLING_RATE must be a number greater than 0 and at most 1 (e.g. 0.1 for 10%), got "10%"',
  ],
  [
    { COMPATIBILITY_DATE: '2999-01-01' },
    `COMPATIBILITY_DATE must be a date YYYY-MM-DD not after today (${utcToday()}), got "2999-01-01"`,
  ],
  [
    { WORKERS_DEV_SUBDOMAIN: 'acme.workers.dev' },
    'WORKERS_DEV_SUBDOMAIN must be a DNS label of 1 to 63 lower-case letters, digits and inner hyphens, got "acme.workers.dev"',
  ],
  [
    { STATE_ENDPOINT: 'https://s3.example.com' },
    'STATE_BUCKET must be set when STATE_ENDPOINT is set (remote state needs a bucket), got nothing',
  ],
  [
    { STATE_KEY_PREFIX: 'x', STATE_REGION: 'auto' },
    'STATE_BUCKET must be set when STATE_KEY_PREFIX, STATE_REGION are set (remote state needs a bucket), got nothing',
  ],
  [
    { STATE_BUCKET: 'TF_State', CLOUDFLARE_ACCOUNT_ID: ACCOUNT },
    'STATE_BUCKET must be an R2 bucket name (3 to 63 lower-case letters, digits and inner hyphens), got "TF_State"',
  ],
  [
    { STATE_BUCKET: 'tf-state' },
    'STATE_ENDPOINT must be set when STATE_BUCKET is set and CLOUDFLARE_ACCOUNT_ID is not (the default is https://<CLOUDFLARE_ACCOUNT_ID>.r2.cloudflarestorage.com), got nothing',
  ],
  [
    { STATE_BUCKET: 'tf-state', STATE_ENDPOINT: 'http://127.0.0.1:9000' },
    'STATE_ENDPOINT must be an https:// URL without credentials, query, fragment or trailing slash (e.g. https://generativelanguage.googleapis.com), got "http://127.0.0.1:9000"',
  ],
  [
    { STATE_BUCKET: 'tf-state', CLOUDFLARE_ACCOUNT_ID: ACCOUNT, STATE_KEY_PREFIX: '/state/' },
    'STATE_KEY_PREFIX must be slash-separated segments of letters, digits, ".", "_" and "-" without leading or trailing slash, got "/state/"',
  ],
  [
    { STATE_BUCKET: 'tf-state', CLOUDFLARE_ACCOUNT_ID: ACCOUNT, STATE_REGION: 'EU West' },
    'STATE_REGION must be a region name such as auto (R2) or us-east-1, got "EU West"',
  ],
  [{ SMART_PLACEMENT: 'yes' }, 'SMART_PLACEMENT must be true or false, got "yes"'],
];

describe('loadConfig rejects', () => {
  test.each(invalid)('%j', (env, message) => {
    expect(() => load(env)).toThrow(new Error(message));
  });
});

describe('loadConfig accepts', () => {
  test('ANTHROPIC_MODEL_MAP as the JSON object it holds, and leaves it undefined when unset or blank', () => {
    expect(load({ ANTHROPIC_MODEL_MAP: ' {"opus":"gemini-3.5-pro","saga":"gemini-3.5-flash"} ' }).stack).toMatchObject({
      anthropicModelMap: { opus: 'gemini-3.5-pro', saga: 'gemini-3.5-flash' },
    });
    expect(load({}).stack.anthropicModelMap).toBeUndefined();
    expect(load({ ANTHROPIC_MODEL_MAP: '  ' }).stack.anthropicModelMap).toBeUndefined();
    expect(load({ ANTHROPIC_MODEL_MAP: '{}', KEYS_PER_SHARD: '57' }).prod.keysPerShard).toBe(57);
  });

  test('a preview with more keys than one worker holds: it binds the first ones instead of failing synth', () => {
    expect(load({ KEY_COUNT: '200', PR_NUMBER: '7' })).toMatchObject({
      stack: { keyCount: 200 },
      preview: { prNumber: 7 },
    });
  });

  test('MAX_WAIT_MS at its bounds, with SHARD_TIMEOUT_MS just above UPSTREAM_TIMEOUT_MS + MAX_WAIT_MS', () => {
    expect(load({ MAX_WAIT_MS: '0' }).stack.maxWaitMs).toBe(0);
    expect(load({ MAX_WAIT_MS: '60000', SHARD_TIMEOUT_MS: '360001' }).stack.maxWaitMs).toBe(60000);
    expect(load({ MAX_WAIT_MS: '9999' }).stack.maxWaitMs).toBe(9999);
  });
});

describe('configNotices', () => {
  const notices = (env: Record<string, string>): string[] => configNotices(load(env));

  test('says when KEY_COUNT falls back to the demo value', () => {
    expect(notices({})).toEqual([
      'KEY_COUNT is not set; synthesizing for 20 demo keys. Set KEY_COUNT to the length of TF_VAR_api_keys before deploying, or the plan fails its api_keys validation.',
    ]);
  });

  test('names how many keys a preview holds when one worker cannot hold them all', () => {
    expect(notices({ KEY_COUNT: '200', PR_NUMBER: '7' })).toEqual([
      'the preview-7 worker holds the first 59 of the 200 keys (one worker on the free Workers plan holds at most 59 keys); TF_VAR_api_keys must still hold all 200, and prod uses every key.',
    ]);
    expect(notices({ KEY_COUNT: '200', PR_NUMBER: '7', WORKERS_PLAN: 'paid', PREVIEW_KEY_LIMIT: '150' })).toEqual([
      'the preview-7 worker holds the first 123 of the 200 keys (one worker on the paid Workers plan holds at most 123 keys); TF_VAR_api_keys must still hold all 200, and prod uses every key.',
    ]);
  });

  test('counts the ANTHROPIC_MODEL_MAP binding against the preview worker when it is set', () => {
    expect(notices({ KEY_COUNT: '59', PR_NUMBER: '7', ANTHROPIC_MODEL_MAP: '{"opus":"gemini-3.5-pro"}' })).toEqual([
      'the preview-7 worker holds the first 58 of the 59 keys (one worker on the free Workers plan holds at most 58 keys beside ANTHROPIC_MODEL_MAP); TF_VAR_api_keys must still hold all 59, and prod uses every key.',
    ]);
  });

  test('names PREVIEW_KEY_LIMIT when it is what caps the preview', () => {
    expect(notices({ KEY_COUNT: '20', PR_NUMBER: '9', PREVIEW_KEY_LIMIT: '4' })).toEqual([
      'the preview-9 worker holds the first 4 of the 20 keys (PREVIEW_KEY_LIMIT=4); TF_VAR_api_keys must still hold all 20, and prod uses every key.',
    ]);
  });

  test('says nothing when every key fits, or without a preview', () => {
    expect(notices({ KEY_COUNT: '59', PR_NUMBER: '7' })).toEqual([]);
    expect(notices({ KEY_COUNT: '20', PR_NUMBER: '7', PREVIEW_KEY_LIMIT: '20' })).toEqual([]);
    expect(notices({ KEY_COUNT: '200', PREVIEW_KEY_LIMIT: '4' })).toEqual([]);
  });
});

describe('the usage alert variables', () => {
  const paid = { WORKERS_PLAN: 'paid' };

  test("ALERT_EMAILS and ALERT_WEBHOOK_IDS (comma-separated) make the prod stack's usage alert", () => {
    expect(
      load({ ...paid, ALERT_EMAILS: ' ops@example.com, oncall@example.com ,', ALERT_REQUESTS: '20000000' }).prod,
    ).toStrictEqual({
      keysPerShard: 8,
      shardAttempts: undefined,
      shardTimeoutMs: undefined,
      usageAlert: { emails: ['ops@example.com', 'oncall@example.com'], webhookIds: [], requests: 20_000_000 },
    });
    expect(load({ ...paid, ALERT_WEBHOOK_IDS: 'f174e90afafe4643bbbc4a0ed4fc8415' }).prod.usageAlert).toStrictEqual({
      emails: [],
      webhookIds: ['f174e90afafe4643bbbc4a0ed4fc8415'],
    });
  });

  test('no alert variable, no usageAlert key at all', () => {
    expect(load(paid).prod).not.toHaveProperty('usageAlert');
  });

  test('each mistake is named by its variable', () => {
    expect(() => load({ ALERT_EMAILS: 'ops@example.com' })).toThrow(
      'WORKERS_PLAN must be paid for a usage alert (ALERT_EMAILS/ALERT_WEBHOOK_IDS): Usage Based Billing notifications watch billed usage, and Workers Free bills none, got "free"',
    );
    expect(() => load({ ...paid, ALERT_REQUESTS: '5' })).toThrow(
      'ALERT_EMAILS or ALERT_WEBHOOK_IDS must name where the usage alert goes, got neither',
    );
    expect(() => load({ ...paid, ALERT_EMAILS: 'ops' })).toThrow(
      'ALERT_EMAILS must be email addresses separated by commas, got "ops"',
    );
    expect(() => load({ ...paid, ALERT_EMAILS: 'ops@example.com', ALERT_REQUESTS: 'lots' })).toThrow(
      'ALERT_REQUESTS must be a positive integer (1, 2, 3, ...), got "lots"',
    );
  });
});
