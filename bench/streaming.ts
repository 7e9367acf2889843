/**
 * Benchmark 3: streaming latency. The fake upstream sends 20 SSE chunks 50 ms apart; time to first and last byte is
 * measured through the full chain (orchestrator → shard → fake) and straight from the fake, interleaved. Then the
 * Responses API's stream, translated from Gemini's native stream chunk by chunk, against that native stream passed
 * through, both through the full chain: time to the first event and to the first text.
 */
import { Agent, request } from 'node:http';
import { startFakeGemini } from '../dev/fake-gemini';
import { fmt, printTable, runBenchmark, summarize } from './stats';
import { BENCH_PASS, type BenchTopology, startBenchTopology, timedRequest } from './bench-topology';

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
    await responsesVersusNative(topology, () => fake.reset());
  } finally {
    agent.destroy();
    await topology.dispose();
    await fake.close();
  }
}

interface MarkedTimes {
  readonly status: number;
  /** ms to the first body byte: the first event */
  readonly firstByteMs: number;
  /** ms to the first body byte of the chunk in which `marker` first appears: the first text */
  readonly markerMs: number;
  readonly totalMs: number;
}

/** A streamed POST through the orchestrator, timed to its first byte, to the first `marker` and to its end. */
function timedUntil(agent: Agent, port: number, path: string, body: string, marker: string): Promise<MarkedTimes> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    let firstByteMs = -1;
    let markerMs = -1;
    let seen = '';
    const headers = {
      host: 'orchestrator.bench',
      authorization: `Bearer ${BENCH_PASS}`,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    };
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers }, (res) => {
      res.on('data', (chunk: Buffer) => {
        const now = performance.now() - started;
        if (firstByteMs < 0) firstByteMs = now;
        if (markerMs < 0) {
          seen = (seen + chunk.toString('utf8')).slice(-4096);
          if (seen.includes(marker)) markerMs = now;
        }
      });
      res.on('end', () =>
        resolvePromise({ status: res.statusCode ?? 0, firstByteMs, markerMs, totalMs: performance.now() - started }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const RESPONSES_BODY = JSON.stringify({ model: 'gemini-3.8-flash', stream: true, input: 'count' });
const NATIVE_BODY = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'count' }] }] });
const NATIVE_PATH = `/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse&key=${BENCH_PASS}`;

/** The Responses stream and the native stream it is translated from, both through orchestrator → shard → fake. */
async function responsesVersusNative(topology: BenchTopology, reset: () => void): Promise<void> {
  const agent = new Agent({ keepAlive: true });
  const runs = { responses: [] as MarkedTimes[], native: [] as MarkedTimes[] };
  try {
    for (let i = 0; i < STREAMS; i++) {
      const responses = await timedUntil(agent, topology.port, '/v1/responses', RESPONSES_BODY, 'output_text.delta');
      const native = await timedUntil(agent, topology.port, NATIVE_PATH, NATIVE_BODY, '"text"');
      for (const [name, run] of [
        ['responses', responses],
        ['native', native],
      ] as const) {
        if (run.status !== 200 || run.markerMs < 0) throw new Error(`${name} stream failed: ${run.status}`);
        runs[name].push(run);
      }
      reset();
    }
  } finally {
    agent.destroy();
  }
  const p50 = (xs: readonly MarkedTimes[], f: (t: MarkedTimes) => number) => summarize(xs.map(f)).p50;
  process.stdout.write(
    `\nResponses stream vs the native stream, both orchestrator → shard → fake (${STREAMS} each)\n\n`,
  );
  printTable(
    ['stream', 'first event p50 ms', 'first text p50 ms', 'first text p99 ms', 'last byte p50 ms'],
    (['native', 'responses'] as const).map((name) => [
      name === 'native' ? 'native streamGenerateContent, passed through' : 'Responses, translated per chunk',
      fmt(p50(runs[name], (t) => t.firstByteMs)),
      fmt(p50(runs[name], (t) => t.markerMs)),
      fmt(summarize(runs[name].map((t) => t.markerMs)).p99),
      fmt(p50(runs[name], (t) => t.totalMs)),
    ]),
  );
  const added = p50(runs.responses, (t) => t.markerMs) - p50(runs.native, (t) => t.markerMs);
  process.stdout.write(`added time to first text (p50): ${fmt(added)} ms\n`);
}

runBenchmark(main);
