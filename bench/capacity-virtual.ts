/**
 * The synthesized prod stack run in this process on a simulated clock, for the capacity benchmark's `--clock
 * virtual`: the orchestrator's `routeRequest` in front of each shard's `handleRequest`, each given exactly the bindings
 * the workerd emulation would bind (the same synth output, the same variants), its own key pool, and the simulated
 * clock and seeded randomness as the workers' injected time and chance. Only the shards' calls to Google leave the
 * process, to the fake Gemini over loopback, whose quota windows read the same clock. So the figures depend on the
 * routing code and the arrivals, not on how busy the machine is.
 */
import { parseShardAttempts, parseShardTimeoutMs, type BoundBackend } from '../workers/orchestrator/backends';
import { routeRequest } from '../workers/orchestrator/route-request';
import { KeyPool } from '../workers/shard/core/key-pool';
import { handleRequest, type HandlerDeps } from '../workers/shard/edge/handler';
import { backendScripts, type Topology } from '../scripts/local/emulated-topology';
import { seededRandom, type Random } from './capacity-model';
import type { Variant } from './capacity-topology';

export interface InProcessGateway {
  /** one request through the orchestrator, as a client sends it */
  send(request: Request): Promise<Response>;
}

export interface VirtualClock {
  /** epoch milliseconds of the simulated clock */
  readonly now: () => number;
  /** seeds the orchestrator's and every shard isolate's randomness */
  readonly seed: number;
}

function textBindings(options: { readonly bindings?: unknown }, extra?: Readonly<Record<string, string>>) {
  const bound = (options.bindings ?? {}) as Record<string, unknown>;
  const text = Object.fromEntries(
    Object.entries(bound).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
  return { ...text, ...extra };
}

/** One shard isolate: its own key pool, randomness and ids, the shared clock, and the real network to the fake. */
function shardIsolate(
  env: Record<string, string>,
  clock: VirtualClock,
  random: Random,
): (r: Request) => Promise<Response> {
  let ids = 0;
  const deps: HandlerDeps = {
    fetch: (url, init) => fetch(url, init),
    now: clock.now,
    random,
    // nothing may wait on a simulated clock that only the load generator moves: a wait is refused at once
    sleep: async () => false,
    log: () => undefined,
    pool: new KeyPool(),
    randomUUID: () => `virtual-${++ids}`,
  };
  return (request) => handleRequest(request, env, deps);
}

function oneOf<T>(items: readonly T[], random: Random): T {
  const item = items[Math.min(items.length - 1, Math.floor(random() * items.length))];
  if (item === undefined) throw new RangeError('oneOf needs at least one item');
  return item;
}

/**
 * The gateway of `topology` as `variant` changes it, in this process. A variant that replaces the shards' code cannot
 * run here (it is an ES module string for workerd), so it is refused.
 */
export function inProcessGateway(topology: Topology, variant: Variant, clock: VirtualClock): InProcessGateway {
  if (variant.shardCode !== undefined) throw new Error('a variant with its own shard code runs only in workerd');
  const random = seededRandom(clock.seed);
  const byScript = new Map(topology.workers.map((w) => [w.scriptName, w]));
  const backends: BoundBackend[] = [...backendScripts(topology)].map(([index, script]) => {
    const worker = byScript.get(script);
    if (worker === undefined) throw new Error(`BACKEND_SERVICE_${index} names ${script}, which is not in the stack`);
    const env = textBindings(worker.options, variant.shardBindings);
    const copies = Array.from({ length: variant.copiesPerShard ?? 1 }, (_, c) =>
      shardIsolate(env, clock, seededRandom(clock.seed + 7919 * (index + 1) + c)),
    );
    // like the bench's spreader in workerd: each request to one isolate of the shard at random
    return { index, backend: { fetch: (r: Request) => oneOf(copies, random)(r) } };
  });
  const env = textBindings(topology.publicWorker.options, variant.orchestratorBindings);
  let ids = 0;
  return {
    send: (request) =>
      routeRequest(request, backends, {
        random,
        now: clock.now,
        randomUUID: () => `virtual-orchestrator-${++ids}`,
        log: () => undefined,
        attempts: parseShardAttempts(env.SHARD_ATTEMPTS),
        timeoutMs: parseShardTimeoutMs(env.SHARD_TIMEOUT_MS),
        // no deadline fires on a simulated clock; a shard that threw still answers 502
        startTimer: () => () => undefined,
        shardKeyCounts: env.SHARD_KEY_COUNTS,
        keyProjects: env.KEY_PROJECTS,
        keysPerShard: env.KEYS_PER_SHARD,
      }),
  };
}
