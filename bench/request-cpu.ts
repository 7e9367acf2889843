/**
 * Benchmark 6: CPU the shard worker spends per request. workerd freezes timers while JavaScript runs (a Spectre
 * mitigation), so in-worker clocks cannot measure CPU; instead this reads the workerd process's own user+system CPU
 * time from /proc before and after a batch of requests. That includes workerd's HTTP handling, so it is an upper bound
 * for what Cloudflare bills as CPU time; a request to an unknown path gives the runtime's floor for comparison.
 *
 * Then the orchestrator's CPU per chat request (issue 13): the orchestrator in front of three stub shards that answer
 * a canned reply, against the stub shard called directly, so the difference is the orchestrator's own work. With
 * `BENCH_BASELINE_REF=<git ref>` the orchestrator bundled from that commit runs in the same workerd process, in
 * interleaved rounds, so before and after are measured under the same conditions.
 */
import { Miniflare } from 'miniflare';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleWorker } from '../bundler/worker-bundles';
import { startFakeGemini } from '../dev/fake-gemini';
import { DEFAULT_COMPATIBILITY_DATE } from '../workers/shared/contract';
import { fmt, printTable, runBenchmark } from './stats';
import { BENCH_PASS, QUIET, timedRequest } from './bench-topology';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function workerdPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return comm === 'workerd' && ppid === process.pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11] and fields[12] are utime and stime (fields 14 and 15 of stat(5), counted after the comm field)
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** A streamed request the size of Claude Code's: a system prompt, 24 tools with JSON Schemas, one user turn. */
function claudeCodeSizedBody(): string {
  const tools = Array.from({ length: 24 }, (_, i) => ({
    name: `tool_${i}`,
    description: `Tool ${i}. ${'Explains at length when to use it and when not to. '.repeat(40)}`,
    input_schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: Object.fromEntries(
        Array.from({ length: 8 }, (_, p) => [`param_${p}`, { type: 'string', description: `Parameter ${p}.` }]),
      ),
      required: ['param_0'],
      additionalProperties: false,
    },
  }));
  return JSON.stringify({
    model: 'gemini-3.8-flash',
    max_tokens: 32_000,
    stream: true,
    system: [{ type: 'text', text: 'You are a coding agent. '.repeat(400) }],
    tools,
    thinking: { type: 'adaptive' },
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello' }] }],
  });
}

/** Codex CLI's first request as recorded (`__tests__/fixtures/codex/turn1.json`): 40 KB for a one-word prompt, streamed. */
function codexFirstTurnBody(): string {
  const capture = JSON.parse(readFileSync(resolve(__dirname, '../__tests__/fixtures/codex/turn1.json'), 'utf8')) as {
    body: string;
  };
  return capture.body;
}

async function main(): Promise<void> {
  const fake = await startFakeGemini({ port: 0 });
  const mf = new Miniflare({
    ...QUIET,
    host: '127.0.0.1',
    port: 0,
    modules: true,
    script: bundleWorker('shard'),
    compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
    bindings: { KEY1: 'bench-cpu-key-1', KEY2: 'bench-cpu-key-2', PASS: BENCH_PASS, GEMINI_BASE_URL: fake.url },
  });
  const port = Number((await mf.ready).port);
  const [pid] = workerdPids();
  if (pid === undefined) throw new Error('could not find the workerd process started by miniflare');
  const agent = new Agent({ keepAlive: true });

  const cases: readonly [string, string, string | undefined][] = [
    ['unknown path (runtime floor, 404)', '/v1/nothing-here', undefined],
    [
      'chat completion, pass-through',
      '/v1/chat/completions',
      JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'ping' }] }),
    ],
    // gemini-embedding-001's full size: 4 inputs x 3,072 floats, the JSON Google returns is about 100 KiB
    [
      'embeddings, 4 x 3072, float',
      '/v1/embeddings',
      JSON.stringify({
        model: 'gemini-embedding-001',
        input: ['a', 'b', 'c', 'd'],
        dimensions: 3072,
        encoding_format: 'float',
      }),
    ],
    [
      'embeddings, 4 x 3072, base64 (encoded in the worker)',
      '/v1/embeddings',
      JSON.stringify({
        model: 'gemini-embedding-001',
        input: ['a', 'b', 'c', 'd'],
        dimensions: 3072,
        encoding_format: 'base64',
      }),
    ],
    [
      'native generateContent, pass-through',
      `/v1beta/models/gemini-3.8-flash:generateContent?key=${BENCH_PASS}`,
      JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'ping' }] }] }),
    ],
    [
      'native streamGenerateContent (SSE), pass-through',
      `/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse&key=${BENCH_PASS}`,
      JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'ping' }] }] }),
    ],
    [
      'Anthropic message, translated to native generateContent',
      '/v1/messages',
      JSON.stringify({ model: 'gemini-3.8-flash', max_tokens: 256, messages: [{ role: 'user', content: 'ping' }] }),
    ],
    [
      'Anthropic message, streamed, translated per chunk (SSE)',
      '/v1/messages',
      JSON.stringify({
        model: 'gemini-3.8-flash',
        max_tokens: 256,
        stream: true,
        messages: [{ role: 'user', content: 'ping' }],
      }),
    ],
    ['Anthropic message as Claude Code sends it (24 tools, ~75 KB), streamed', '/v1/messages', claudeCodeSizedBody()],
    [
      'Responses, translated to native generateContent',
      '/v1/responses',
      JSON.stringify({ model: 'gemini-3.8-flash', input: 'ping' }),
    ],
    [
      'Responses, streamed, translated per chunk (SSE)',
      '/v1/responses',
      JSON.stringify({ model: 'gemini-3.8-flash', input: 'ping', stream: true }),
    ],
    [
      'Responses as Codex CLI sends it (its recorded 40 KB first turn), streamed',
      '/v1/responses',
      codexFirstTurnBody(),
    ],
  ];
  try {
    const rows: (string | number)[][] = [];
    for (const [name, path, body] of cases) {
      for (let i = 0; i < 100; i++) await timedRequest(agent, port, 'bench.local', path, body);
      fake.reset();
      const before = cpuMs(pid);
      for (let i = 0; i < REQUESTS; i++) {
        const res = await timedRequest(agent, port, 'bench.local', path, body);
        if (body !== undefined && res.status !== 200)
          throw new Error(`${name}: ${res.status} ${res.body.slice(0, 200)}`);
      }
      const perRequest = (cpuMs(pid) - before) / REQUESTS;
      rows.push([name, fmt(perRequest, 3), fmt((perRequest / 10) * 100, 1)]);
      fake.reset();
    }
    process.stdout.write(
      `Request CPU (workerd process CPU over ${REQUESTS} requests per case; free plan allows 10 ms)\n\n`,
    );
    printTable(['request', 'CPU ms / request (upper bound)', '% of 10 ms'], rows);
  } finally {
    agent.destroy();
    await mf.dispose();
    await fake.close();
  }
}

/** A shard that reads the body, as a shard worker does, and answers a canned chat completion: no upstream, no pool. */
const STUB_SHARD = `export default { async fetch(request) {
  await request.arrayBuffer();
  return Response.json({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant',
    content: 'pong' }, finish_reason: 'stop' }] });
} };`;

/** The orchestrator bundled from the tree of `ref` (e.g. main before a change), extracted to a temporary folder. */
function orchestratorAt(ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-orchestrator-'));
  try {
    const archive = execFileSync('git', ['archive', '--format=tar', ref, 'workers'], { cwd: resolve(__dirname, '..') });
    execFileSync('tar', ['-x', '-C', dir], { input: archive });
    return bundleWorker('orchestrator', { entryPoints: [join(dir, 'workers', 'orchestrator', 'index.ts')] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function orchestratorCpu(): Promise<void> {
  const baselineRef = process.env.BENCH_BASELINE_REF;
  const variants: [string, string][] = [['this tree', bundleWorker('orchestrator')]];
  if (baselineRef !== undefined && baselineRef !== '') variants.unshift([baselineRef, orchestratorAt(baselineRef)]);
  const shardBindings = { BACKEND_SERVICE_0: 'stub', BACKEND_SERVICE_1: 'stub', BACKEND_SERVICE_2: 'stub' };
  const mf = new Miniflare({
    ...QUIET,
    host: '127.0.0.1',
    port: 0,
    workers: [
      {
        name: 'stub',
        modules: true,
        script: STUB_SHARD,
        compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
        routes: ['stub.bench/*'],
      },
      ...variants.map(([, script], i) => ({
        name: `orchestrator-${i}`,
        modules: true,
        script,
        compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
        routes: [`orchestrator-${i}.bench/*`],
        serviceBindings: shardBindings,
        bindings: { SHARD_KEY_COUNTS: '8,8,4' },
      })),
    ],
  });
  const port = Number((await mf.ready).port);
  const [pid] = workerdPids();
  if (pid === undefined) throw new Error('could not find the workerd process started by miniflare');
  const agent = new Agent({ keepAlive: true });
  const chat = JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'ping' }] });
  const hosts = [
    ['stub shard alone (floor)', 'stub.bench'],
    ...variants.map(([name], i) => [`orchestrator (${name}) + stub shard`, `orchestrator-${i}.bench`]),
  ];
  const rounds = 10;
  const perRound = Math.max(1, Math.round(REQUESTS / rounds));
  const spent = hosts.map(() => 0);
  try {
    for (const [, host] of hosts)
      for (let i = 0; i < 100; i++) await timedRequest(agent, port, host ?? '', '/v1/chat/completions', chat);
    // interleaved rounds, so a change in the machine's load weighs on every row alike
    for (let round = 0; round < rounds; round++) {
      for (const [h, [name, host]] of hosts.entries()) {
        const before = cpuMs(pid);
        for (let i = 0; i < perRound; i++) {
          const res = await timedRequest(agent, port, host ?? '', '/v1/chat/completions', chat);
          if (res.status !== 200) throw new Error(`${name}: ${res.status} ${res.body.slice(0, 200)}`);
        }
        spent[h] = (spent[h] ?? 0) + cpuMs(pid) - before;
      }
    }
    const floor = (spent[0] ?? 0) / (rounds * perRound);
    const rows = hosts.map(([name], h) => {
      const perRequest = (spent[h] ?? 0) / (rounds * perRound);
      return [name ?? '', fmt(perRequest, 3), h === 0 ? '-' : fmt(perRequest - floor, 3)];
    });
    process.stdout.write(
      `\nOrchestrator CPU per chat request without files (workerd process CPU over ${rounds * perRound} requests per row, ${rounds} interleaved rounds; 3 shards bound)\n\n`,
    );
    printTable(['request', 'CPU ms / request (upper bound)', 'orchestrator share (minus the floor)'], rows);
  } finally {
    agent.destroy();
    await mf.dispose();
  }
}

runBenchmark(async () => {
  if (process.env.BENCH_ONLY !== 'orchestrator') await main();
  if (process.env.BENCH_ONLY !== 'shard') await orchestratorCpu();
});
