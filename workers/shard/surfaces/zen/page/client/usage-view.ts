/**
 * The usage part of the status page: what metering counted today, where the status answer carries a `usage` object
 * (a shard's, or each shard's in the orchestrator's merged view; `core/usage-summary.ts` writes it where the dataset
 * can be read back). Read by shape rather than by a fixed schema, so the page shows what the gateway reports: each
 * list of records (`"projects": [{ "project": "a", "requests": 3, "tokens": { "prompt": 12 } }]`) or map of records
 * becomes a table, its rows named by their key, project, client or model, its columns the records' numbers (one level
 * of nesting flattened: `prompt tokens`), and the same row in several shards' answers is summed. Pure, no DOM.
 *
 * @module
 */

export interface UsageRow {
  readonly name: string;
  readonly figures: Readonly<Record<string, number>>;
}

export interface UsageTable {
  /** the property the records came under, e.g. `projects`; `total` for the usage object's own figures (one row, `all`) */
  readonly title: string;
  /** the figures' names, in the order first seen; those that are 0 in every row are left out */
  readonly columns: readonly string[];
  readonly rows: readonly UsageRow[];
}

export interface UsageView {
  /** epoch ms "today" starts at, when the answers say it (the earliest of them) */
  readonly since?: number;
  readonly tables: readonly UsageTable[];
}

/** A `usage` object as an answer holds it, and the shard whose answer it is (none for a lone worker's). */
export interface UsageSource {
  readonly usage: unknown;
  readonly shard?: number;
}

type Json = Readonly<Record<string, unknown>>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const isFigure = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Fields that name a record (or place it) rather than count something. */
const NAMING: readonly string[] = ['globalKey', 'key', 'keyIndex', 'shard', 'project', 'client', 'model', 'name'];

/** A key by the page's own label: `KEY13`, or `shard 1 KEY3` where its global number is unknown. */
function keyLabel(local: number, shard: number | undefined): string {
  return shard === undefined ? `KEY${local}` : `shard ${shard} KEY${local}`;
}

/** A record's name: a key's label, else the first naming field it has, else `fallback`. */
function rowName(record: Json, fallback: string, shard: number | undefined): string {
  if (isFigure(record.globalKey)) return `KEY${record.globalKey}`;
  const local = isFigure(record.key) ? record.key : isFigure(record.keyIndex) ? record.keyIndex : undefined;
  if (local !== undefined && typeof record.key !== 'string') return keyLabel(local, shard);
  for (const field of NAMING) {
    const value = record[field];
    // a data point names a key without its global number `shard<n>:KEY<k>`
    if (typeof value === 'string' && value !== '') return value.replace(/^shard(\d+):KEY(\d+)$/, 'shard $1 KEY$2');
  }
  return fallback;
}

/** A record's numbers, and those of an object of numbers inside it (`tokens.prompt` as `prompt tokens`). */
function figures(record: Json): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(record)) {
    if (NAMING.includes(name)) continue;
    if (isFigure(value)) out[name] = value;
    else if (isObject(value)) {
      for (const [inner, figure] of Object.entries(value)) if (isFigure(figure)) out[`${inner} ${name}`] = figure;
    }
  }
  return out;
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

/** Whether a property holds records (a table) rather than figures of the usage object itself. */
function holdsRecords(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(isObject);
  return isObject(value) && Object.values(value).some(isObject);
}

type Tables = Map<string, Map<string, Record<string, number>>>;

function addRows(tables: Tables, title: string, rows: readonly UsageRow[]): void {
  const table = tables.get(title) ?? new Map<string, Record<string, number>>();
  for (const { name, figures: add } of rows) {
    const sum = table.get(name) ?? {};
    for (const [figure, value] of Object.entries(add)) sum[figure] = (sum[figure] ?? 0) + value;
    table.set(name, sum);
  }
  if (table.size > 0) tables.set(title, table);
}

function addUsage(tables: Tables, usage: Json, shard: number | undefined): void {
  const own = figures(Object.fromEntries(Object.entries(usage).filter(([, v]) => !holdsRecords(v))));
  if (Object.keys(own).length > 0) addRows(tables, 'total', [{ name: 'all', figures: own }]);
  for (const [title, value] of Object.entries(usage)) {
    if (holdsRecords(value)) addRows(tables, title, recordsOf(value, shard));
  }
}

/** The usage of every answer given (those without one skipped), same-named rows summed. */
export function usageView(sources: readonly UsageSource[]): UsageView {
  const tables: Tables = new Map();
  const starts: number[] = [];
  for (const { usage, shard } of sources) {
    if (!isObject(usage)) continue;
    addUsage(tables, usage, shard);
    const since = typeof usage.since === 'string' ? Date.parse(usage.since) : Number.NaN;
    if (!Number.isNaN(since)) starts.push(since);
  }
  const list = [...tables].map(([title, rows]) => {
    // a column of zeros (no cached tokens, no write failures) says nothing and costs a phone's width
    const columns = [...new Set([...rows.values()].flatMap((r) => Object.keys(r).filter((c) => r[c] !== 0)))];
    return { title, columns, rows: [...rows].map(([name, f]) => ({ name, figures: f })) };
  });
  return { ...(starts.length > 0 ? { since: Math.min(...starts) } : {}), tables: list };
}

/** The tokens a key used today, by its label, from the `keys` table: its `total tokens` figure. */
export function tokensByKey(view: UsageView): ReadonlyMap<string, number> {
  const keys = view.tables.find((t) => t.title === 'keys');
  return new Map(
    (keys?.rows ?? []).flatMap((r) => {
      const total = r.figures['total tokens'] ?? r.figures.totalTokens;
      return total === undefined ? [] : [[r.name, total] as const];
    }),
  );
}
