/**
 * Usage as a terminal table, one row per key, project, client or model: requests, errors and Google's token counts.
 * `npm run usage` prints Analytics Engine's figures with it, and `npm start`'s status view those of its in-memory
 * dataset, so both read alike.
 *
 * @module
 */
import type { TokenCounts } from '../../workers/shard/core/usage-tokens';

/** One row: what it is (`KEY13`, a project, a client, a model) and its figures. */
export interface UsageRow {
  readonly label: string;
  readonly requests: number;
  readonly errors: number;
  readonly tokens: TokenCounts;
}

const NO_TOKENS: TokenCounts = { prompt: 0, output: 0, cached: 0, thinking: 0, total: 0 };

/** Rows of the same label added up (one key seen by several shards, a project split across shards). */
export function mergeRows(rows: readonly UsageRow[]): UsageRow[] {
  const merged = new Map<string, UsageRow>();
  for (const row of rows) {
    const seen = merged.get(row.label);
    if (seen === undefined) {
      merged.set(row.label, row);
      continue;
    }
    const tokens = { ...NO_TOKENS };
    for (const name of Object.keys(NO_TOKENS) as (keyof TokenCounts)[]) {
      tokens[name] = seen.tokens[name] + row.tokens[name];
    }
    merged.set(row.label, {
      label: row.label,
      requests: seen.requests + row.requests,
      errors: seen.errors + row.errors,
      tokens,
    });
  }
  return [...merged.values()].sort((a, b) => b.requests - a.requests || a.label.localeCompare(b.label));
}

const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A count as printed: `12,345` (a sampled sum is an estimate, so no decimals). */
export function formatCount(n: number): string {
  return number.format(n);
}

const COLUMNS = ['requests', 'errors', 'prompt', 'cached', 'output', 'thinking', 'total'] as const;

function cells(row: UsageRow): string[] {
  const { tokens } = row;
  return [row.requests, row.errors, tokens.prompt, tokens.cached, tokens.output, tokens.thinking, tokens.total].map(
    formatCount,
  );
}

/** The table's lines, headed by `heading` (`key`, `project`, …), indented by `indent`; none without rows. */
export function usageTable(heading: string, rows: readonly UsageRow[], indent = '  '): string[] {
  if (rows.length === 0) return [];
  const body = rows.map((row) => [row.label === '' ? '-' : row.label, ...cells(row)]);
  const header = [heading, ...COLUMNS];
  const widths = header.map((title, i) => Math.max(title.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (values: readonly string[]): string =>
    indent +
    values
      .map((value, i) => (i === 0 ? value.padEnd(widths[i] ?? 0) : value.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)];
}

/** One line of totals: `12 requests, 1 error; tokens 340 prompt (12 cached), 48 output, 0 thinking`. */
export function totalsLine(total: UsageRow): string {
  const { tokens } = total;
  const errors = `${formatCount(total.errors)} error${total.errors === 1 ? '' : 's'}`;
  return (
    `${formatCount(total.requests)} request${total.requests === 1 ? '' : 's'}, ${errors}; tokens ` +
    `${formatCount(tokens.prompt)} prompt (${formatCount(tokens.cached)} cached), ${formatCount(tokens.output)} output, ` +
    `${formatCount(tokens.thinking)} thinking`
  );
}
