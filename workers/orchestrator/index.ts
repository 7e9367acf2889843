/**
 * The public entry worker: forwards every request to one of the `BACKEND_SERVICE_<n>` shards, drawn at random in
 * proportion to its share of the pool's quota, or a conversation's home shard. All behaviour lives in
 * {@link routeRequest}; this file only wires the runtime in.
 *
 * @module
 */
import type { BackendBindingName, OrchestratorSettingName, TextBindings } from '../shared/contract';
import { discoverBackends, parseShardAttempts, parseShardTimeoutMs } from './backends';
import { routeRequest } from './route-request';

/**
 * The bindings the orchestrator reads, named by the contract (which also holds their defaults) and declared by the
 * Orchestrator construct: service bindings to the shards, `BACKEND_SERVICE_0..N-1`, and as plain text
 * `SHARD_ATTEMPTS` (shards one request may try while shards refuse from their own key pool), `SHARD_TIMEOUT_MS`
 * (deadline in ms for a shard's response headers) and `SHARD_KEY_COUNTS` (key count of each shard, "8,8,4", entry n
 * for `BACKEND_SERVICE_<n>`; absent means uniform weights, logged), and, only when the user declared the keys'
 * projects, `KEY_PROJECTS` and `KEYS_PER_SHARD` (the layout the shards were placed by; see `../shared/key-layout`).
 */
export type OrchestratorEnv = TextBindings<OrchestratorSettingName> & { readonly [K in BackendBindingName]: Fetcher };

export default {
  fetch(request, env) {
    return routeRequest(request, discoverBackends<Fetcher>(env), {
      random: Math.random,
      now: Date.now,
      randomUUID: () => crypto.randomUUID(),
      log: (line) => console.log(line),
      attempts: parseShardAttempts(env.SHARD_ATTEMPTS),
      timeoutMs: parseShardTimeoutMs(env.SHARD_TIMEOUT_MS),
      shardKeyCounts: env.SHARD_KEY_COUNTS,
      keyProjects: env.KEY_PROJECTS,
      keysPerShard: env.KEYS_PER_SHARD,
      startTimer: (ms, onExpire) => {
        const timer = setTimeout(onExpire, ms);
        return () => clearTimeout(timer);
      },
    });
  },
  // `satisfies` keeps the handler type-checked while leaving `fetch` callable with plain arguments.
} satisfies ExportedHandler<OrchestratorEnv>;
