/**
 * The Google projects of this worker's keys. Google counts rate limits per project and model, and keeps files, cached
 * contents and batches per project, so the key core draws keys by project (a project by its share of the pool's
 * quota, then one of its keys), cools a project whole when its shared quota runs out, and lets any of its keys serve
 * a call on its resources. Where the labels come from is the pool's layout (`../../shared/key-layout`, read by
 * `../edge/bindings`); without `KEY_PROJECTS` every key is its own project, which is the gateway's behaviour from
 * before projects.
 */
import type { PoolKey, ShardConfig } from '../edge/bindings';
import type { KeyGroup } from './key-pool';

/** One Google project's keys in this worker. */
export interface KeyProject extends KeyGroup {
  /** the user's label (`KEY_PROJECTS`), or `key<n>` when every key is its own project */
  readonly label: string;
  /** n of this worker's `KEY<n>` bindings, ascending */
  readonly keys: readonly number[];
  /** its share of the pool's quota held here: its keys here over its keys in the pool (1 unless it is split) */
  readonly weight: number;
  /**
   * whether this worker holds the project's first key of the pool: only that worker lists the project's resources,
   * so a project split across shards is listed once
   */
  readonly lists: boolean;
}

/** A worker's projects and what it knows of the pool. */
export interface WorkerProjects {
  /** whether the labels are the user's (`KEY_PROJECTS`) rather than one implicit project per key */
  readonly declared: boolean;
  /** in the order of their first key */
  readonly projects: readonly KeyProject[];
  /** `KEY<n>` → its global number (its place in `TF_VAR_api_keys`), where the layout says it */
  readonly globalKeys: ReadonlyMap<number, number>;
  /** the whole pool's keys and distinct projects, where the layout says it */
  readonly pool?: { readonly keys: number; readonly projects: number };
}

/** Every key its own project of weight 1, labelled by its binding (`key3` for `KEY3`). */
export function implicitProjects(indices: readonly number[]): WorkerProjects {
  return {
    declared: false,
    projects: [...indices]
      .sort((a, b) => a - b)
      .map((index) => ({ label: `key${index}`, keys: [index], weight: 1, lists: true })),
    globalKeys: new Map(),
  };
}

/** One of this worker's keys: its binding's n and its global number in the pool. */
export interface HeldKey {
  readonly index: number;
  readonly global: number;
}

/**
 * The projects of the keys `held`, given every key's label in global order (`labels[g - 1]` is global key g's).
 * A project's weight is its keys here over its keys in the pool; it lists when its first key in the pool is here.
 */
export function declaredProjects(labels: readonly string[], held: readonly HeldKey[]): WorkerProjects {
  const inPool = new Map<string, { count: number; first: number }>();
  labels.forEach((label, i) => {
    const seen = inPool.get(label);
    inPool.set(label, seen === undefined ? { count: 1, first: i + 1 } : { ...seen, count: seen.count + 1 });
  });
  const here = new Map<string, HeldKey[]>();
  for (const key of [...held].sort((a, b) => a.index - b.index)) {
    const label = labels[key.global - 1] ?? `key${key.global}`;
    here.set(label, [...(here.get(label) ?? []), key]);
  }
  const projects = [...here].map(([label, keys]): KeyProject => {
    const pool = inPool.get(label) ?? { count: keys.length, first: keys[0]?.global ?? 0 };
    return {
      label,
      keys: keys.map((k) => k.index),
      weight: keys.length / pool.count,
      lists: keys.some((k) => k.global === pool.first),
    };
  });
  return {
    declared: true,
    projects,
    globalKeys: new Map(held.map((k) => [k.index, k.global])),
    pool: { keys: labels.length, projects: inPool.size },
  };
}

/** The project `KEY<index>` belongs to; undefined for a key this worker does not hold. */
export function projectOfKey(projects: WorkerProjects, index: number): KeyProject | undefined {
  return projects.projects.find((p) => p.keys.includes(index));
}

/** The projects restricted to `indices` (the keys a call may use), those left without a key dropped. */
export function projectsAmong(projects: readonly KeyProject[], indices: readonly number[]): KeyProject[] {
  const allowed = new Set(indices);
  return projects.map((p) => ({ ...p, keys: p.keys.filter((k) => allowed.has(k)) })).filter((p) => p.keys.length > 0);
}

/** A worker's projects: as `KEY_PROJECTS` declares them, else every key its own. */
export function workerProjects(config: ShardConfig): WorkerProjects {
  return config.projects ?? implicitProjects(config.keys.map((k) => k.index));
}

/**
 * The project whose keys may serve a call on `key`'s resources (Google keeps them per project); with `only`, a
 * project of `key` alone (an upload session Google opened for that key).
 */
export function ownerProject(config: ShardConfig, key: PoolKey, only = false): KeyProject {
  const project = only ? undefined : projectOfKey(workerProjects(config), key.index);
  return project ?? { label: `key${key.index}`, keys: [key.index], weight: 1, lists: true };
}

/** The key that names a project's resources: its first key in this worker. */
export function representativeKey(config: ShardConfig, key: PoolKey): PoolKey {
  const first = ownerProject(config, key).keys[0];
  return config.keys.find((k) => k.index === first) ?? key;
}
