/**
 * Reads which Google project each of the worker's keys belongs to from the `KEY_PROJECTS` and `KEYS_PER_SHARD`
 * bindings, through the pool's one layout function (`../../shared/key-layout`), the same one synth placed the keys
 * by: a shard's `KEY<n>` is the n-th key the layout gives its `SHARD_INDEX`; a worker that stands alone (the preview)
 * holds the pool's first keys, so its `KEY<n>` is global key n. Without `KEY_PROJECTS` every key is its own project.
 */
import { KEY_PROJECTS_BINDING, KEYS_PER_SHARD_BINDING } from '../../shared/contract';
import { type KeyLayout, layoutFromBindings, projectLabelsProblem, splitKeyProjects } from '../../shared/key-layout';
import { declaredProjects, type HeldKey, type WorkerProjects } from '../core/key-projects';

export type ProjectsResult =
  | {
      readonly ok: true;
      /** absent without `KEY_PROJECTS`: every key its own project */
      readonly projects?: WorkerProjects;
      /** the pool's layout, on a shard behind the orchestrator: where a conversation's home shard is */
      readonly layout?: KeyLayout;
    }
  | { readonly ok: false; readonly problem: string };

interface ProjectBindings {
  readonly keyProjects?: string | undefined;
  readonly keysPerShard?: string | undefined;
}

// an isolate reads the same bindings on every request: the projects are worked out once
let cached: { readonly key: string; readonly result: ProjectsResult } | undefined;

/** The projects of the keys `indices` (n of `KEY<n>`) on shard `shardIndex` (undefined: a worker that stands alone). */
export function readProjects(
  bindings: ProjectBindings,
  indices: readonly number[],
  shardIndex: number | undefined,
): ProjectsResult {
  const { keyProjects, keysPerShard } = bindings;
  if (keyProjects === undefined || keyProjects.trim() === '') return { ok: true };
  const key = `${shardIndex ?? '-'}|${keysPerShard ?? ''}|${indices.join(',')}|${keyProjects}`;
  if (cached?.key !== key) cached = { key, result: projectsOf(keyProjects, keysPerShard, indices, shardIndex) };
  return cached.result;
}

function projectsOf(
  keyProjects: string,
  keysPerShard: string | undefined,
  indices: readonly number[],
  shardIndex: number | undefined,
): ProjectsResult {
  const labels = splitKeyProjects(keyProjects);
  const problem = projectLabelsProblem(KEY_PROJECTS_BINDING, labels);
  if (problem !== undefined) return { ok: false, problem };
  if (shardIndex === undefined) {
    const beyond = indices.find((n) => n > labels.length);
    if (beyond !== undefined) return { ok: false, problem: `${KEY_PROJECTS_BINDING} has no label for KEY${beyond}` };
    return {
      ok: true,
      projects: declaredProjects(
        labels,
        indices.map((n) => ({ index: n, global: n })),
      ),
    };
  }
  const layout = layoutFromBindings(keyProjects, keysPerShard);
  if (layout === undefined) {
    return {
      ok: false,
      problem: `${KEYS_PER_SHARD_BINDING} must be a positive integer when ${KEY_PROJECTS_BINDING} is set`,
    };
  }
  const shard = layout.shards[shardIndex];
  if (shard === undefined) {
    return {
      ok: false,
      problem: `SHARD_INDEX ${shardIndex} is beyond the ${layout.shards.length} shards ${KEY_PROJECTS_BINDING} and ${KEYS_PER_SHARD_BINDING} lay out`,
    };
  }
  const held: HeldKey[] = [];
  for (const index of indices) {
    const global = shard.keys[index - 1];
    if (global === undefined) {
      return {
        ok: false,
        problem: `KEY${index} is beyond the ${shard.keys.length} keys the layout gives shard ${shardIndex}`,
      };
    }
    held.push({ index, global });
  }
  return { ok: true, projects: declaredProjects(labels, held), layout };
}
