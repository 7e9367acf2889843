/**
 * Benchmark 10: the CPU metering adds to a request (issue 25's goal: under 0.05 ms at the median). workerd's clocks
 * stand still while JavaScript runs, so this measures in Node, on the same V8: the shard's handler in-process, with a
 * canned Google answer, with and without a `USAGE` binding (a dataset that drops the points, as `writeDataPoint`
 * hands them to the runtime and returns), for a whole reply and for a stream of 40 events whose usage is read from its
 * tail; then the metering parts alone (building and writing the data point; keeping a stream's tail and reading it).
 * Each figure is the median over rounds of `BENCH_ROUNDS` (default 30) batches, metered and unmetered interleaved, so
 * both see the same machine load.
 */
import { handleRequest, type HandlerDeps } from '../workers/shard/edge/handler';
import { KeyPool } from '../workers/shard/core/key-pool';
import { meterRequest, usageFields } from '../workers/shard/core/metering';
import { StreamTail } from '../workers/shard/core/usage-tokens';
import { readConfig } from '../workers/shard/edge/bindings';
import { USAGE_BINDING, usageDataPoint } from '../workers/shared/usage-schema';
import { fmt, printTable, runBenchmark, summarize } from './stats';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const BATCH = Number(process.env.BENCH_BATCH ?? 400);
const KEYS = Array.from({ length: 8 }, (_, i) => `bench-key-${i + 1}-0123456789abcdef`);
const ENV: Record<string, unknown> = {
  PASS: 'bench-pass',
  CLIENT_TOKENS: JSON.stringify({ alice: 'bench-token-alice-0123456789abcdef' }),
  GEMINI_BASE_URL: 'http://gemini.test',
  SHARD_INDEX: '1',
  KEY_PROJECTS: 'a,a,a,a,b,b,c,d,e,e,e,e,f,f,g,h',
  KEYS_PER_SHARD: '8',
  ...Object.fromEntries(KEYS.map((k, i) => [`KEY${i + 1}`, k])),
};
const DROPPING = { writeDataPoint: () => undefined };
const USAGE = { promptTokenCount: 1234, candidatesTokenCount: 56, thoughtsTokenCount: 78, totalTokenCount: 1368 };
const encoder = new TextEncoder();

const WHOLE = JSON.stringify({
  candidates: [{ content: { parts: [{ text: 'Hello there, how can I help?' }], role: 'model' }, finishReason: 'STOP' }],
  usageMetadata: USAGE,
  modelVersion: 'gemini-3.8-flash',
});
const EVENTS = Array.from({ length: 40 }, (_, i) =>
  encoder.encode(
    `data: ${JSON.stringify({
      candidates: [{ content: { parts: [{ text: `piece ${i} of the answer, ` }], role: 'model' } }],
      usageMetadata: i === 39 ? USAGE : { promptTokenCount: 1234, totalTokenCount: 1234 },
    })}\r\n\r\n`,
  ),
);

function upstream(url: string): Response {
  if (!url.includes(':streamGenerateContent'))
    return new Response(WHOLE, { headers: { 'content-type': 'application/json' } });
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const event = EVENTS[i++];
      if (event === undefined) controller.close();
      else controller.enqueue(event);
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

const deps: HandlerDeps = {
  now: () => performance.now(),
  random: Math.random,
  randomUUID: () => 'bench',
  sleep: async () => true,
  log: () => undefined,
  pool: new KeyPool(),
  fetch: async (url) => upstream(url),
};

const BODY = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });

async function oneRequest(env: Record<string, unknown>, stream: boolean): Promise<void> {
  const action = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
  const response = await handleRequest(
    new Request(`http://shard.test/v1beta/models/gemini-3.8-flash:${action}`, {
      method: 'POST',
      headers: { 'x-goog-api-key': 'bench-pass', 'content-type': 'application/json' },
      body: BODY,
    }),
    env as never,
    deps,
  );
  await response.arrayBuffer();
}

/** CPU ms of `run`, from the process's own user+system time. */
async function cpuMs(run: () => Promise<void> | void): Promise<number> {
  const before = process.cpuUsage();
  await run();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

/** Median CPU ms per call of each case over interleaved rounds. */
async function perCall(cases: Readonly<Record<string, () => Promise<void> | void>>): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(cases)) {
      const ms = await cpuMs(async () => {
        for (let i = 0; i < BATCH; i++) await run();
      });
      samples[name]?.push(ms / BATCH);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, summarize(s).p50]));
}

async function handlerRows(): Promise<(string | number)[][]> {
  const metered = { ...ENV, [USAGE_BINDING]: DROPPING };
  for (let i = 0; i < 300; i++) await oneRequest(metered, i % 2 === 0);
  const m = await perCall({
    wholeOff: () => oneRequest(ENV, false),
    wholeOn: () => oneRequest(metered, false),
    streamOff: () => oneRequest(ENV, true),
    streamOn: () => oneRequest(metered, true),
  });
  const row = (what: string, off = 0, on = 0) => [what, fmt(off, 4), fmt(on, 4), fmt(on - off, 4)];
  return [
    row('native generateContent, whole reply', m.wholeOff, m.wholeOn),
    row('native streamGenerateContent, 40 events (SSE)', m.streamOff, m.streamOn),
  ];
}

async function partRows(): Promise<(string | number)[][]> {
  const config = readConfig(ENV as never);
  if (!config.ok) throw new Error(config.problem);
  const line = { model: 'gemini-3.8-flash', keyIndex: 3, attempts: 1, status: 200, upstreamStatus: 200 };
  const request = { route: 'native.generateContent', client: 'alice', config: config.config, line, ms: 412 };
  const tokens = { prompt: 1234, output: 56, cached: 0, thinking: 78, total: 1368 };
  const env = { [USAGE_BINDING]: DROPPING } as never;
  const m = await perCall({
    point: () => {
      usageDataPoint(usageFields(request, { how: 'complete', tokens }, 412));
    },
    meter: () => {
      meterRequest(env, { ...request, usage: { kind: 'whole', tokens } }, () => 0, 0);
    },
    tail: () => {
      const tail = new StreamTail();
      for (const event of EVENTS) tail.push(event);
      tail.tokens();
    },
  });
  return [
    ['the data point built (fields, columns)', fmt(m.point ?? 0, 4)],
    ['the data point built and written (meterRequest)', fmt(m.meter ?? 0, 4)],
    ["a 40-event stream's tail kept and its usage read", fmt(m.tail ?? 0, 4)],
  ];
}

runBenchmark(async () => {
  process.stdout.write(`Metering CPU, Node ${process.version}, median of ${ROUNDS} rounds of ${BATCH} calls\n\n`);
  printTable(['request, in-process handler', 'ms without USAGE', 'ms with USAGE', 'metering ms'], await handlerRows());
  printTable(['metering part alone', 'ms per call'], await partRows());
});
