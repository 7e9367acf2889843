/**
 * The usage part of the status page: what metering counted today, where the status answer carries a `usage` object
 * (a shard's, or each shard's in the orchestrator's merged view). Read by shape, not by a fixed schema, so the page
 * shows what the gateway reports: each list of records (`[{ "project": "a", "promptTokens": 12 }]`) or map of records
 * (`{ "a": { "promptTokens": 12 } }`) becomes a table, its rows named by their key, project, client or model, and the
 * same row in several shards' answers is summed. Pure and free of the DOM.
 *
 * @module
 */

export interface UsageRow {
  readonly name: string;
  readonly figures: Readonly<Record<string, number>>;
}

export interface UsageTable {
  /** the property the records came under, e.g. `projects` */
  readonly title: string;
  /** the figures' names, in the order first seen */
  readonly columns: readonly string[];
  readonly rows: readonly UsageRow[];
}

type Json = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Fields that name a record rather than count something. */
const NAMING = ['globalKey', 'key', 'project', 'client', 'model', 'route', 'name', 'label'] as const;

/**
 * A record's name: `KEY<n>` for a key (its global number; a local one is global only in a lone worker's answer), else
 * the first naming field it has, else `fallback`.
 */
function rowName(record: Json, fallback: string, shard: number | undefined): string {
  if (typeof record.globalKey === 'number') return `KEY${record.globalKey}`;
  if (typeof record.key === 'number')
    return shard === undefined ? `KEY${record.key}` : `shard ${shard} KEY${record.key}`;
  for (const field of NAMING) {
    const value = record[field];
    if (typeof value === 'string' && value !== '') return value;
  }
  return fallback;
}

function figures(record: Json): Record<string, number> {
  const naming: readonly string[] = NAMING;
  return Object.fromEntries(
    Object.entries(record).filter(
      (entry): entry is [string, number] =>
        !naming.includes(entry[0]) && typeof entry[1] === 'number' && Number.isFinite(entry[1]),
    ),
  );
}

/** The records under one property: a list of records, or a map of name → record. */
function recordsOf(value: unknown, shard: number | undefined): UsageRow[] {
  const name = (r: Json, fallback: string): string => rowName(r, fallback, shard);
  const named: [string, Json][] = Array.isArray(value)
    ? value.filter(isObject).map((r, i) => [name(r, String(i + 1)), r])
    : isObject(value)
      ? Object.entries(value).flatMap(([key, r]): [string, Json][] => (isObject(r) ? [[name(r, key), r]] : []))
      : [];
  return named.map(([name, record]) => ({ name, figures: figures(record) }));
}

/** The totals of a usage object: its own numeric fields, as one row. */
function totalsOf(usage: Json): UsageRow[] {
  const own = figures(usage);
  return Object.keys(own).length > 0 ? [{ name: 'total', figures: own }] : [];
}

function addRows(tables: Map<string, Map<string, Record<string, number>>>, title: string, rows: UsageRow[]): void {
  const table = tables.get(title) ?? new Map<string, Record<string, number>>();
  for (const { name, figures: add } of rows) {
    const sum = table.get(name) ?? {};
    for (const [figure, value] of Object.entries(add)) sum[figure] = (sum[figure] ?? 0) + value;
    table.set(name, sum);
  }
  if (table.size > 0) tables.set(title, table);
}

/** A `usage` object as an answer holds it, and the shard whose answer it is (none for a lone worker's). */
export interface UsageSource {
  readonly usage: unknown;
  readonly shard?: number;
}

/** The usage tables of every `usage` object given (absent ones skipped), same-named rows summed. */
export function usageTables(sources: readonly UsageSource[]): UsageTable[] {
  const tables = new Map<string, Map<string, Record<string, number>>>();
  for (const { usage, shard } of sources) {
    if (!isObject(usage)) continue;
    addRows(tables, 'total', totalsOf(usage));
    for (const [title, value] of Object.entries(usage)) {
      if (typeof value === 'object' && value !== null) addRows(tables, title, recordsOf(value, shard));
    }
  }
  return [...tables].map(([title, rows]) => {
    const columns = [...new Set([...rows.values()].flatMap((r) => Object.keys(r)))];
    return { title, columns, rows: [...rows].map(([name, f]) => ({ name, figures: f })) };
  });
}
