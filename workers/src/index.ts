/**
 * The src worker: holds a shard of Gemini API keys and serves OpenAI-compatible and native Gemini requests on
 * them, cooling rate-limited keys and failing over between them. Logic lives in the modules beside this file;
 * this handler only supplies the real clock, randomness, network and the per-isolate key pool.
 */
import type { SrcEnv } from './config';
import { handleRequest } from './handler';
import { KeyPool } from './key-pool';
import { consoleLogger } from './log';

export type Env = SrcEnv;

// module scope: cooldowns and removed keys last as long as the isolate, shared by its concurrent requests
const pool = new KeyPool();

export default {
  fetch(request, env) {
    return handleRequest(request, env, {
      fetch: (url, init) => fetch(url, init),
      now: () => Date.now(),
      random: () => Math.random(),
      randomUUID: () => crypto.randomUUID(),
      log: consoleLogger,
      pool,
    });
  },
} satisfies ExportedHandler<Env>;
