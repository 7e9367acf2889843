/**
 * `GET /zen/status` on a shard worker: every key by its index (never its value) with its state in this isolate, what
 * this isolate has seen of it, and the isolate's request count; then its Google projects and the pool's capacity
 * (`./project-status`). Pure: the handler passes the pool's snapshot and
 * the time.
 *
 * Cloudflare runs a worker in many isolates at once, each with its own pool, so the answer describes the isolate
 * that served it; another request may land in another isolate with other cooldowns and counters.
 *
 * @module
 */
import { STATUS_PATH } from '../../shared/contract';
import type { CooldownReason, KeySnapshot } from './key-pool';
import type { WorkerProjects } from './key-projects';
import { type Capacity, capacityOf, type ProjectStatus, projectStatuses } from './project-status';

// the contract defines it (both workers serve it); re-exported so the handler routes on it with this module's names
export { STATUS_PATH };

/** The route name status requests carry in log lines. */
export const STATUS_ROUTE = 'zen.status';

/** Said in every answer, so nobody reads one isolate's view as the whole gateway's. */
export const ISOLATE_NOTE =
  "Cooldowns, removals and counters are this isolate's own: Cloudflare runs many isolates of a worker, each keeps its own, and this answer comes from one of them.";

export type KeyState = 'ok' | 'cooling' | 'removed';

export interface KeyStatus {
  /** n of the worker's `KEY<n>` binding */
  readonly key: number;
  readonly state: KeyState;
  /** removed only: Google's reason (`API_KEY_INVALID`, `UNAUTHENTICATED`, `PERMISSION_DENIED`, ...) */
  readonly reason?: string;
  /** cooling only: per model (`*` = requests that name none), soonest first */
  readonly cooling?: readonly {
    readonly model: string;
    /** ISO-8601 instant the key may serve this model again */
    readonly until: string;
    readonly reason: CooldownReason;
  }[];
  /** upstream calls this isolate made with the key (failovers and 403 probes included) */
  readonly requests: number;
  /** its Google project's label (see `projects`), when `KEY_PROJECTS` declares them */
  readonly project?: string;
  /** its global number (its place in `TF_VAR_api_keys`), where the layout says it */
  readonly globalKey?: number;
  /** of those, answered 429 */
  readonly rateLimited: number;
  readonly lastError?: {
    readonly status?: number;
    readonly code?: string;
    /** ISO-8601 */
    readonly at: string;
  };
}

export interface WorkerStatus {
  /** ISO-8601 time of the answer */
  readonly time: string;
  readonly scope: 'isolate';
  readonly note: string;
  /** client requests this isolate handled (status requests not counted) */
  readonly requests: number;
  /** ISO-8601 time of the first of them; null before any */
  readonly since: string | null;
  readonly summary: Readonly<Record<KeyState, number>>;
  readonly keys: readonly KeyStatus[];
  /** the worker's Google projects, each with its keys and whether it can serve (see `./project-status`) */
  readonly projects?: readonly ProjectStatus[];
  /** "20 keys in 11 projects": the pool's capacity, and this worker's part of it */
  readonly capacity?: Capacity;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function keyStatus(snapshot: KeySnapshot): KeyStatus {
  const counters = {
    requests: snapshot.calls,
    rateLimited: snapshot.rateLimited,
    ...(snapshot.lastError !== undefined
      ? {
          lastError: {
            ...(snapshot.lastError.status !== undefined ? { status: snapshot.lastError.status } : {}),
            ...(snapshot.lastError.code !== undefined ? { code: snapshot.lastError.code } : {}),
            at: iso(snapshot.lastError.at),
          },
        }
      : {}),
  };
  if (snapshot.removed !== undefined) {
    return { key: snapshot.index, state: 'removed', reason: snapshot.removed, ...counters };
  }
  if (snapshot.cooldowns.length > 0) {
    const cooling = snapshot.cooldowns.map((c) => ({ model: c.model, until: iso(c.until), reason: c.reason }));
    return { key: snapshot.index, state: 'cooling', cooling, ...counters };
  }
  return { key: snapshot.index, state: 'ok', ...counters };
}

/** Each key's status with its project and global number beside it. */
function withProjects(statuses: readonly KeyStatus[], projects: WorkerProjects): KeyStatus[] {
  // an implicit label (`key3`) says nothing the key's own number does not
  const labels = new Map(
    projects.declared ? projects.projects.flatMap((p) => p.keys.map((k) => [k, p.label] as const)) : [],
  );
  return statuses.map((status) => {
    const project = labels.get(status.key);
    const globalKey = projects.globalKeys.get(status.key);
    return {
      ...status,
      ...(project !== undefined ? { project } : {}),
      ...(globalKey !== undefined ? { globalKey } : {}),
    };
  });
}

/** The status answer of one shard worker isolate; with `projects`, its projects and capacity too. */
export function workerStatus(
  keys: readonly KeySnapshot[],
  requests: { readonly count: number; readonly since?: number },
  now: number,
  projects?: WorkerProjects,
): WorkerStatus {
  const statuses = keys.map(keyStatus);
  const count = (state: KeyState): number => statuses.filter((k) => k.state === state).length;
  return {
    time: iso(now),
    scope: 'isolate',
    note: ISOLATE_NOTE,
    requests: requests.count,
    since: requests.since === undefined ? null : iso(requests.since),
    summary: { ok: count('ok'), cooling: count('cooling'), removed: count('removed') },
    keys: projects === undefined ? statuses : withProjects(statuses, projects),
    ...(projects !== undefined ? { projects: projectStatuses(projects, keys), capacity: capacityOf(projects) } : {}),
  };
}
