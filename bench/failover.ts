/**
 * Benchmark 4: failover. One shard with 8 keys, of which 0, 1, 4 or 7 answer 429 (per-minute quota); each scenario
 * runs in a fresh workerd so cooldowns start empty. The baseline is the worker this project replaces: rotation over
 * the keys with no failover and no cooldown (a 429 goes back to the client).
 */
import { Miniflare } from 'miniflare';
import { Agent } from 'node:http';
import { bundleWorker } from '../bundler/worker-bundles';
import { startFakeGemini, type FakeGemini } from '../dev/fake-gemini';
import { DEFAULT_COMPATIBILITY_DATE } from '../workers/shared/contract';
import { fmt, printTable, runBenchmark, summarize } from './stats';
import { BENCH_PASS, QUIET, timedRequest } from './bench-topology';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const KEYS = 8;
const CHAT = JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'ping' }] });

/** Round robin over KEY<n> with a module counter and no failover, as zen-ai-router-worker did. */
const BASELINE_WORKER = `
let counter = 0;
export default {
  async fetch(request, env) {
    const keys = Object.keys(env).filter((k) => /^KEY\\d+$/.test(k)).sort((a, b) => a.slice(3) - b.slice(3)).map((k) => env[k]);
    const key = keys[counter++ % keys.length];
    const url = new URL(request.url);
    return fetch(env.GEMINI_BASE_URL + '/v1beta/openai' + url.pathname.replace(/^\\/v1/, ''), {
      method: request.method,
      headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
      body: request.body,
    });
  },
};`;

interface Outcome {
  readonly successRate: number;
  readonly p50: number;
  readonly p99: number;
  readonly upstreamCallsPerRequest: number;
}

async function scenario(fake: FakeGemini, script: string, badKeys: number): Promise<Outcome> {
  fake.reset();
  const keys = Array.from({ length: KEYS }, (_, i) => `bench-failover-key-${i + 1}`);
  for (const key of keys.slice(0, badKeys)) fake.setKeyBehaviour(key, 'quota-minute');
  const mf = new Miniflare({
    ...QUIET,
    host: '127.0.0.1',
    port: 0,
    modules: true,
    script,
    compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
    bindings: {
      ...Object.fromEntries(keys.map((k, i) => [`KEY${i + 1}`, k])),
      PASS: BENCH_PASS,
      GEMINI_BASE_URL: fake.url,
    },
  });
  const port = Number((await mf.ready).port);
  const agent = new Agent({ keepAlive: true });
  try {
    const latencies: number[] = [];
    let ok = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const res = await timedRequest(agent, port, 'bench.local', '/v1/chat/completions', CHAT);
      if (res.status === 200) ok++;
      latencies.push(res.totalMs);
    }
    const s = summarize(latencies);
    return {
      successRate: ok / REQUESTS,
      p50: s.p50,
      p99: s.p99,
      upstreamCallsPerRequest: fake.calls.length / REQUESTS,
    };
  } finally {
    agent.destroy();
    await mf.dispose();
  }
}

async function main(): Promise<void> {
  const fake = await startFakeGemini({ port: 0 });
  const src = bundleWorker('shard');
  try {
    // one discarded run per worker, so the first measured scenario does not also pay for JIT and socket warm-up
    await scenario(fake, src, 0);
    await scenario(fake, BASELINE_WORKER, 0);
    const rows: (string | number)[][] = [];
    let reference = Number.NaN;
    for (const bad of [0, 1, 4, 7]) {
      const ours = await scenario(fake, src, bad);
      const base = await scenario(fake, BASELINE_WORKER, bad);
      if (bad === 0) reference = ours.p50;
      rows.push([
        `${bad} of ${KEYS}`,
        `${fmt(ours.successRate * 100, 1)}%`,
        `${fmt(base.successRate * 100, 1)}%`,
        fmt(ours.p50, 3),
        fmt(ours.p99, 3),
        fmt(ours.p50 / reference, 3),
        fmt(ours.upstreamCallsPerRequest, 3),
        fmt(base.p50, 3),
      ]);
    }
    process.stdout.write(
      `Failover (${REQUESTS} sequential requests per scenario; a 429 key cools for its retryDelay)\n\n`,
    );
    printTable(
      [
        'keys answering 429',
        'success (this worker)',
        'success (baseline)',
        'p50 ms',
        'p99 ms',
        'p50 x no-429',
        'upstream calls / request',
        'baseline p50 ms',
      ],
      rows,
    );
  } finally {
    await fake.close();
  }
}

runBenchmark(main);
