/**
 * A stand-in for the Workers Analytics Engine SQL engine, for tests and demos: it understands the subset of its SQL
 * that `npm run usage` sends (scripts/usage/usage-sql.ts) and answers it over points held in memory, as the SQL API
 * would in `FORMAT JSON` (ClickHouse's JSON, 64-bit integers as strings). Anything outside that subset (an unknown
 * column, function, clause or table, a column neither grouped nor aggregated) is an error, not an answer, so a wrong
 * query fails the tests instead of being answered.
 *
 * The subset, from developers.cloudflare.com/analytics/analytics-engine/sql-reference/:
 *   SELECT <item> AS <alias>, … FROM <dataset> [WHERE <cond> AND …] [GROUP BY <alias>, …]
 *     [ORDER BY <alias> [ASC|DESC], …] [LIMIT <n>] [FORMAT JSON]
 *   item: index1 | blobN | SUM(_sample_interval) | SUM(_sample_interval * doubleN)
 *         | SUM(if(doubleN <op> <number>, _sample_interval, 0))
 *   cond: timestamp > NOW() - INTERVAL '<n>' MINUTE|HOUR|DAY | timestamp >= toDateTime(<unix seconds>)
 *         | doubleN <op> <number>
 *
 * @module
 */

/** A data point as the stand-in keeps it: what the worker wrote, when, and the sampling Analytics Engine applied. */
export interface StoredPoint {
  readonly dataset: string;
  /** ms since the epoch */
  readonly timestamp: number;
  /** how many written points this one stands for (1: not sampled) */
  readonly sampleInterval: number;
  readonly blobs: readonly string[];
  readonly doubles: readonly number[];
  readonly index: string;
}

/** A query the stand-in does not understand, as the real engine would refuse it. */
export class SqlError extends Error {
  override readonly name = 'SqlError';
}

/** ClickHouse's JSON format. */
export interface SqlAnswer {
  readonly meta: readonly { readonly name: string; readonly type: string }[];
  readonly data: readonly Record<string, string | number>[];
  readonly rows: number;
}

type Token = { readonly kind: 'word' | 'number' | 'string' | 'symbol'; readonly text: string };

const TOKEN = /\s*(?:([A-Za-z_][A-Za-z0-9_]*)|([0-9]+(?:\.[0-9]+)?)|'([^']*)'|(>=|<=|!=|<>|[(),*><=-]))/y;

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  const text = sql.trimEnd();
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (m === null) throw new SqlError(`syntax error at position ${at}: ${JSON.stringify(text.slice(at, at + 20))}`);
    if (m[1] !== undefined) tokens.push({ kind: 'word', text: m[1] });
    else if (m[2] !== undefined) tokens.push({ kind: 'number', text: m[2] });
    else if (m[3] !== undefined) tokens.push({ kind: 'string', text: m[3] });
    else tokens.push({ kind: 'symbol', text: m[4] ?? '' });
  }
  return tokens;
}

/** A column of a point: `index1`, `blobN` or `doubleN` (N from 1 to 20). */
export type Column = { readonly kind: 'index' } | { readonly kind: 'blob' | 'double'; readonly n: number };
export type Comparison = '>' | '>=' | '<' | '<=' | '=' | '!=';

export type Item =
  | { readonly kind: 'column'; readonly column: Column; readonly alias: string }
  | { readonly kind: 'count'; readonly alias: string }
  | { readonly kind: 'sum'; readonly double: number; readonly alias: string }
  | {
      readonly kind: 'countIf';
      readonly double: number;
      readonly op: Comparison;
      readonly value: number;
      readonly alias: string;
    };

/** An item before its alias is read. */
type Unaliased = Item extends infer I ? (I extends Item ? Omit<I, 'alias'> : never) : never;

export type Condition =
  | { readonly kind: 'since'; readonly ms: number; readonly relative: boolean }
  | { readonly kind: 'double'; readonly n: number; readonly op: Comparison; readonly value: number };

export interface Query {
  readonly items: readonly Item[];
  readonly dataset: string;
  readonly where: readonly Condition[];
  readonly groupBy: readonly string[];
  readonly orderBy: readonly { readonly alias: string; readonly desc: boolean }[];
  readonly limit?: number;
}

const COMPARISONS: readonly string[] = ['>', '>=', '<', '<=', '=', '!=', '<>'];
const UNITS: Readonly<Record<string, number>> = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };

/** Reads tokens in order; each `expect…` throws a SqlError naming what it found instead. */
class Reader {
  private at = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  peek(): Token | undefined {
    return this.tokens[this.at];
  }

  done(): boolean {
    return this.at >= this.tokens.length;
  }

  /** Whether the next token is this keyword or symbol (case-insensitive); consumed when it is. */
  take(text: string): boolean {
    const token = this.peek();
    if (token === undefined || token.kind === 'string' || token.text.toUpperCase() !== text.toUpperCase()) return false;
    this.at++;
    return true;
  }

  expect(text: string): void {
    if (!this.take(text)) throw new SqlError(`expected ${text}, found ${this.found()}`);
  }

  word(): string {
    const token = this.peek();
    if (token?.kind !== 'word') throw new SqlError(`expected a name, found ${this.found()}`);
    this.at++;
    return token.text;
  }

  number(): number {
    const negative = this.take('-');
    const token = this.peek();
    if (token?.kind !== 'number') throw new SqlError(`expected a number, found ${this.found()}`);
    this.at++;
    return (negative ? -1 : 1) * Number(token.text);
  }

  string(): string {
    const token = this.peek();
    if (token?.kind !== 'string') throw new SqlError(`expected a string literal, found ${this.found()}`);
    this.at++;
    return token.text;
  }

  found(): string {
    const token = this.peek();
    return token === undefined ? 'the end of the query' : JSON.stringify(token.text);
  }
}

function column(name: string): Column {
  if (name === 'index1') return { kind: 'index' };
  const m = /^(blob|double)([1-9][0-9]?)$/.exec(name);
  if (m === null || Number(m[2]) > 20) throw new SqlError(`unknown column ${JSON.stringify(name)}`);
  return { kind: m[1] as 'blob' | 'double', n: Number(m[2]) };
}

function doubleColumn(r: Reader): number {
  const c = column(r.word());
  if (c.kind !== 'double') throw new SqlError('expected a double column');
  return c.n;
}

function comparison(r: Reader): Comparison {
  const token = r.peek();
  if (token?.kind !== 'symbol' || !COMPARISONS.includes(token.text))
    throw new SqlError(`expected a comparison, found ${r.found()}`);
  r.take(token.text);
  return token.text === '<>' ? '!=' : (token.text as Comparison);
}

/** `SUM(…)`'s argument, SUM( already read. */
function sumItem(r: Reader): Unaliased {
  if (r.take('if')) {
    r.expect('(');
    const double = doubleColumn(r);
    const op = comparison(r);
    const value = r.number();
    r.expect(',');
    r.expect('_sample_interval');
    r.expect(',');
    if (r.number() !== 0) throw new SqlError('only if(<condition>, _sample_interval, 0) is understood');
    r.expect(')');
    r.expect(')');
    return { kind: 'countIf', double, op, value };
  }
  r.expect('_sample_interval');
  if (r.take('*')) {
    const double = doubleColumn(r);
    r.expect(')');
    return { kind: 'sum', double };
  }
  r.expect(')');
  return { kind: 'count' };
}

function item(r: Reader): Item {
  const name = r.word();
  const parsed: Unaliased =
    name.toUpperCase() === 'SUM' && r.take('(') ? sumItem(r) : { kind: 'column', column: column(name) };
  r.expect('AS');
  return { ...parsed, alias: r.word() } as Item;
}

function condition(r: Reader, now: number): Condition {
  if (r.take('timestamp')) {
    if (r.take('>')) {
      r.expect('NOW');
      r.expect('(');
      r.expect(')');
      r.expect('-');
      r.expect('INTERVAL');
      const amount = Number(r.string());
      const unit = UNITS[r.word().toUpperCase()];
      if (unit === undefined || !Number.isFinite(amount))
        throw new SqlError("expected INTERVAL '<n>' MINUTE, HOUR or DAY");
      return { kind: 'since', ms: now - amount * unit, relative: true };
    }
    r.expect('>=');
    r.expect('toDateTime');
    r.expect('(');
    const seconds = r.number();
    r.expect(')');
    return { kind: 'since', ms: seconds * 1000, relative: false };
  }
  const n = doubleColumn(r);
  return { kind: 'double', n, op: comparison(r), value: r.number() };
}

function list<T>(r: Reader, one: () => T): T[] {
  const items = [one()];
  while (r.take(',')) items.push(one());
  return items;
}

/** A clause's list after its BY. */
function clause<T>(r: Reader, one: () => T): T[] {
  r.expect('BY');
  return list(r, one);
}

/** `DESC` (true), `ASC` or nothing (false). */
function direction(r: Reader): boolean {
  if (r.take('DESC')) return true;
  r.take('ASC');
  return false;
}

/** The query, understood; `now` is when `NOW()` is. */
export function parseQuery(sql: string, now: number): Query {
  const r = new Reader(tokenize(sql));
  r.expect('SELECT');
  const items = list(r, () => item(r));
  r.expect('FROM');
  const dataset = r.word();
  const where: Condition[] = [];
  if (r.take('WHERE')) {
    where.push(condition(r, now));
    while (r.take('AND')) where.push(condition(r, now));
  }
  const groupBy = r.take('GROUP') ? clause(r, () => r.word()) : [];
  const orderBy = r.take('ORDER') ? clause(r, () => ({ alias: r.word(), desc: direction(r) })) : [];
  const limit = r.take('LIMIT') ? r.number() : undefined;
  if (r.take('FORMAT') && r.word() !== 'JSON') throw new SqlError('the stand-in answers FORMAT JSON only');
  if (!r.done()) throw new SqlError(`unexpected ${r.found()}`);
  checkGrouping(items, groupBy, orderBy);
  return { items, dataset, where, groupBy, orderBy, ...(limit === undefined ? {} : { limit }) };
}

/** Every plain column is grouped, every grouped or ordered name is a column of the SELECT list. */
function checkGrouping(items: readonly Item[], groupBy: readonly string[], orderBy: Query['orderBy']): void {
  const aliases = new Set(items.map((i) => i.alias));
  for (const name of [...groupBy, ...orderBy.map((o) => o.alias)]) {
    if (!aliases.has(name)) throw new SqlError(`unknown identifier ${JSON.stringify(name)}`);
  }
  for (const i of items) {
    if (i.kind === 'column' && !groupBy.includes(i.alias)) {
      throw new SqlError(`column ${i.alias} is neither aggregated nor in GROUP BY`);
    }
  }
}

function compare(a: number, op: Comparison, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '=':
      return a === b;
    case '!=':
      return a !== b;
  }
}

function matches(point: StoredPoint, c: Condition): boolean {
  if (c.kind === 'since') return c.relative ? point.timestamp > c.ms : point.timestamp >= c.ms;
  return compare(point.doubles[c.n - 1] ?? 0, c.op, c.value);
}

function value(point: StoredPoint, c: Column): string {
  return c.kind === 'index'
    ? point.index
    : c.kind === 'blob'
      ? (point.blobs[c.n - 1] ?? '')
      : String(point.doubles[c.n - 1] ?? 0);
}

/** What one item adds for one point. */
function added(point: StoredPoint, i: Item): number {
  switch (i.kind) {
    case 'count':
      return point.sampleInterval;
    case 'sum':
      return point.sampleInterval * (point.doubles[i.double - 1] ?? 0);
    case 'countIf':
      return compare(point.doubles[i.double - 1] ?? 0, i.op, i.value) ? point.sampleInterval : 0;
    case 'column':
      return 0;
  }
}

/** Answers `sql` over `points`, as the SQL API would; `datasets` are the tables that exist. */
export function answer(
  sql: string,
  points: readonly StoredPoint[],
  datasets: readonly string[],
  now: number,
): SqlAnswer {
  const q = parseQuery(sql, now);
  if (!datasets.includes(q.dataset)) throw new SqlError(`unknown table ${JSON.stringify(q.dataset)}`);
  const groups = new Map<string, { point: StoredPoint; sums: number[] }>();
  for (const point of points) {
    if (point.dataset !== q.dataset || !q.where.every((c) => matches(point, c))) continue;
    const key = JSON.stringify(q.items.map((i) => (i.kind === 'column' ? value(point, i.column) : '')));
    const group = groups.get(key) ?? { point, sums: q.items.map(() => 0) };
    q.items.forEach((i, k) => {
      group.sums[k] = (group.sums[k] ?? 0) + added(point, i);
    });
    groups.set(key, group);
  }
  let data = [...groups.values()].map(({ point, sums }) =>
    Object.fromEntries(
      q.items.map((i, k) => [
        i.alias,
        i.kind === 'column' ? value(point, i.column) : i.kind === 'sum' ? (sums[k] ?? 0) : String(sums[k] ?? 0),
      ]),
    ),
  );
  data = ordered(data, q.orderBy);
  if (q.limit !== undefined) data = data.slice(0, q.limit);
  const meta = q.items.map((i) => ({
    name: i.alias,
    type: i.kind === 'column' ? 'String' : i.kind === 'sum' ? 'Float64' : 'UInt64',
  }));
  return { meta, data, rows: data.length };
}

function ordered(rows: Record<string, string | number>[], by: Query['orderBy']): Record<string, string | number>[] {
  return [...rows].sort((a, b) => {
    for (const { alias, desc } of by) {
      const x = a[alias] ?? '';
      const y = b[alias] ?? '';
      const numeric = typeof x === 'number' || /^[0-9]+$/.test(String(x));
      const c = numeric ? Number(x) - Number(y) : String(x).localeCompare(String(y));
      if (c !== 0) return desc ? -c : c;
    }
    return 0;
  });
}
