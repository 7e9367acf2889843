/**
 * The projects part of `GET /zen/status` (see `./status`): each Google project of the worker with its keys, whether
 * it can serve (a project cools for a model when every key of it still in use cools for that model, as a quota the
 * project shares makes them), and the capacity line, "20 keys in 11 projects": Google counts quota per project, so
 * the projects, not the keys, are what the pool can serve. Pure: the handler passes the pool's snapshot.
 *
 * @module
 */
import type { CooldownReason, KeySnapshot } from './key-pool';
import type { WorkerProjects } from './key-projects';

export type ProjectState = 'ok' | 'cooling' | 'removed';

export interface ProjectCooling {
  readonly model: string;
  /** ISO-8601 instant the first of its keys may serve this model again */
  readonly until: string;
  readonly reason: CooldownReason;
}

export interface ProjectStatus {
  /** the user's label (`KEY_PROJECTS`), or `key<n>` when every key is its own project */
  readonly project: string;
  /** n of the worker's `KEY<n>` bindings */
  readonly keys: readonly number[];
  /** their global numbers (places in `TF_VAR_api_keys`), where the layout says them */
  readonly globalKeys?: readonly number[];
  /** its share of the pool's quota held by this worker (1 unless the project is split across shards) */
  readonly weight: number;
  /** removed: every key removed; cooling: for each model in `cooling`, every key still in use cools; else ok */
  readonly state: ProjectState;
  readonly cooling?: readonly ProjectCooling[];
}

export interface Capacity {
  /** whether the projects are the user's (`KEY_PROJECTS`) rather than one per key */
  readonly declared: boolean;
  /** the whole pool, where the layout says it */
  readonly pool?: { readonly keys: number; readonly projects: number; readonly line: string };
  /** this worker: its keys, its projects, and their share of the pool's quota */
  readonly worker: { readonly keys: number; readonly projects: number; readonly share: number };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** "20 keys in 11 projects". */
export function capacityLine(keys: number, projects: number): string {
  return `${keys} key${keys === 1 ? '' : 's'} in ${projects} project${projects === 1 ? '' : 's'}`;
}

/** The models every key in use cools for, each with the soonest of their cooldowns (when the project frees). */
function sharedCooldowns(keys: readonly KeySnapshot[]): ProjectCooling[] {
  const [first] = keys;
  if (first === undefined) return [];
  const shared: ProjectCooling[] = [];
  for (const { model } of first.cooldowns) {
    const each = keys.map((k) => k.cooldowns.find((c) => c.model === model));
    if (!each.every((c): c is KeySnapshot['cooldowns'][number] => c !== undefined)) continue;
    const soonest = each.reduce((a, b) => (b.until < a.until ? b : a));
    shared.push({ model, until: iso(soonest.until), reason: soonest.reason });
  }
  return shared;
}

/** Each project's status from its keys' snapshots. */
export function projectStatuses(projects: WorkerProjects, keys: readonly KeySnapshot[]): ProjectStatus[] {
  const byIndex = new Map(keys.map((k) => [k.index, k]));
  return projects.projects.map((p) => {
    const snapshots = p.keys.map((k) => byIndex.get(k)).filter((k): k is KeySnapshot => k !== undefined);
    const inUse = snapshots.filter((k) => k.removed === undefined);
    const cooling = sharedCooldowns(inUse);
    const globals = p.keys.map((k) => projects.globalKeys.get(k));
    const state: ProjectState = inUse.length === 0 ? 'removed' : cooling.length > 0 ? 'cooling' : 'ok';
    return {
      project: p.label,
      keys: p.keys,
      ...(globals.every((g) => g !== undefined) && globals.length > 0 ? { globalKeys: globals } : {}),
      weight: p.weight,
      state,
      ...(state === 'cooling' ? { cooling } : {}),
    };
  });
}

/** What the worker holds of the pool's capacity, and the pool's where the layout says it. */
export function capacityOf(projects: WorkerProjects): Capacity {
  const keys = projects.projects.reduce((n, p) => n + p.keys.length, 0);
  const share = projects.projects.reduce((sum, p) => sum + p.weight, 0);
  const { pool } = projects;
  return {
    declared: projects.declared,
    ...(pool !== undefined ? { pool: { ...pool, line: capacityLine(pool.keys, pool.projects) } } : {}),
    worker: { keys, projects: projects.projects.length, share: Math.round(share * 1000) / 1000 },
  };
}
