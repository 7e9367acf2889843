/**
 * The usage part of `npm start`'s status view: what each shard's dataset (the emulation's in-memory stand-in for
 * Analytics Engine) holds of today, added up over the shards, as tables per key, project, client and model, the keys
 * named by their global number (`KEY13`) as the request lines name them.
 *
 * @module
 */
import type { UsageStatus } from '../../workers/shard/core/usage-summary';
import { mergeRows, totalsLine, type UsageRow, usageTable } from '../usage/usage-table';
import type { KeyedWorker, RequestLineContext } from './cli';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A worker's `usage` section and the worker whose `KEY<n>` its keys are. */
interface ShardUsage {
  readonly usage: UsageStatus;
  readonly worker: KeyedWorker | undefined;
}

/** The usage sections of the answer: each shard's (the orchestrator's view), or the preview worker's own. */
function usagesOf(body: Json, context: RequestLineContext): ShardUsage[] {
  const usageOf = (status: unknown): UsageStatus | undefined =>
    isObject(status) && isObject(status.usage) ? (status.usage as unknown as UsageStatus) : undefined;
  if (!Array.isArray(body.shards)) {
    const usage = usageOf(body);
    return usage === undefined ? [] : [{ usage, worker: context.publicWorker }];
  }
  return body.shards.filter(isObject).flatMap((entry) => {
    const usage = usageOf(entry.status);
    const worker = typeof entry.shard === 'number' ? context.shards.get(entry.shard) : undefined;
    return usage === undefined ? [] : [{ usage, worker }];
  });
}

/** `shard1:KEY3` or `shard1:key3` (a shard without the layout) as the global key the emulated bindings say. */
function globalLabel(label: string, worker: KeyedWorker | undefined): string {
  const local = /^shard[0-9]+:(KEY|key)([0-9]+)$/.exec(label);
  if (local === null) return label;
  const index = worker?.apiKeyIndexes[`KEY${local[2]}`];
  return index === undefined ? label : `${local[1]}${index + 1}`;
}

function rows<T extends { requests: number; errors: number; tokens: UsageRow['tokens'] }>(
  usages: readonly ShardUsage[],
  pick: (usage: UsageStatus) => readonly T[],
  label: (entry: T, worker: KeyedWorker | undefined) => string,
): UsageRow[] {
  return mergeRows(
    usages.flatMap(({ usage, worker }) =>
      pick(usage).map((entry) => ({ ...entry, label: globalLabel(label(entry, worker), worker) })),
    ),
  );
}

/** The usage lines of the status view; none when no worker reports usage (metering off, or a deployed gateway). */
export function usageLines(body: Json, context: RequestLineContext, clock: (iso: string) => string): string[] {
  const usages = usagesOf(body, context);
  const first = usages[0];
  if (first === undefined) return [];
  const total = mergeRows(
    usages.map(({ usage }) => ({ label: '', requests: usage.requests, errors: usage.errors, tokens: usage.tokens })),
  )[0];
  const dropped = usages.reduce((sum, { usage }) => sum + usage.dropped + usage.writeFailures, 0);
  return [
    `usage today (since ${clock(first.usage.since)}, midnight Pacific time; npm start's in-memory dataset)`,
    ...(total === undefined ? [] : [`  ${totalsLine(total)}`]),
    ...(dropped > 0 ? [`  (${dropped} data points dropped or not written)`] : []),
    ...usageTable(
      'key',
      rows(
        usages,
        (u) => u.keys,
        (k) => k.key,
      ),
    ),
    ...usageTable(
      'project',
      rows(
        usages,
        (u) => u.projects,
        (p) => p.project,
      ),
    ),
    ...usageTable(
      'client',
      rows(
        usages,
        (u) => u.clients,
        (c) => c.client,
      ),
    ),
    ...usageTable(
      'model',
      rows(
        usages,
        (u) => u.models,
        (m) => m.model,
      ),
    ),
  ];
}
