/**
 * `npm run usage`'s report, from the rows Analytics Engine answered (`./usage-sql.ts`): the period's usage per key,
 * project, client and model, and each project's requests today next to its daily limit. Pure.
 *
 * @module
 */
import type { TokenCounts } from '../../workers/shard/core/usage-tokens';
import { dailyLimit, type DailyLimits } from './daily-limits';
import type { SqlRow } from './usage-api';
import { formatCount, mergeRows, totalsLine, type UsageRow, usageTable } from './usage-table';

/** The tables `--by` can ask for, in the order they print. */
export const TABLES = ['key', 'project', 'client', 'model'] as const;
export type Table = (typeof TABLES)[number];

/** One project's requests today for one model, and its limit where declared. */
export interface TodayRow {
  readonly project: string;
  readonly model: string;
  readonly requests: number;
  readonly limit?: number;
}

export interface UsageReport {
  readonly dataset: string;
  /** `24h`, as `--since` gave it */
  readonly period: string;
  /** ISO-8601: the period's start and end */
  readonly from: string;
  readonly to: string;
  readonly totals: UsageRow;
  readonly keys: readonly UsageRow[];
  readonly projects: readonly UsageRow[];
  readonly clients: readonly UsageRow[];
  readonly models: readonly UsageRow[];
  readonly today: { readonly since: string; readonly rows: readonly TodayRow[] };
}

/** A figure as the API sent it: a number, or a 64-bit integer as a string. */
function figure(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? Math.round(n) : 0;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * A shard's own label (`shard1:KEY3`, `shard1:key3`: a shard without the layout) as the global key: the layout
 * without `KEY_PROJECTS` fills the shards in order, `keysPerShard` keys each.
 */
export function globalLabel(label: string, keysPerShard: number): string {
  const local = /^shard([0-9]+):(KEY|key)([0-9]+)$/.exec(label);
  if (local === null) return label;
  return `${local[2]}${Number(local[1]) * keysPerShard + Number(local[3])}`;
}

function usageRow(row: SqlRow, label: string): UsageRow {
  const tokens: TokenCounts = {
    prompt: figure(row.prompt_tokens),
    output: figure(row.output_tokens),
    cached: figure(row.cached_tokens),
    thinking: figure(row.thinking_tokens),
    total: figure(row.total_tokens),
  };
  return { label, requests: figure(row.requests), errors: figure(row.errors), tokens };
}

export interface ReportInput {
  readonly dataset: string;
  readonly period: string;
  readonly periodMs: number;
  readonly now: number;
  /** midnight Pacific time, when today began */
  readonly todaySince: number;
  readonly keysPerShard: number;
  readonly limits: DailyLimits;
}

/** The report of the period's rows and today's. */
export function buildReport(periodRows: readonly SqlRow[], todayRows: readonly SqlRow[], o: ReportInput): UsageReport {
  const table = (label: (row: SqlRow) => string, keep: (row: SqlRow) => boolean = () => true): UsageRow[] =>
    mergeRows(periodRows.filter(keep).map((row) => usageRow(row, globalLabel(label(row), o.keysPerShard))));
  const named = (column: string) => (row: SqlRow) => text(row[column]) !== '';
  const today = todayRows
    .map((row) => {
      const project = globalLabel(text(row.project), o.keysPerShard);
      const model = text(row.model);
      const limit = dailyLimit(o.limits, project, model);
      return { project, model, requests: figure(row.requests), ...(limit === undefined ? {} : { limit }) };
    })
    .filter((row) => row.project !== '' && row.model !== '');
  return {
    dataset: o.dataset,
    period: o.period,
    from: new Date(o.now - o.periodMs).toISOString(),
    to: new Date(o.now).toISOString(),
    totals: { ...(table(() => '')[0] ?? usageRow({}, '')), label: 'all' },
    keys: table((row) => text(row.key), named('key')),
    projects: table((row) => text(row.project), named('project')),
    clients: table((row) => text(row.client), named('client')),
    models: table((row) => text(row.model), named('model')),
    today: { since: new Date(o.todaySince).toISOString(), rows: mergeToday(today) },
  };
}

/** Today's rows of the same project and model added up (a shard-local label numbered like another's). */
function mergeToday(rows: readonly TodayRow[]): TodayRow[] {
  const merged = new Map<string, TodayRow>();
  for (const row of rows) {
    const key = `${row.project}\u0000${row.model}`;
    const seen = merged.get(key);
    merged.set(key, seen === undefined ? row : { ...seen, requests: seen.requests + row.requests });
  }
  return [...merged.values()].sort((a, b) => a.project.localeCompare(b.project) || b.requests - a.requests);
}

/** A share of a limit: `41%`, or `0.4%` below 10 %. */
function percent(used: number, limit: number): string {
  const share = (100 * used) / limit;
  return `${share < 10 ? share.toFixed(1) : Math.round(share)}%`;
}

/** Today's table: requests per project and model, beside the declared limit and the share of it used. */
function todayLines(report: UsageReport): string[] {
  const since = `${report.today.since.slice(0, 16).replace('T', ' ')}Z`;
  const heading = `today (since ${since}, midnight Pacific time): requests Google answered, per project and model`;
  if (report.today.rows.length === 0) return [heading, '  none'];
  const body = report.today.rows.map((row) => [
    row.project,
    row.model,
    formatCount(row.requests),
    row.limit === undefined ? '-' : formatCount(row.limit),
    row.limit === undefined ? '' : percent(row.requests, row.limit),
  ]);
  const header = ['project', 'model', 'requests', 'daily limit', 'used'];
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `  ${cells
      .map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()}`;
  return [heading, line(header), ...body.map(line)];
}

/** The report as printed: the period's totals, the tables asked for, and today's requests against the limits. */
export function renderReport(report: UsageReport, tables: readonly Table[] = TABLES): string {
  const rows: Readonly<Record<Table, readonly UsageRow[]>> = {
    key: report.keys,
    project: report.projects,
    client: report.clients,
    model: report.models,
  };
  const lines = [
    `usage in the last ${report.period} (${report.from.slice(0, 16).replace('T', ' ')}Z to ${report.to.slice(0, 16).replace('T', ' ')}Z), dataset ${report.dataset}`,
    `  ${totalsLine(report.totals)}`,
  ];
  for (const table of tables) {
    const printed = usageTable(table, rows[table]);
    lines.push('', ...(printed.length > 0 ? printed : [`  no ${table} in this period`]));
  }
  lines.push('', ...todayLines(report));
  return `${lines.join('\n')}\n`;
}
