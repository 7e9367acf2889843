/**
 * The SQL `npm run usage` sends to the Analytics Engine SQL API, built from the data point's layout
 * (`workers/shared/usage-schema.ts`) so a query cannot name the wrong column. Analytics Engine speaks a ClickHouse-like
 * SQL (developers.cloudflare.com/analytics/analytics-engine/sql-reference/): `blobN`, `doubleN` and `index1`
 * columns, a `timestamp`, `NOW() - INTERVAL '24' HOUR`, `toDateTime(<unix seconds>)`, `if(…)`. Under heavy traffic
 * it keeps a sample of each index value's points, each standing for `_sample_interval` of them, so every count is
 * `SUM(_sample_interval)` and every sum `SUM(_sample_interval * doubleN)` (the SQL API page's "Sampling" section).
 *
 * @module
 */
import { blobColumn, doubleColumn, USAGE_INDEX_COLUMN, type UsageDouble } from '../../workers/shared/usage-schema';

/** A period as `--since` gives it: how many of which unit. */
export interface Period {
  readonly amount: number;
  readonly unit: 'MINUTE' | 'HOUR' | 'DAY';
}

const UNITS: Readonly<Record<string, Period['unit']>> = { m: 'MINUTE', h: 'HOUR', d: 'DAY' };
const MINUTES: Readonly<Record<Period['unit'], number>> = { MINUTE: 1, HOUR: 60, DAY: 1440 };
/** Analytics Engine keeps data points for three months. */
export const MAX_PERIOD_DAYS = 92;

/** `30m`, `24h` or `7d` as a period; undefined for anything else, or more than Analytics Engine keeps. */
export function parsePeriod(text: string): Period | undefined {
  const match = /^([1-9][0-9]{0,5})([mhd])$/.exec(text);
  const unit = match?.[2] === undefined ? undefined : UNITS[match[2]];
  if (match === null || unit === undefined) return undefined;
  const amount = Number(match[1]);
  return amount * MINUTES[unit] <= MAX_PERIOD_DAYS * 1440 ? { amount, unit } : undefined;
}

/** The period's length in ms. */
export function periodMs(period: Period): number {
  return period.amount * MINUTES[period.unit] * 60_000;
}

/** The sampled sum of a double field. */
const sum = (field: UsageDouble): string => `SUM(_sample_interval * ${doubleColumn(field)})`;

/** The figures of every table: requests, failed ones, and Google's token counts. */
const FIGURES = [
  'SUM(_sample_interval) AS requests',
  `SUM(if(${doubleColumn('status')} >= 400, _sample_interval, 0)) AS errors`,
  `${sum('promptTokens')} AS prompt_tokens`,
  `${sum('cachedTokens')} AS cached_tokens`,
  `${sum('outputTokens')} AS output_tokens`,
  `${sum('thinkingTokens')} AS thinking_tokens`,
  `${sum('totalTokens')} AS total_tokens`,
];

/** The most rows a query returns: keys × clients × models of a large pool fit many times over. */
export const ROW_LIMIT = 10_000;

/**
 * The period's usage, one row per key, project, client and model that occur together: `npm run usage` adds the rows
 * up into its tables, so one query answers all four.
 */
export function periodQuery(dataset: string, period: Period): string {
  return [
    'SELECT',
    `  ${blobColumn('key')} AS key,`,
    `  ${USAGE_INDEX_COLUMN} AS project,`,
    `  ${blobColumn('client')} AS client,`,
    `  ${blobColumn('model')} AS model,`,
    `  ${FIGURES.join(',\n  ')}`,
    `FROM ${dataset}`,
    `WHERE timestamp > NOW() - INTERVAL '${period.amount}' ${period.unit}`,
    'GROUP BY key, project, client, model',
    'ORDER BY requests DESC',
    `LIMIT ${ROW_LIMIT}`,
    'FORMAT JSON',
  ].join('\n');
}

/**
 * Each project's requests today (since `since`, midnight Pacific time, when Google's daily quotas reset) per model,
 * counting what Google answered other than with 429: the calls its daily quota counts. Grouped by the index, so the
 * counts are exact however the points were sampled.
 */
export function todayQuery(dataset: string, since: number): string {
  const upstream = doubleColumn('upstreamStatus');
  return [
    'SELECT',
    `  ${USAGE_INDEX_COLUMN} AS project,`,
    `  ${blobColumn('model')} AS model,`,
    '  SUM(_sample_interval) AS requests',
    `FROM ${dataset}`,
    `WHERE timestamp >= toDateTime(${Math.floor(since / 1000)}) AND ${upstream} > 0 AND ${upstream} != 429`,
    'GROUP BY project, model',
    'ORDER BY project, model',
    `LIMIT ${ROW_LIMIT}`,
    'FORMAT JSON',
  ].join('\n');
}
