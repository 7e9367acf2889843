/**
 * The prod stack's layout as people read it: the `shard_layout` Terraform output (which key numbers and projects each
 * shard holds, never a key value) and the lines synth and the deploy summary print from it. Pure, without cdktf, so
 * `scripts/ci` reads it cheaply.
 *
 * @module
 */
import type { KeyLayout } from '../workers/shared/key-layout';

/** One shard as the `shard_layout` output holds it. */
export interface ShardLayoutEntry {
  readonly shard: number;
  readonly worker: string;
  /** global key numbers, 1-based: 13 is the 13th entry of `TF_VAR_api_keys`, `KEY13` in the logs */
  readonly keys: readonly number[];
  /** the project label of each of `keys` */
  readonly projects: readonly string[];
  /** the shard's share of the pool's quota, in projects (a project split over shards counts in parts) */
  readonly quota_share: number;
}

/** The `shard_layout` output's value: shard i is `BACKEND_SERVICE_<i>`, named `workerName(i)`. */
export function shardLayoutOutput(layout: KeyLayout, workerName: (shard: number) => string): ShardLayoutEntry[] {
  return layout.shards.map((s, shard) => ({
    shard,
    worker: workerName(shard),
    keys: s.keys,
    projects: s.projects,
    quota_share: Math.round(s.weight * 1000) / 1000,
  }));
}

/** `1-8, 11, 13-14`: sorted key numbers as ranges. */
export function keyRanges(keys: readonly number[]): string {
  const ranges: string[] = [];
  let start: number | undefined;
  let last: number | undefined;
  const close = (): void => {
    if (start !== undefined) ranges.push(start === last ? `${start}` : `${start}-${last}`);
  };
  for (const key of keys) {
    if (last !== undefined && key === last + 1) {
      last = key;
      continue;
    }
    close();
    start = key;
    last = key;
  }
  close();
  return ranges.join(', ');
}

/** Each label's key count over all entries. */
function projectSizes(entries: readonly Pick<ShardLayoutEntry, 'projects'>[]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const label of entries.flatMap((e) => e.projects)) sizes.set(label, (sizes.get(label) ?? 0) + 1);
  return sizes;
}

/**
 * One line per shard and a total first: `20 keys in 11 projects over 3 shards`, then
 * `shard 1 (zen-ai-router-worker-1): keys 9-16; big (2 of its 10 keys), solo0, solo1`.
 */
export function describeLayout(entries: readonly Omit<ShardLayoutEntry, 'quota_share'>[]): string[] {
  const sizes = projectSizes(entries);
  const keys = entries.reduce((sum, e) => sum + e.keys.length, 0);
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const lines = [`${plural(keys, 'key')} in ${plural(sizes.size, 'project')} over ${plural(entries.length, 'shard')}`];
  for (const entry of entries) {
    const here = projectSizes([entry]);
    const projects = [...here].map(([label, count]) => {
      const total = sizes.get(label) ?? count;
      return count === total && count === 1
        ? label
        : `${label} (${count === total ? count : `${count} of its ${total}`} keys)`;
    });
    lines.push(`shard ${entry.shard} (${entry.worker}): keys ${keyRanges(entry.keys)}; ${projects.join(', ')}`);
  }
  return lines;
}
