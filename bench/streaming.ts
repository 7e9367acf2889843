/**
 * Benchmark 3: streaming latency. The fake upstream sends 20 SSE chunks 50 ms apart; time to first and last byte is
 * measured through the full chain (orchestrator → shard → fake) and straight from the fake, interleaved.
 */
import { Agent } from 'node:http';
import { startFakeGemini } from '../dev/fake-gemini';
import { fmt, printTable, runBenchmark, summarize } from './stats';
import { startBenchTopology, timedRequest } from './bench-topology';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 40);
const CHUNKS = 20;
const GAP_MS = 50;
const BODY = JSON.stringify({
  model: 'gemini-3.8-flash',
  stream: true,
  messages: [{ role: 'user', content: 'count' }],
});

async function main(): Promise<void> {
  const fake = await startFakeGemini({ port: 0, streamChunks: CHUNKS, chunkDelayMs: GAP_MS });
  const topology = await startBenchTopology({ upstreamUrl: fake.url, shards: 2 });
  const agent = new Agent({ keepAlive: true });
  const fakePort = Number(new URL(fake.url).port);
  try {
    const chain = { first: [] as number[], last: [] as number[] };
    const shard = { first: [] as number[], last: [] as number[] };
    const direct = { first: [] as number[], last: [] as number[] };
    for (let i = 0; i < STREAMS; i++) {
      const viaChain = await topology.send('orchestrator', '/v1/chat/completions', BODY);
      const viaShard = await topology.send('shard', '/v1/chat/completions', BODY);
      const viaFake = await timedRequest(agent, fakePort, '127.0.0.1', '/v1beta/openai/chat/completions', BODY);
      for (const [res, into] of [
        [viaChain, chain],
        [viaShard, shard],
        [viaFake, direct],
      ] as const) {
        if (res.status !== 200 || !res.body.includes('[DONE]'))
          throw new Error(`stream failed: ${res.status} ${res.body.slice(0, 200)}`);
        into.first.push(res.firstByteMs);
        into.last.push(res.totalMs);
      }
      fake.reset();
    }
    const rows = [
      ['orchestrator → shard → fake', chain],
      ['shard → fake', shard],
      ['fake directly', direct],
    ] as const;
    process.stdout.write(`Streaming (${STREAMS} streams per path, ${CHUNKS} chunks ${GAP_MS} ms apart)\n\n`);
    printTable(
      ['path', 'first byte p50 ms', 'first byte p99 ms', 'last byte p50 ms', 'last byte p99 ms'],
      rows.map(([name, s]) => {
        const f = summarize(s.first);
        const l = summarize(s.last);
        return [name, fmt(f.p50), fmt(f.p99), fmt(l.p50), fmt(l.p99)];
      }),
    );
    const added = summarize(chain.first).p50 - summarize(direct.first).p50;
    process.stdout.write(
      `added time to first byte (p50): ${fmt(added)} ms; ratio of last-byte medians: ${fmt(summarize(chain.last).p50 / summarize(direct.last).p50, 3)}\n`,
    );
  } finally {
    agent.destroy();
    await topology.dispose();
    await fake.close();
  }
}

runBenchmark(main);
