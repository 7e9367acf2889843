/**
 * Benchmark 2: the orchestrator hop. The same chat request goes orchestrator → shard → fake upstream and straight to a
 * shard, interleaved one by one so both paths see the same machine load; prints p50/p99 of each and their ratio.
 */
import { startFakeGemini } from '../dev/fake-gemini';
import { fmt, printTable, runBenchmark, summarize } from './stats';
import { startBenchTopology } from './bench-topology';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3000);
const WARMUP = 200;
const CHAT = JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'ping' }] });

async function main(): Promise<void> {
  const fake = await startFakeGemini({ port: 0 });
  const topology = await startBenchTopology({ upstreamUrl: fake.url, shards: 4 });
  try {
    const via: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < WARMUP + REQUESTS; i++) {
      // alternate which path goes first so neither always benefits from a warm socket
      const order = i % 2 === 0 ? (['orchestrator', 'shard'] as const) : (['shard', 'orchestrator'] as const);
      for (const path of order) {
        const res = await topology.send(path, '/v1/chat/completions', CHAT);
        if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${res.body.slice(0, 300)}`);
        if (i >= WARMUP) (path === 'orchestrator' ? via : direct).push(res.totalMs);
      }
      if (i % 500 === 0) fake.reset();
    }
    const a = summarize(via);
    const b = summarize(direct);
    process.stdout.write(
      `Orchestrator hop (${REQUESTS} requests per path, interleaved, after ${WARMUP} warm-up pairs)\n\n`,
    );
    printTable(
      ['path', 'p50 ms', 'p90 ms', 'p99 ms'],
      [
        ['client → orchestrator → shard → fake', fmt(a.p50, 3), fmt(a.p90, 3), fmt(a.p99, 3)],
        ['client → shard → fake', fmt(b.p50, 3), fmt(b.p90, 3), fmt(b.p99, 3)],
      ],
    );
    process.stdout.write(
      `ratio of medians: ${fmt(a.p50 / b.p50, 3)}; added p50: ${fmt(a.p50 - b.p50, 3)} ms; added p99: ${fmt(a.p99 - b.p99, 3)} ms\n`,
    );
  } finally {
    await topology.dispose();
    await fake.close();
  }
}

runBenchmark(main);
