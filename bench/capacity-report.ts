/**
 * The capacity benchmark's tables, as markdown to paste into docs/benchmarks.md: per pool, the configurations side by
 * side (one row per load), then one row per cell; and the isolate measurement.
 */
import { callsPerProject, loadSpread, type CapacityOptions } from './capacity-model';
import type { CellResult } from './capacity-cell';
import type { SynthesizedProd } from './capacity-topology';
import { fmt, printTable } from './stats';

export const percent = (x: number): string => `${fmt(x * 100, 1)}%`;

function failureText(failures: ReadonlyMap<number, number>): string {
  if (failures.size === 0) return '-';
  return [...failures]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${n} × ${status === 0 ? 'no answer' : status}`)
    .join(', ');
}

/** The plain-text bindings that decide routing, as synthesized: what "defaults" means in this run. */
export function defaultsText(prod: SynthesizedProd): string {
  const orchestrator = (prod.topology.publicWorker.options.bindings ?? {}) as Record<string, unknown>;
  const shard = prod.topology.workers.find((w) => w !== prod.topology.publicWorker)?.options.bindings as
    | Record<string, unknown>
    | undefined;
  const show = (bindings: Record<string, unknown> | undefined, name: string): string =>
    `${name}=${bindings?.[name] === undefined ? '(not bound)' : String(bindings[name])}`;
  return (
    `orchestrator ${show(orchestrator, 'SHARD_KEY_COUNTS')}, ${show(orchestrator, 'SHARD_ATTEMPTS')}, ` +
    `${show(orchestrator, 'KEY_PROJECTS')}; shards ${show(shard, 'MAX_WAIT_MS')}`
  );
}

/** Each shard's projects in key order, runs of one project's keys shortened: `p1 ×2, p2, p3`. */
export function shardLayoutText(prod: SynthesizedProd, labels: readonly string[]): string {
  return prod.shardKeys
    .map((keys, shard) => {
      const runs: { label: string; count: number }[] = [];
      for (const key of keys) {
        const label = labels[key] ?? `key${key + 1}`;
        const last = runs[runs.length - 1];
        if (last?.label === label) last.count++;
        else runs.push({ label, count: 1 });
      }
      return `shard ${shard}: ${runs.map((r) => (r.count === 1 ? r.label : `${r.label} ×${r.count}`)).join(', ')}`;
    })
    .join('; ');
}

/** One pool's cells: `cells` keyed `<load>/<column id>`, the columns in order with their labels. */
export interface PoolTables {
  readonly heading: string;
  /** lines printed under the heading */
  readonly notes: readonly string[];
  readonly columns: readonly { readonly id: string; readonly label: string }[];
  readonly cells: ReadonlyMap<string, CellResult>;
  /** each key's project, to measure the spread over projects; undefined: over keys */
  readonly labels?: readonly string[];
  readonly windowMs: number;
  readonly offeredPerWindow: (load: number) => number;
}

/** The configurations side by side, one row per load, then one row per cell. */
export function printPoolTables(pool: PoolTables): void {
  const { cells, columns } = pool;
  const loads = [...new Set([...cells.keys()].map((id) => Number(id.split('/')[0])))].sort((a, b) => a - b);
  process.stdout.write(`### ${pool.heading}\n\n${pool.notes.map((n) => `${n}\n\n`).join('')}`);
  const label = new Map(columns.map((c) => [c.id, c.label]));
  const used = columns.filter((c) => [...cells.keys()].some((id) => id.endsWith(`/${c.id}`)));
  printTable(
    ['load', 'offered req/s', 'perfect scheduler', 'perfect, these arrivals', ...used.map((c) => c.label)],
    loads.map((load) => {
      const first = [...cells].find(([id]) => id.startsWith(`${load}/`))?.[1] as CellResult;
      const success = (id: string): string => {
        const cell = cells.get(`${load}/${id}`);
        return cell ? percent(cell.success) : '-';
      };
      const offered = fmt((pool.offeredPerWindow(load) * 1000) / pool.windowMs, 1);
      return [
        `${load} %`,
        offered,
        percent(first.perfect),
        percent(first.perfectHere),
        ...used.map((c) => success(c.id)),
      ];
    }),
  );
  const unit = pool.labels === undefined ? 'per-key' : 'per-project';
  printTable(
    [
      'load',
      'configuration',
      'requests',
      'success',
      'perfect, these arrivals',
      'upstream calls / request',
      `${unit} load max / mean`,
      'Google 429s',
      'client failures',
      'p50 ms',
      'p99 ms',
    ],
    [...cells].map(([id, r]) => {
      const [load, column] = id.split('/') as [string, string];
      const units = pool.labels === undefined ? r.callsPerKey : callsPerProject(pool.labels, r.callsPerKey);
      return [
        `${load} %`,
        label.get(column) ?? column,
        r.requests,
        percent(r.success),
        percent(r.perfectHere),
        fmt(r.callsPerRequest, 3),
        fmt(loadSpread(units).maxOverMean, 2),
        r.google429,
        failureText(r.failures),
        Number.isFinite(r.p50) ? fmt(r.p50, 1) : '-',
        Number.isFinite(r.p99) ? fmt(r.p99, 1) : '-',
      ];
    }),
  );
}

/** One row of the isolate measurement, and the comparison with one copy. */
export interface IsolateRow {
  readonly load: number;
  readonly copies: number;
  readonly result: CellResult;
}

/** The isolate measurement: each shard as 1 or n workers with separate memory. */
export function printIsolates(keys: number, rows: readonly IsolateRow[], options: CapacityOptions): void {
  process.stdout.write(
    `### Isolates: ${keys} keys, defaults, each shard as 1 or ${options.copies.join(' or ')} workers with separate memory\n\n`,
  );
  printTable(
    [
      'load',
      'copies per shard',
      'requests',
      'success',
      'perfect, these arrivals',
      'upstream calls / request',
      'Google 429s',
      '429s per key',
      'key-windows run out',
      '429s per run-out',
    ],
    rows.map(({ load, copies, result: r }) => [
      `${load} %`,
      copies,
      r.requests,
      percent(r.success),
      percent(r.perfectHere),
      fmt(r.callsPerRequest, 3),
      r.google429,
      fmt(r.google429 / keys, 1),
      r.exhaustions,
      fmt(r.google429 / r.exhaustions, 2),
    ]),
  );
  const extra: string[] = [];
  for (const row of rows) {
    const one = rows.find((o) => o.load === row.load && o.copies === 1)?.result;
    if (one === undefined || row.copies === 1) continue;
    const r = row.result;
    extra.push(
      `at ${row.load} %, ${row.copies} copies: Google answers ${r.google429 - one.google429} more 429s than with 1 ` +
        `(${fmt((r.google429 - one.google429) / keys, 1)} per key, ` +
        `${fmt(r.google429 / r.exhaustions - one.google429 / one.exhaustions, 2)} more per key-window that ran out); ` +
        `success ${percent(one.success)} → ${percent(r.success)}`,
    );
  }
  process.stdout.write(`${extra.map((line) => `- ${line}`).join('\n')}\n\n`);
}
