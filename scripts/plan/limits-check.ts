/**
 * The plan limits a deploy is checked against (`constructs/limits.ts`), measured on the synthesized stacks: synth
 * already refuses a configuration past the first two, so here they show the headroom; the last two synth cannot see
 * (a request's subrequest chain, the compressed code size) and are checked only here.
 *
 * A client request costs at most, through the orchestrator, one service-binding call per shard attempt, and in each
 * shard one Google call per key attempt plus a key probe after each 403 that names no reason. Whether the shards'
 * calls count against the orchestrator's request is not documented, so they are counted in: the figure is the worst
 * case of the whole chain.
 *
 * @module
 */
import { INVOCATIONS_PER_REQUEST, PLAN_LIMITS, type WorkersPlan } from '../../constructs/limits';
import { DEFAULT_SHARD_ATTEMPTS } from '../../workers/shared/contract';
import { MAX_ATTEMPTS } from '../../workers/shard/core/upstream';
import type { StackSummary } from './stack-summary';
import type { WorkerSummary } from './worker-summary';

/** Worst-case upstream calls of one shard for one request: each key attempt, and a key probe after each. */
export const SHARD_CALLS_PER_REQUEST = MAX_ATTEMPTS * 2;

export interface LimitCheck {
  /** what is limited, in words */
  readonly limit: string;
  /** where the highest value is (a worker, a stack, the account) */
  readonly where: string;
  readonly value: number;
  readonly max: number;
  /** bytes for a size, so it can be printed as such */
  readonly unit?: 'bytes';
  readonly ok: boolean;
  /** what the figure leaves out or assumes */
  readonly note?: string;
}

function check(limit: string, where: string, value: number, max: number, extra: Partial<LimitCheck> = {}): LimitCheck {
  return { limit, where, value, max, ok: value <= max, ...extra };
}

function fullest<T>(items: readonly T[], measure: (item: T) => number): T | undefined {
  return items.reduce<T | undefined>(
    (best, item) => (best === undefined || measure(item) > measure(best) ? item : best),
    undefined,
  );
}

function envVarCheck(workers: readonly WorkerSummary[], plan: WorkersPlan): LimitCheck | undefined {
  const worker = fullest(workers, (w) => w.envVars);
  if (worker === undefined) return undefined;
  return check(
    'environment variables per worker (secret + plain text)',
    worker.scriptName,
    worker.envVars,
    PLAN_LIMITS[plan].envVarsPerWorker,
  );
}

function workerCountCheck(stacks: readonly StackSummary[], plan: WorkersPlan): LimitCheck {
  const count = stacks.reduce((n, s) => n + s.workers.length, 0);
  return check(
    'workers per account',
    stacks.map((s) => s.stack).join(' + '),
    count,
    PLAN_LIMITS[plan].workersPerAccount,
    {
      note: 'workers the account already has count too',
    },
  );
}

interface RequestChain {
  readonly worker: string;
  readonly subrequests: number;
  readonly invocations: number;
  readonly note: string;
}

const KEY_CALLS = `${MAX_ATTEMPTS} key attempts + ${MAX_ATTEMPTS} key probes`;

/** Subrequests and invocations of one client request to the stack's public worker, in the worst case. */
function requestChain(stack: StackSummary): RequestChain | undefined {
  const orchestrator = stack.workers.find((w) => w.role === 'orchestrator');
  if (orchestrator !== undefined) {
    const shards = orchestrator.bindings.filter((b) => b.type === 'service').length;
    // it tries each shard at most once
    const attempts = Math.min(orchestrator.shardAttempts ?? DEFAULT_SHARD_ATTEMPTS, shards);
    return {
      worker: orchestrator.scriptName,
      subrequests: attempts + attempts * SHARD_CALLS_PER_REQUEST,
      invocations: 1 + attempts,
      note: `${attempts} shard attempts × (1 call + ${KEY_CALLS}), counted over the whole chain`,
    };
  }
  const single = stack.workers.find((w) => w.keys.length > 0);
  if (single === undefined) return undefined;
  return { worker: single.scriptName, subrequests: SHARD_CALLS_PER_REQUEST, invocations: 1, note: KEY_CALLS };
}

function chainChecks(stacks: readonly StackSummary[], plan: WorkersPlan): LimitCheck[] {
  return stacks.flatMap((stack) => {
    const chain = requestChain(stack);
    if (chain === undefined) return [];
    const { worker, subrequests, invocations, note } = chain;
    return [
      check('subrequests per client request', worker, subrequests, PLAN_LIMITS[plan].subrequestsPerRequest, { note }),
      check('worker invocations per client request', worker, invocations, INVOCATIONS_PER_REQUEST),
    ];
  });
}

function sizeChecks(stacks: readonly StackSummary[], plan: WorkersPlan): LimitCheck[] {
  const bundles = new Map<string, { worker: string; bytes: number }>();
  for (const worker of stacks.flatMap((s) => s.workers)) {
    const { sha256, gzipBytes, mainModule } = worker.code;
    if (gzipBytes === undefined) continue;
    const id = sha256 ?? worker.scriptName;
    if (!bundles.has(id)) bundles.set(id, { worker: mainModule ?? worker.scriptName, bytes: gzipBytes });
  }
  return [...bundles.values()].map((b) =>
    check('worker size after gzip', b.worker, b.bytes, PLAN_LIMITS[plan].workerSizeBytes, { unit: 'bytes' }),
  );
}

/** Every check for the stacks deployed together on one account, on `plan`. */
export function checkLimits(stacks: readonly StackSummary[], plan: WorkersPlan): LimitCheck[] {
  const workers = stacks.flatMap((s) => s.workers);
  const envVars = envVarCheck(workers, plan);
  return [
    ...(envVars === undefined ? [] : [envVars]),
    workerCountCheck(stacks, plan),
    ...chainChecks(stacks, plan),
    ...sizeChecks(stacks, plan),
  ];
}
