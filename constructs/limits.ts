/**
 * Cloudflare Workers platform limits that synth checks before Terraform ever talks to the API.
 *
 * @see https://developers.cloudflare.com/workers/platform/limits/
 */
import {
  ANTHROPIC_MODEL_MAP_BINDING,
  CLIENT_LIMITS_BINDING,
  LAYOUT_BINDINGS,
  SHARD_INDEX_BINDING,
  SRC_WORKER_FIXED_BINDINGS,
  type SRC_WORKER_SHARD_BINDINGS,
  type SRC_WORKER_SURFACE_BINDINGS,
} from '../workers/shared/contract';

export const WORKERS_PLANS = ['free', 'paid'] as const;
export type WorkersPlan = (typeof WORKERS_PLANS)[number];

export interface PlanLimits {
  /** secret and plain-text bindings count together against this limit */
  readonly envVarsPerWorker: number;
  /** scripts per account, counting every worker this app deploys */
  readonly workersPerAccount: number;
  /** outgoing calls (fetch and service-binding calls) one request may make */
  readonly subrequestsPerRequest: number;
  /** size of one worker's code after compression (gzip), in bytes */
  readonly workerSizeBytes: number;
}

const MIB = 1024 * 1024;

export const PLAN_LIMITS: Readonly<Record<WorkersPlan, PlanLimits>> = {
  free: { envVarsPerWorker: 64, workersPerAccount: 100, subrequestsPerRequest: 50, workerSizeBytes: 3 * MIB },
  paid: { envVarsPerWorker: 128, workersPerAccount: 500, subrequestsPerRequest: 10_000, workerSizeBytes: 10 * MIB },
};

/** Worker invocations one request may chain through service bindings, the first worker's own included, on every plan. */
export const INVOCATIONS_PER_REQUEST = 32;

export type ShardWorkerSurfaceBindingName = (typeof SRC_WORKER_SURFACE_BINDINGS)[number] | typeof CLIENT_LIMITS_BINDING;

/**
 * The setting bindings a shard worker binds with these settings, in binding order: the surface bindings, then
 * `CLIENT_LIMITS` when some client has a limit. Each is bound only when its setting is given, and each takes one
 * environment variable from the keys.
 */
export function boundSurfaceBindings(settings: {
  readonly anthropicModelMap?: unknown;
  readonly clientLimits?: Readonly<Record<string, unknown>>;
}): readonly ShardWorkerSurfaceBindingName[] {
  const limited = settings.clientLimits !== undefined && Object.keys(settings.clientLimits).length > 0;
  const map: readonly ShardWorkerSurfaceBindingName[] =
    settings.anthropicModelMap === undefined ? [] : [ANTHROPIC_MODEL_MAP_BINDING];
  return limited ? [...map, CLIENT_LIMITS_BINDING] : map;
}

export type ShardWorkerBindingName = (typeof SRC_WORKER_SHARD_BINDINGS)[number];

export type LayoutBindingName = (typeof LAYOUT_BINDINGS)[number];

/**
 * Every binding a shard worker binds besides its keys and the fixed ones, in binding order: `SHARD_INDEX` when it is a
 * shard behind the orchestrator (`asShard`), then the surface bindings (see {@link boundSurfaceBindings}), then
 * `KEY_PROJECTS` and `KEYS_PER_SHARD` when the keys' projects are given, then `CLIENT_LIMITS` when clients have limits.
 * Each takes one environment variable from the keys, so this is what the env-var limit checks count.
 */
export function boundOptionalBindings(settings: {
  readonly asShard: boolean;
  readonly anthropicModelMap?: unknown;
  readonly keyProjects?: unknown;
  readonly clientLimits?: Readonly<Record<string, unknown>>;
}): readonly (ShardWorkerBindingName | ShardWorkerSurfaceBindingName | LayoutBindingName)[] {
  const shard: readonly ShardWorkerBindingName[] = settings.asShard ? [SHARD_INDEX_BINDING] : [];
  const layout: readonly LayoutBindingName[] = settings.keyProjects === undefined ? [] : LAYOUT_BINDINGS;
  const bound = boundSurfaceBindings(settings);
  // in binding order: CLIENT_LIMITS comes last, so setting or unsetting it moves no other binding
  const limits = bound.filter((name) => name === CLIENT_LIMITS_BINDING);
  return [...shard, ...bound.filter((name) => name !== CLIENT_LIMITS_BINDING), ...layout, ...limits];
}

/**
 * How many `KEY<n>` bindings one shard worker can hold on a plan, beside the fixed bindings and the optional bindings it
 * binds (see {@link boundOptionalBindings}).
 */
export function maxKeysPerWorker(plan: WorkersPlan, optionalBindings: readonly string[] = []): number {
  return PLAN_LIMITS[plan].envVarsPerWorker - SRC_WORKER_FIXED_BINDINGS.length - optionalBindings.length;
}

/**
 * How many keys the preview worker binds: the first `keyCount` keys, fewer when one worker cannot hold them all or
 * `keyLimit` asks for fewer. `config.ts` prints the notice and `PreviewStack` binds them, from this one rule.
 */
export function previewBoundKeyCount(
  keyCount: number,
  plan: WorkersPlan,
  keyLimit?: number,
  surfaceBindings: readonly string[] = [],
): number {
  return Math.min(keyCount, maxKeysPerWorker(plan, surfaceBindings), keyLimit ?? Number.POSITIVE_INFINITY);
}

/**
 * A script name is the first label of `<name>.<subdomain>.workers.dev`, so it must be a DNS label: at most 63
 * characters, lower-case letters, digits and inner hyphens (Cloudflare also accepts `_`, but it breaks the TLS
 * hostname on workers.dev).
 */
export const SCRIPT_NAME_MAX_LENGTH = 63;
export const SCRIPT_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
