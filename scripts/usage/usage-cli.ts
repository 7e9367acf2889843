/**
 * `npm run usage`'s command line and environment: which period and tables, where the SQL API is and the token to ask
 * it with, and the settings that shape the report. The queries, the call and the report are in the modules beside
 * this one; this one only reads the command line and the environment and writes the output.
 *
 * @module
 */
import { DEFAULT_KEYS_PER_SHARD } from '../../constructs/prod-stack';
import { DEFAULT_USAGE_DATASET, pacificMidnight, USAGE_DATASET_PATTERN } from '../../workers/shared/usage-schema';
import { parseDailyLimits } from './daily-limits';
import { apiUrlProblem, DEFAULT_API_URL, runQuery, type SqlApi } from './usage-api';
import { buildReport, renderReport, TABLES, type Table } from './usage-report';
import { MAX_PERIOD_DAYS, type Period, parsePeriod, periodMs, periodQuery, todayQuery } from './usage-sql';

export const USAGE = `usage: npm run usage -- [options]
  --since <period>   how far back: 30m, 24h, 7d, ... (default 24h; Analytics Engine keeps ${MAX_PERIOD_DAYS} days)
  --by <table>       only this table: key, project, client or model (repeat for several; default all four)
  --json             print the figures as JSON (for scripts)
Environment:
  CLOUDFLARE_ACCOUNT_ID   the account the workers run in
  USAGE_API_TOKEN         a token with Account Analytics: Read (else CLOUDFLARE_API_TOKEN is used)
  USAGE_DATASET           the dataset the workers write to (default ${DEFAULT_USAGE_DATASET}, as at synth)
  PROJECT_DAILY_LIMITS    requests per day per project and model, JSON, e.g. {"*": 250} (see docs/operations.md)
  KEYS_PER_SHARD          as at synth: numbers the keys of shards that do not know the layout (default ${DEFAULT_KEYS_PER_SHARD})
  USAGE_API_URL           the API's base URL (default ${DEFAULT_API_URL})`;

/** A wrong command line or environment; the message is for the user. */
export class UsageCliError extends Error {
  override readonly name = 'UsageCliError';
}

export interface UsageArgs {
  readonly since: string;
  readonly period: Period;
  readonly tables: readonly Table[];
  readonly json: boolean;
}

/** The command line as options; `--flag=value` and `--flag value` both work. */
export function parseUsageArgs(argv: readonly string[]): UsageArgs {
  let since = '24h';
  const tables: Table[] = [];
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const value = (): string => {
      const v = eq < 0 ? argv[++i] : arg.slice(eq + 1);
      if (v === undefined || v === '') throw new UsageCliError(`${flag} needs a value`);
      return v;
    };
    if (flag === '--json' && eq < 0) json = true;
    else if (flag === '--since') since = value();
    else if (flag === '--by') {
      const table = value();
      if (!(TABLES as readonly string[]).includes(table))
        throw new UsageCliError(`--by must be one of ${TABLES.join(', ')}, got ${JSON.stringify(table)}`);
      if (!tables.includes(table as Table)) tables.push(table as Table);
    } else throw new UsageCliError(`unknown argument ${JSON.stringify(arg)}`);
  }
  const period = parsePeriod(since);
  if (period === undefined) {
    throw new UsageCliError(
      `--since must be a number and a unit, m, h or d (30m, 24h, 7d), at most ${MAX_PERIOD_DAYS} days, got ${JSON.stringify(since)}`,
    );
  }
  return { since, period, tables: tables.length === 0 ? TABLES : tables, json };
}

type Env = Readonly<Record<string, string | undefined>>;

/** The environment's value, trimmed; undefined when unset or blank. */
const read = (env: Env, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

/** Where to ask, and the settings of the report, from the environment. */
export function usageSettings(env: Env, fetch: SqlApi['fetch']) {
  const accountId = read(env, 'CLOUDFLARE_ACCOUNT_ID');
  const token = read(env, 'USAGE_API_TOKEN') ?? read(env, 'CLOUDFLARE_API_TOKEN');
  if (accountId === undefined)
    throw new UsageCliError('CLOUDFLARE_ACCOUNT_ID is not set: the account the workers run in');
  if (token === undefined) {
    throw new UsageCliError(
      'USAGE_API_TOKEN (or CLOUDFLARE_API_TOKEN) is not set: a Cloudflare API token with the account permission Account Analytics: Read',
    );
  }
  const baseUrl = read(env, 'USAGE_API_URL') ?? DEFAULT_API_URL;
  const urlProblem = apiUrlProblem(baseUrl);
  if (urlProblem !== undefined) throw new UsageCliError(urlProblem);
  const dataset = read(env, 'USAGE_DATASET') ?? DEFAULT_USAGE_DATASET;
  if (!new RegExp(USAGE_DATASET_PATTERN).test(dataset)) {
    throw new UsageCliError(
      `USAGE_DATASET must be a dataset name of letters, digits and "_", got ${JSON.stringify(dataset.slice(0, 80))}`,
    );
  }
  const perShard = read(env, 'KEYS_PER_SHARD');
  const keysPerShard = perShard === undefined ? DEFAULT_KEYS_PER_SHARD : Number(perShard);
  if (!Number.isSafeInteger(keysPerShard) || keysPerShard < 1) {
    throw new UsageCliError(`KEYS_PER_SHARD must be a positive integer, got ${JSON.stringify(perShard)}`);
  }
  const limits = parseDailyLimits(read(env, 'PROJECT_DAILY_LIMITS'));
  const api: SqlApi = { baseUrl, accountId, token, fetch };
  return { api, dataset, keysPerShard, limits };
}

export interface UsageIo {
  readonly env: Env;
  readonly fetch: SqlApi['fetch'];
  readonly now: () => number;
  readonly stdout: (text: string) => void;
}

/** Runs `npm run usage` with `argv`; throws a UsageCliError, DailyLimitsError or UsageApiError for the user. */
export async function runUsage(argv: readonly string[], io: UsageIo): Promise<void> {
  const args = parseUsageArgs(argv);
  const { api, dataset, keysPerShard, limits } = usageSettings(io.env, io.fetch);
  const now = io.now();
  const todaySince = pacificMidnight(now);
  const [periodRows, todayRows] = await Promise.all([
    runQuery(api, periodQuery(dataset, args.period)),
    runQuery(api, todayQuery(dataset, todaySince)),
  ]);
  const report = buildReport(periodRows, todayRows, {
    dataset,
    period: args.since,
    periodMs: periodMs(args.period),
    now,
    todaySince,
    keysPerShard,
    limits,
  });
  io.stdout(args.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report, args.tables));
}
