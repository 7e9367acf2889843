/**
 * Usage today, per key, project, client and model, for the status view, from a dataset that can be read back: the
 * in-memory stand-in `npm start` binds in place of Analytics Engine (Cloudflare's binding is write-only; deployed,
 * `npm run usage` asks the Analytics Engine SQL API instead). Pure: the status route passes the points and the time.
 *
 * @module
 */
import { pacificMidnight, type UsageDataPoint, type UsageFields, usageFieldsOf } from '../../shared/usage-schema';
import type { ShardEnv } from '../edge/bindings';
import { meterFailures, type UsageDataset, usageDatasetOf } from './metering';
import type { TokenCounts } from './usage-tokens';

/** A data point as a readable dataset keeps it: with the time it was written. */
export interface StoredUsagePoint extends UsageDataPoint {
  /** ms since the epoch */
  readonly timestamp: number;
}

/** A dataset whose points can be read back, as the emulation's stand-in can. */
export interface ReadableUsageDataset extends UsageDataset {
  read(): { readonly points: readonly StoredUsagePoint[]; readonly dropped: number };
}

/** Requests, failures among them, and tokens, of one key, project, client or model (or all). */
export interface UsageCounts {
  readonly requests: number;
  /** answered with a status of 400 or more */
  readonly errors: number;
  readonly tokens: TokenCounts;
}

export interface UsageStatus extends UsageCounts {
  readonly scope: 'dataset';
  readonly note: string;
  /** ISO-8601 time of the last midnight, Pacific time: "today", as Google's daily quotas count it */
  readonly since: string;
  /** `key` as the data points name it (`KEY13`, or `shard1:KEY3`), with the shard's `KEY<n>` and its global number */
  readonly keys: readonly ({ key: string; keyIndex: number; globalKey?: number; project: string } & UsageCounts)[];
  readonly projects: readonly ({ project: string } & UsageCounts)[];
  readonly clients: readonly ({ client: string } & UsageCounts)[];
  readonly models: readonly ({ model: string } & UsageCounts)[];
  /** points the stand-in let go of, oldest first, to bound its memory */
  readonly dropped: number;
  /** points this isolate failed to write */
  readonly writeFailures: number;
}

export const USAGE_NOTE =
  "Today's usage (since midnight Pacific time) as this worker's dataset holds it: the in-memory stand-in of npm start. Deployed, the data points go to Workers Analytics Engine, which npm run usage reads.";

function isReadable(dataset: UsageDataset): dataset is ReadableUsageDataset {
  return typeof (dataset as Partial<ReadableUsageDataset>).read === 'function';
}

/** The status view's `usage` section, when the worker's dataset can be read back; none otherwise. */
export function usageStatus(env: ShardEnv, now: number): { readonly usage?: UsageStatus } {
  const dataset = usageDatasetOf(env);
  if (dataset === undefined || !isReadable(dataset)) return {};
  try {
    const { points, dropped } = dataset.read();
    return { usage: summarizeUsage(points, pacificMidnight(now), dropped, meterFailures()) };
  } catch {
    return {};
  }
}

/** Counters being added up. */
interface Tally {
  requests: number;
  errors: number;
  prompt: number;
  output: number;
  cached: number;
  thinking: number;
  total: number;
}

const emptyTally = (): Tally => ({ requests: 0, errors: 0, prompt: 0, output: 0, cached: 0, thinking: 0, total: 0 });

function add(tally: Tally, fields: UsageFields): void {
  const d = fields.doubles;
  tally.requests++;
  if (d.status >= 400) tally.errors++;
  tally.prompt += d.promptTokens;
  tally.output += d.outputTokens;
  tally.cached += d.cachedTokens;
  tally.thinking += d.thinkingTokens;
  tally.total += d.totalTokens;
}

function counts(t: Tally): UsageCounts {
  const { requests, errors, ...tokens } = t;
  return { requests, errors, tokens };
}

/** Tallies grouped by a label; points without one (no key used, no model named) are left out. */
class Groups<Extra> {
  private readonly tallies = new Map<string, { tally: Tally; extra: Extra }>();

  add(label: string, fields: UsageFields, extra: () => Extra): void {
    if (label === '') return;
    let group = this.tallies.get(label);
    if (group === undefined) {
      group = { tally: emptyTally(), extra: extra() };
      this.tallies.set(label, group);
    }
    add(group.tally, fields);
  }

  /** Largest first, then by label. */
  rows<R>(row: (label: string, extra: Extra, counts: UsageCounts) => R): R[] {
    return [...this.tallies]
      .sort(([a, x], [b, y]) => y.tally.requests - x.tally.requests || a.localeCompare(b))
      .map(([label, { tally, extra }]) => row(label, extra, counts(tally)));
  }
}

type KeyExtra = { keyIndex: number; globalKey?: number; project: string };

/** The points written since `since` (ms), added up as a whole and per key, project, client and model. */
export function summarizeUsage(
  points: readonly StoredUsagePoint[],
  since: number,
  dropped = 0,
  writeFailures = 0,
): UsageStatus {
  const total = emptyTally();
  const keys = new Groups<KeyExtra>();
  const projects = new Groups<undefined>();
  const clients = new Groups<undefined>();
  const models = new Groups<undefined>();
  for (const point of points) {
    if (point.timestamp < since) continue;
    const fields = usageFieldsOf(point);
    const { blobs, doubles } = fields;
    add(total, fields);
    keys.add(blobs.key, fields, () => ({
      keyIndex: doubles.keyIndex,
      ...(doubles.globalKey > 0 ? { globalKey: doubles.globalKey } : {}),
      project: fields.project,
    }));
    projects.add(fields.project, fields, () => undefined);
    clients.add(blobs.client, fields, () => undefined);
    models.add(blobs.model, fields, () => undefined);
  }
  return {
    scope: 'dataset',
    note: USAGE_NOTE,
    since: new Date(since).toISOString(),
    ...counts(total),
    keys: keys.rows((key, extra, c) => ({ key, ...extra, ...c })),
    projects: projects.rows((project, _, c) => ({ project, ...c })),
    clients: clients.rows((client, _, c) => ({ client, ...c })),
    models: models.rows((model, _, c) => ({ model, ...c })),
    dropped,
    writeFailures,
  };
}
