/**
 * The public entry worker: forwards every request to one of the `BACKEND_SERVICE_<n>` shards, drawn at random in
 * proportion to its key count. All behaviour lives in {@link routeRequest}; this file only wires the runtime in.
 *
 * @module
 */
import { discoverBackends, parseShardAttempts, parseShardTimeoutMs } from './backends';
import { routeRequest } from './route-request';

export interface Env {
  /** Service bindings to the src shards, `BACKEND_SERVICE_0..N-1`, declared by the Orchestrator construct. */
  readonly [binding: `BACKEND_SERVICE_${number}`]: Fetcher;
  /** Shards one request may try while shards refuse from their own key pool; plain text. @default "3" */
  readonly SHARD_ATTEMPTS?: string;
  /** Deadline in ms for a shard's response headers; plain text. @default "130000" */
  readonly SHARD_TIMEOUT_MS?: string;
  /** Key count of each shard, "8,8,4" (entry n for `BACKEND_SERVICE_<n>`); plain text. @default - uniform, logged */
  readonly SHARD_KEY_COUNTS?: string;
}

export default {
  fetch(request, env) {
    return routeRequest(request, discoverBackends<Fetcher>(env as unknown as Record<string, unknown>), {
      random: Math.random,
      now: Date.now,
      randomUUID: () => crypto.randomUUID(),
      log: (line) => console.log(line),
      attempts: parseShardAttempts(env.SHARD_ATTEMPTS),
      timeoutMs: parseShardTimeoutMs(env.SHARD_TIMEOUT_MS),
      shardKeyCounts: env.SHARD_KEY_COUNTS,
      startTimer: (ms, onExpire) => {
        const timer = setTimeout(onExpire, ms);
        return () => clearTimeout(timer);
      },
    });
  },
  // `satisfies` keeps the handler type-checked while leaving `fetch` callable with plain arguments.
} satisfies ExportedHandler<Env>;
