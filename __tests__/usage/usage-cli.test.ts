/**
 * `npm run usage` against the Analytics Engine SQL API stand-in on 127.0.0.1: the queries it sends are ones the
 * stand-in understands (a wrong one fails), the figures count sampled points as many as they stand for, a shard's own
 * key labels are numbered as the operator numbers the keys, today starts at midnight Pacific time and counts what
 * Google answered, and no message ever holds the token.
 */
import { startSqlStandIn, type SqlStandIn } from '../../dev/analytics-engine-sql/server';
import type { StoredPoint } from '../../dev/analytics-engine-sql/sql';
import { runUsage, UsageCliError, parseUsageArgs } from '../../scripts/usage/usage-cli';
import { UsageApiError } from '../../scripts/usage/usage-api';
import { type UsageFields, usageDataPoint } from '../../workers/shared/usage-schema';

const NOW = Date.parse('2026-05-01T12:00:00Z');
const ACCOUNT = '0123456789abcdef0123456789abcdef';
const TOKEN = 'usage-cli-canary-token-0123456789';

function point(
  hoursAgo: number,
  fields: Partial<UsageFields['blobs']> & {
    project?: string;
    status?: number;
    upstream?: number;
    prompt?: number;
    sample?: number;
  },
): StoredPoint {
  const { project = '', status = 200, upstream = status, prompt = 100, sample = 1, ...blobs } = fields;
  const p = usageDataPoint({
    project,
    blobs: { route: 'chat.completions', model: '', client: '', key: '', error: '', delivery: 'whole', ...blobs },
    doubles: {
      status,
      upstreamStatus: upstream,
      attempts: 1,
      ms: 100,
      totalMs: 100,
      promptTokens: prompt,
      outputTokens: 10,
      cachedTokens: 40,
      thinkingTokens: 5,
      totalTokens: prompt + 15,
      globalKey: 0,
      shard: 0,
      keyIndex: 1,
      waitedMs: 0,
    },
  });
  return {
    dataset: 'zen_ai_router_usage',
    timestamp: NOW - hoursAgo * 3_600_000,
    sampleInterval: sample,
    blobs: p.blobs,
    doubles: p.doubles,
    index: project,
  };
}

const a = { key: 'KEY1', project: 'a', client: 'pass', model: 'gemini-3.8-flash' };
const POINTS: StoredPoint[] = [
  point(1, a),
  point(2, { ...a, sample: 2 }),
  point(3, { ...a, status: 429, error: 'all_keys_cooling', prompt: 0 }),
  // yesterday, Pacific time (before 07:00Z), yet within the last 24 hours
  point(6, a),
  point(2, { key: 'shard1:KEY2', project: 'shard1:key2', client: 'alice', model: 'gemini-3.5-flash', status: 503 }),
  point(1, { status: 401, error: 'invalid_api_key', upstream: 0, prompt: 0 }),
  // outside the last 24 hours
  point(30, a),
];

let standIn: SqlStandIn;
beforeAll(async () => {
  standIn = await startSqlStandIn({
    accountId: ACCOUNT,
    token: TOKEN,
    datasets: ['zen_ai_router_usage'],
    points: POINTS,
    now: () => NOW,
  });
});
afterAll(() => standIn.close());
beforeEach(() => {
  standIn.queries.length = 0;
});

const ENV = {
  CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
  USAGE_API_TOKEN: TOKEN,
  KEYS_PER_SHARD: '4',
  PROJECT_DAILY_LIMITS: '{"*": {"gemini-3.8-flash": 250, "*": 1000}}',
};

async function usage(argv: string[], env: Record<string, string | undefined> = {}): Promise<string> {
  let out = '';
  await runUsage(argv, {
    env: { USAGE_API_URL: standIn.baseUrl, ...ENV, ...env },
    fetch: (url, init) => fetch(url, init),
    now: () => NOW,
    stdout: (text) => {
      out += text;
    },
  });
  return out;
}

describe('npm run usage', () => {
  test('prints the period per key, project, client and model, and today against the daily limits', async () => {
    expect(await usage([])).toBe(
      [
        'usage in the last 24h (2026-04-30 12:00Z to 2026-05-01 12:00Z), dataset zen_ai_router_usage',
        '  7 requests, 3 errors; tokens 500 prompt (280 cached), 70 output, 35 thinking',
        '',
        '  key   requests  errors  prompt  cached  output  thinking  total',
        '  KEY1         5       1     400     200      50        25    475',
        '  KEY6         1       1     100      40      10         5    115',
        '',
        '  project  requests  errors  prompt  cached  output  thinking  total',
        '  a               5       1     400     200      50        25    475',
        '  key6            1       1     100      40      10         5    115',
        '',
        '  client  requests  errors  prompt  cached  output  thinking  total',
        '  pass           5       1     400     200      50        25    475',
        '  alice          1       1     100      40      10         5    115',
        '',
        '  model             requests  errors  prompt  cached  output  thinking  total',
        '  gemini-3.8-flash         5       1     400     200      50        25    475',
        '  gemini-3.5-flash         1       1     100      40      10         5    115',
        '',
        'today (since 2026-05-01 07:00Z, midnight Pacific time): requests Google answered, per project and model',
        '  project  model             requests  daily limit  used',
        '  a        gemini-3.8-flash         3          250  1.2%',
        '  key6     gemini-3.5-flash         1        1,000  0.1%',
        '',
      ].join('\n'),
    );
    // one query for the period, one for today, each understood by the stand-in
    expect(standIn.queries).toHaveLength(2);
  });

  test('--by project: that table only; --since: another period', async () => {
    const out = await usage(['--by', 'project', '--since=2h']);
    expect(out).toContain('usage in the last 2h');
    expect(out).toContain('  project  requests');
    expect(out).not.toContain('  key   requests');
    expect(out).not.toContain('  client  requests');
    expect(standIn.queries[0]).toContain("INTERVAL '2' HOUR");
  });

  test('--json: the same figures for scripts', async () => {
    const report = JSON.parse(await usage(['--json'])) as {
      totals: { requests: number };
      keys: { label: string }[];
      today: { rows: unknown[] };
    };
    expect(report.totals.requests).toBe(7);
    expect(report.keys.map((k) => k.label)).toEqual(['KEY1', 'KEY6']);
    expect(report.today.rows).toEqual([
      { project: 'a', model: 'gemini-3.8-flash', requests: 3, limit: 250 },
      { project: 'key6', model: 'gemini-3.5-flash', requests: 1, limit: 1000 },
    ]);
  });

  test('a wrong token: the API says so, with the permission it needs, never the token', async () => {
    const error = await usage([], { USAGE_API_TOKEN: 'not-the-token-at-all-0123' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageApiError);
    expect((error as Error).message).toBe(
      'the Analytics Engine SQL API answered 401: Authentication error (the token needs the account permission Account Analytics: Read, for this account)',
    );
  });

  test('a dataset that does not exist: the engine refuses the query', async () => {
    const error = await usage([], { USAGE_DATASET: 'nothing_here' }).catch((e: unknown) => e);
    expect((error as Error).message).toContain(
      'the Analytics Engine SQL API answered 422: DB::Exception: unknown table',
    );
  });

  test('CLOUDFLARE_API_TOKEN serves when USAGE_API_TOKEN is unset', async () => {
    await expect(usage([], { USAGE_API_TOKEN: undefined, CLOUDFLARE_API_TOKEN: TOKEN })).resolves.toContain(
      '7 requests',
    );
  });

  test.each([
    [{ CLOUDFLARE_ACCOUNT_ID: undefined }, 'CLOUDFLARE_ACCOUNT_ID is not set'],
    [{ USAGE_API_TOKEN: undefined }, 'USAGE_API_TOKEN (or CLOUDFLARE_API_TOKEN) is not set'],
    [{ USAGE_API_URL: 'http://example.com/client/v4' }, 'USAGE_API_URL must be an https:// URL'],
    [{ USAGE_DATASET: 'drop table' }, 'USAGE_DATASET must be a dataset name'],
    [{ KEYS_PER_SHARD: 'eight' }, 'KEYS_PER_SHARD must be a positive integer'],
  ])('refuses the environment %p before asking anything', async (env, message) => {
    await expect(usage([], env)).rejects.toThrow(message);
    expect(standIn.queries).toEqual([]);
  });

  test.each([
    [['--since', '1w'], '--since must be a number and a unit'],
    [['--by', 'shard'], '--by must be one of key, project, client, model'],
    [['--since'], '--since needs a value'],
    [['--verbose'], 'unknown argument "--verbose"'],
  ])('refuses the arguments %p', (argv, message) => {
    expect(() => parseUsageArgs(argv)).toThrow(UsageCliError);
    expect(() => parseUsageArgs(argv)).toThrow(message);
  });
});
