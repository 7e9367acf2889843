/**
 * The public entry worker: forwards every request to one of the `BACKEND_SERVICE_<n>` shards, chosen uniformly at
 * random. All behaviour lives in {@link routeRequest}; this file only wires the runtime in.
 *
 * @module
 */
import { discoverBackends, parseShardAttempts, parseShardTimeoutMs } from './backends';
import { routeRequest } from './route';

export interface Env {
  /** Service bindings to the src shards, `BACKEND_SERVICE_0..N-1`, declared by the Orchestrator construct. */
  readonly [binding: `BACKEND_SERVICE_${number}`]: Fetcher;
  /** Shards one request may try when a shard throws or refuses from its key pool; plain text. @default "1" (no retry) */
  readonly SHARD_ATTEMPTS?: string;
  /** Deadline in ms for a shard's response headers; plain text. @default "130000" */
  readonly SHARD_TIMEOUT_MS?: string;
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
      startTimer: (ms, onExpire) => {
        const timer = setTimeout(onExpire, ms);
        return () => clearTimeout(timer);
      },
    });
  },
  // `satisfies` keeps the handler type-checked while leaving `fetch` callable with plain arguments.
} satisfies ExportedHandler<Env>;
