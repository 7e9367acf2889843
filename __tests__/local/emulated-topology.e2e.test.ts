/**
 * End to end: the stacks `cdktf synth` really produces, emulated by `npm start`'s own modules in workerd, driven by
 * the real `openai` and `@google/genai` clients, against the fake Gemini on 127.0.0.1. Synth runs once for the file
 * (with PR_NUMBER so the preview stack exists too); each topology gets one Miniflare instance.
 */
import { GoogleGenAI } from '@google/genai';
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import OpenAI from 'openai';
import {
  FAKE_IMAGE_B64,
  FAKE_IMAGE_MODEL,
  FAKE_REPLY_TEXT,
  fakeEmbeddingValues,
  startFakeGemini,
  type FakeGemini,
} from '../../dev/fake-gemini';
import { requestLineContext } from '../../scripts/local/cli';
import { startTopology, type RunningTopology } from '../../scripts/local/start';
import { formatStatusView } from '../../scripts/local/status-view';
import { backendScripts, type Topology } from '../../scripts/local/emulated-topology';
import type { GatewayStatus } from '../../workers/orchestrator/status';
import type { WorkerStatus } from '../../workers/shard/core/status';
import { DEFAULT_MAX_BODY_BYTES, REPLAY_MAX_BYTES } from '../../workers/shared/contract';
import { defined, tally } from '../helpers/guards';
import { keyOwners, replaceContents, synthesizeToTempDir, synthesizedTopology } from '../helpers/emulated-topology';
import { chiSquareUniform, chiSquareWeighted } from '../helpers/chi-square';
import { startUpstreamTap, type UpstreamTap } from './upstream-tap';

const KEY_COUNT = 20;
const PR = '3';
const API_KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `canary-key-${String(i).padStart(2, '0')}-e2e`);
const PASS = 'canary-pass-e2e';
const ALICE = 'canary-token-alice-e2e-0123456789';
const SECRETS = { apiKeys: API_KEYS, pass: PASS, clientTokens: { alice: ALICE } };
const THROWING_SCRIPT = `export default { async fetch() { throw new Error('canary-shard-crash ${API_KEYS[8]}'); } };`;

jest.setTimeout(90_000);

let outDir: string;
let fake: FakeGemini;
const logs: string[] = [];

type Json = Record<string, unknown>;

function topologyFor(stack: string, upstream: string): Topology {
  return synthesizedTopology(outDir, stack, SECRETS, upstream);
}

async function start(topology: Topology): Promise<RunningTopology> {
  return startTopology({ topology, port: 0, onLog: (message) => logs.push(message) });
}

const parsedLogs = (event: string): Json[] =>
  logs
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Json)
    .filter((l) => l.event === event);

/**
 * The orchestrator lines of requests whose id starts with `prefix`, once `count` are in: workerd's console output
 * reaches Node through a pipe and may trail the responses.
 */
async function orchestratorLines(prefix: string, count: number): Promise<Json[]> {
  const matching = (): Json[] =>
    parsedLogs('orchestrator_request').filter((l) => typeof l.requestId === 'string' && l.requestId.startsWith(prefix));
  for (let waited = 0; matching().length < count && waited < 10_000; waited += 20) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return matching();
}

async function inParallel<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}

function expectNoCanaryIn(text: string): void {
  expect(text).not.toMatch(/canary-(key|pass|token)/);
}

/** GET /zen/status on the public worker with `headers`; the body parsed. */
async function status<T>(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: T; text: string }> {
  const res = await fetch(`${url}/zen/status`, { headers });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as T, text };
}

beforeAll(async () => {
  outDir = await synthesizeToTempDir('zen-e2e-', `preview-${PR}`, {
    KEY_COUNT: String(KEY_COUNT),
    KEYS_PER_SHARD: '8',
  });
  fake = await startFakeGemini({ port: 0 });
});

afterAll(async () => {
  await fake?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.reset();
  logs.length = 0;
});

describe('prod stack', () => {
  let tap: UpstreamTap;
  let topology: Topology;
  let running: RunningTopology;
  let openai: OpenAI;

  beforeAll(async () => {
    tap = await startUpstreamTap(fake.url);
    topology = topologyFor('prod', tap.url);
    running = await start(topology);
    openai = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: PASS, maxRetries: 0 });
  });

  afterAll(async () => {
    await running?.dispose();
    await tap?.close();
  });

  it('emulates the orchestrator publicly and every shard privately, as synthesized', () => {
    expect(topology.publicWorker.scriptName).toBe('zen-ai-router-orchestrator');
    expect(topology.workers.map((w) => w.scriptName).slice(1)).toEqual([
      'zen-ai-router-worker-0',
      'zen-ai-router-worker-1',
      'zen-ai-router-worker-2',
    ]);
    expect(keyOwners(topology, API_KEYS).size).toBe(KEY_COUNT);
  });

  it('answers the openai SDK: chat, streamed chat, embeddings, models and images', async () => {
    const chat = await openai.chat.completions.create({
      model: 'gemini-3.8-flash',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(chat.choices[0]?.message.content).toBe(FAKE_REPLY_TEXT);

    const stream = await openai.chat.completions.create({
      model: 'gemini-3.8-flash',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toBe(FAKE_REPLY_TEXT);

    const embeddings = await openai.embeddings.create({ model: 'gemini-embedding-001', input: ['a', 'b'] });
    expect(embeddings.data.map((d) => d.embedding)).toEqual([fakeEmbeddingValues(0), fakeEmbeddingValues(1)]);

    const models = await openai.models.list();
    expect(models.data.map((m) => m.id).join(',')).toContain('gemini-3.8-flash');

    const images = await openai.images.generate({ model: FAKE_IMAGE_MODEL, prompt: 'a cat' });
    expect(images.data?.map((d) => d.b64_json)).toEqual([FAKE_IMAGE_B64]);

    expect(fake.calls.every((call) => API_KEYS.includes(call.apiKey ?? ''))).toBe(true);
    expect(fake.calls.some((call) => JSON.stringify(call.headers).includes(PASS))).toBe(false);
  });

  it('answers @google/genai: generateContent and its stream', async () => {
    const genai = new GoogleGenAI({ apiKey: PASS, httpOptions: { baseUrl: running.url } });
    const reply = await genai.models.generateContent({ model: 'gemini-3.8-flash', contents: 'Hi' });
    expect(reply.text).toBe(FAKE_REPLY_TEXT);
    let streamed = '';
    for await (const chunk of await genai.models.generateContentStream({ model: 'gemini-3.8-flash', contents: 'Hi' })) {
      streamed += chunk.text ?? '';
    }
    expect(streamed).toBe(FAKE_REPLY_TEXT);
  });

  it("delivers a stream's first chunk before the upstream has sent its last one", async () => {
    fake.configure({ streamChunks: 4, chunkDelayMs: 150 });
    const finishedBefore = tap.finishedResponses();
    const res = await fetch(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-3.8-flash', stream: true, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('data: ');
    // the upstream response this chunk belongs to has not ended, so neither the shard nor the orchestrator buffered
    expect(tap.finishedResponses()).toBe(finishedBefore);
    while (!(await reader.read()).done);
    expect(tap.finishedResponses()).toBe(finishedBefore + 1);
  });

  it('rejects a wrong password with 401 without touching any key', async () => {
    const res = await fetch(`${running.url}/v1/models`, { headers: { authorization: 'Bearer not-the-password' } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
    expect(fake.calls).toHaveLength(0);
  });

  it('spreads 2,000 requests over every shard in proportion to its keys, so uniformly over the keys', async () => {
    const statuses = await inParallel(2000, 32, async (i) => {
      const res = await fetch(`${running.url}/v1/models`, {
        headers: { authorization: `Bearer ${PASS}`, 'x-request-id': `spread-${i}` },
      });
      await res.arrayBuffer();
      return res.status;
    });
    expect(statuses.every((s) => s === 200)).toBe(true);

    const owners = keyOwners(topology, API_KEYS);
    const keysSeen = new Set(fake.calls.map((c) => c.apiKey));
    expect([...keysSeen].sort()).toEqual([...API_KEYS].sort());

    const shardCounts = [0, 0, 0];
    for (const line of await orchestratorLines('spread-', 2000)) tally(shardCounts, Number(line.shard));
    expect(shardCounts.reduce((a, b) => a + b)).toBe(2000);
    // the orchestrator's log and the keys the upstream saw agree on where each request went
    const byKeyOwner = [0, 0, 0];
    for (const call of fake.calls)
      tally(byKeyOwner, defined(owners.get(call.apiKey ?? ''), 'the shard holding a called key'));
    expect(byKeyOwner).toEqual(shardCounts);
    // shards of 8, 8 and 4 keys: a 40 / 40 / 20 split, and then each of the 20 keys carries 1/20. workerd draws with
    // its own Math.random, so the bound is one a fair draw misses once in a million runs; a uniform choice of shards
    // over these 2000 requests scores p < 1e-40, so it still fails
    expect(chiSquareWeighted(shardCounts, [8, 8, 4]).pValue).toBeGreaterThan(1e-6);
    const perKey = API_KEYS.map((key) => fake.calls.filter((call) => call.apiKey === key).length);
    expect(chiSquareUniform(perKey).pValue).toBeGreaterThan(1e-6);

    logs.forEach(expectNoCanaryIn);
  });
});

describe('prod stack: the key status view and named client tokens', () => {
  let topology: Topology;
  let running: RunningTopology;
  let owners: Map<string, number>;

  beforeAll(async () => {
    topology = topologyFor('prod', fake.url);
    owners = keyOwners(topology, API_KEYS);
    running = await start(topology);
  });

  afterAll(async () => {
    await running?.dispose();
  });

  const chat = (credential: string, requestId: string) =>
    fetch(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'Hi' }] }),
    });

  it('shows a removed key and a cooling key by index and global number, with the counters each shard kept', async () => {
    // one faulty key in shard 0, one in shard 1
    const invalid = API_KEYS.find((key) => owners.get(key) === 0 && key !== API_KEYS[0]) as string;
    const rationed = API_KEYS.find((key) => owners.get(key) === 1) as string;
    fake.setKeyBehaviour(invalid, 'invalid-key');
    fake.setKeyBehaviour(rationed, 'quota-minute');
    const asked = (key: string): boolean => fake.calls.some((call) => call.apiKey === key);
    let sent = 0;
    while (!(asked(invalid) && asked(rationed)) && sent < 400) {
      const res = await chat(PASS, `status-fill-${sent++}`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    expect(asked(invalid) && asked(rationed)).toBe(true);

    const { status: code, body, text } = await status<GatewayStatus>(running.url, { authorization: `Bearer ${PASS}` });
    expect(code).toBe(200);
    expectNoCanaryIn(text);
    expect(body).toMatchObject({ scope: 'isolate', shardCount: 3, queried: 3, answered: 3 });
    expect(body.shards.map((s) => [s.shard, s.keyCount, s.firstKey])).toEqual([
      [0, 8, 1],
      [1, 8, 9],
      [2, 4, 17],
    ]);
    const keys = body.shards.flatMap((s) =>
      (s.status as WorkerStatus).keys.map((k) => ({
        ...k,
        shard: s.shard,
        globalKey: (k as { globalKey?: number }).globalKey,
      })),
    );
    expect(keys.map((k) => k.globalKey)).toEqual(API_KEYS.map((_, i) => i + 1));
    const entry = (key: string) => keys.find((k) => k.globalKey === API_KEYS.indexOf(key) + 1);
    expect(entry(invalid)).toMatchObject({ shard: 0, state: 'removed', reason: 'API_KEY_INVALID', requests: 1 });
    expect(entry(rationed)).toMatchObject({
      shard: 1,
      key: 1,
      state: 'cooling',
      cooling: [expect.objectContaining({ model: 'gemini-3.8-flash', reason: 'quota-minute' })],
      rateLimited: 1,
      lastError: expect.objectContaining({ status: 429, code: 'RESOURCE_EXHAUSTED' }),
    });
    expect(keys.filter((k) => k.state === 'ok')).toHaveLength(API_KEYS.length - 2);
    // every call Google received is counted once, on the key that made it
    for (const key of API_KEYS) {
      expect(entry(key)?.requests).toBe(fake.calls.filter((call) => call.apiKey === key).length);
    }
    const requests = body.shards.reduce((sum, s) => sum + (s.status as WorkerStatus).requests, 0);
    expect(requests).toBe(sent);

    // npm start prints the same view, one line per key by its global number
    const printed = formatStatusView(body, requestLineContext(topology));
    expect(printed).toContain(`KEY${API_KEYS.indexOf(invalid) + 1} `);
    expect(printed).toMatch(new RegExp(`KEY${API_KEYS.indexOf(invalid) + 1} +removed API_KEY_INVALID`));
    expect(printed).toMatch(new RegExp(`KEY${API_KEYS.indexOf(rationed) + 1} +cooling gemini-3\\.8-flash until`));
    expectNoCanaryIn(printed);
  });

  it("answers the shards' 401 for a wrong password, the password in either header, a token in either 403", async () => {
    const wrong = await status<{ error: { code: string } }>(running.url, { authorization: 'Bearer not-the-password' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_api_key');
    const missing = await status<{ error: { code: string } }>(running.url, {});
    expect([missing.status, missing.body.error.code]).toEqual([401, 'missing_api_key']);
    expect((await status<GatewayStatus>(running.url, { 'x-goog-api-key': PASS })).body.answered).toBe(3);
    // issue 24: the key status is the operator's; a token is read from either header, and refused as no operator
    const tokenHeaders: Record<string, string>[] = [{ authorization: `Bearer ${ALICE}` }, { 'x-goog-api-key': ALICE }];
    for (const headers of tokenHeaders) {
      const token = await status<{ error: { code: string } }>(running.url, headers);
      expect([token.status, token.body.error.code]).toEqual([403, 'operator_only']);
    }
  });

  it("serves a named token's requests like the password's, and the shard's log line names the client", async () => {
    for (let i = 0; i < 5; i++) expect((await chat(ALICE, `token-${i}`)).status).toBe(200);
    expect((await chat(PASS, 'token-pass')).status).toBe(200);
    await orchestratorLines('token-', 6);
    for (
      let wait = 0;
      parsedLogs('request').filter((l) => String(l.requestId).startsWith('token-')).length < 6 && wait < 5000;
      wait += 20
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const lines = parsedLogs('request').filter((l) => String(l.requestId).startsWith('token-'));
    expect(lines.map((l) => [l.requestId, l.client]).sort()).toEqual([
      ['token-0', 'alice'],
      ['token-1', 'alice'],
      ['token-2', 'alice'],
      ['token-3', 'alice'],
      ['token-4', 'alice'],
      ['token-pass', 'pass'],
    ]);
    expect(fake.calls.every((call) => API_KEYS.includes(call.apiKey ?? ''))).toBe(true);
    logs.forEach(expectNoCanaryIn);
  });
});

describe('prod stack with one shard that never answers: the status view', () => {
  let running: RunningTopology;
  const HANGING = 2;

  beforeAll(async () => {
    const synthesized = topologyFor('prod', fake.url);
    const hangingScript = backendScripts(synthesized).get(HANGING);
    // a pending timer keeps workerd from cancelling the request as hung, so only the orchestrator's deadline ends it
    const script =
      'export default { async fetch() { await new Promise((r) => setTimeout(r, 60_000)); return new Response("late"); } };';
    const workers = synthesized.workers.map((worker) =>
      worker.scriptName === hangingScript
        ? { ...worker, options: { ...worker.options, modules: replaceContents(worker.options.modules, script) } }
        : worker,
    );
    running = await start({ ...synthesized, workers });
  });

  afterAll(async () => {
    await running?.dispose();
  });

  it('marks the shard timeout after the 3 s deadline and still answers every other shard', async () => {
    const { status: code, body } = await status<GatewayStatus>(running.url, { authorization: `Bearer ${PASS}` });
    expect(code).toBe(200);
    expect(body.shards.map((s) => s.error ?? 'ok')).toEqual(['ok', 'ok', 'timeout']);
    expect(body).toMatchObject({ queried: 3, answered: 2 });
    expect(body.shards[2]).toEqual({ shard: 2, keyCount: 4, firstKey: 17, error: 'timeout' });
  });
});

describe('prod stack with one shard whose script throws', () => {
  let running: RunningTopology;
  let owners: Map<string, number>;
  const FAULTY = 1;

  beforeAll(async () => {
    const synthesized = topologyFor('prod', fake.url);
    owners = keyOwners(synthesized, API_KEYS);
    const faultyScript = backendScripts(synthesized).get(FAULTY);
    const workers = synthesized.workers.map((worker) =>
      worker.scriptName === faultyScript
        ? {
            ...worker,
            options: { ...worker.options, modules: replaceContents(worker.options.modules, THROWING_SCRIPT) },
          }
        : worker,
    );
    running = await start({ ...synthesized, workers });
  });

  afterAll(async () => {
    await running?.dispose();
  });

  async function ask(requestId: string): Promise<{ status: number; body: string; requestId: string | null }> {
    const res = await fetch(`${running.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    return { status: res.status, body: await res.text(), requestId: res.headers.get('x-request-id') };
  }

  it('marks that shard shard_error in the status view, without its exception text', async () => {
    const { status: code, body, text } = await status<GatewayStatus>(running.url, { authorization: `Bearer ${PASS}` });
    expect(code).toBe(200);
    expect(body.shards.map((s) => s.error ?? 'ok')).toEqual(['ok', 'shard_error', 'ok']);
    expect(text).not.toContain('canary-shard-crash');
  });

  it("answers the orchestrator's JSON 502 for that shard, and the next requests still succeed", async () => {
    const answers: { status: number; body: string }[] = [];
    while (answers.filter((a) => a.status === 502).length < 2 || answers.at(-1)?.status !== 200) {
      answers.push(await ask(`sequential-${answers.length}`));
    }
    const failure = answers.find((a) => a.status === 502) as { body: string };
    expect(JSON.parse(failure.body)).toEqual({
      error: {
        message: 'The backend shard failed to answer; retry the request',
        type: 'server_error',
        code: 'shard_error',
      },
    });
    expect(failure.body).not.toContain('canary');
    const afterFirstFailure = answers.slice(answers.findIndex((a) => a.status === 502) + 1);
    expect(afterFirstFailure.some((a) => a.status === 200)).toBe(true);
  });

  it("answers all of 1,000 concurrent requests; the failures are exactly the faulty shard's share", async () => {
    const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => ask(`concurrent-${i}`)));
    expect(answers).toHaveLength(1000);
    const byId = new Map((await orchestratorLines('concurrent-', 1000)).map((l) => [l.requestId, l]));
    expect(byId.size).toBe(1000);
    for (const answer of answers) {
      expect([200, 502]).toContain(answer.status);
      const shard = byId.get(answer.requestId)?.shard;
      // a request fails if and only if it went to the faulty shard
      expect(answer.status === 502).toBe(shard === FAULTY);
      if (answer.status === 200) expect(JSON.parse(answer.body).choices[0].message.content).toBe(FAKE_REPLY_TEXT);
      expectNoCanaryIn(answer.body);
    }
    const shardCounts = [0, 1, 2].map((n) => answers.filter((a) => byId.get(a.requestId)?.shard === n).length);
    expect(chiSquareWeighted(shardCounts, [8, 8, 4]).pValue).toBeGreaterThan(0.001);
    // a failure is never re-routed, even with the default SHARD_ATTEMPTS of 3
    expect([...byId.values()].some((line) => 'attempts' in line)).toBe(false);
    expect(fake.calls.some((call) => owners.get(call.apiKey ?? '') === FAULTY)).toBe(false);
    expect(fake.calls).toHaveLength(answers.filter((a) => a.status === 200).length);
    logs.forEach(expectNoCanaryIn);
  });
});

/**
 * A worker inside workerd that uploads `total` bytes to the gateway through a service binding and reports how many
 * bytes the gateway pulled from it: a client-side count, free of socket buffers. `length=1` declares the size
 * (content-length), otherwise the body is chunked.
 */
const UPLOADING_CLIENT = `
export default {
  async fetch(request, env) {
    const params = new URL(request.url).searchParams;
    const total = Number(params.get('total'));
    const chunk = new Uint8Array(64 * 1024).fill(97);
    let pulled = 0;
    let body = new ReadableStream({
      pull(controller) {
        if (pulled >= total) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    }, { highWaterMark: 0 });
    if (params.get('length') === '1') {
      const sized = new FixedLengthStream(total);
      body.pipeTo(sized.writable).catch(() => undefined);
      body = sized.readable;
    }
    const headers = { 'content-type': 'application/json', 'x-request-id': params.get('id') };
    if (params.get('auth')) headers.authorization = 'Bearer ' + params.get('auth');
    const path = params.get('path') ?? '/v1/chat/completions';
    const res = await env.GATEWAY.fetch('http://gateway.local' + path, { method: 'POST', headers, body });
    const text = await res.text();
    return Response.json({ status: res.status, body: text, pulled });
  },
};`;

describe('prod stack: request bodies through the orchestrator (default SHARD_ATTEMPTS, 3)', () => {
  let topology: Topology;
  let running: RunningTopology;
  const MiB = 1024 * 1024;

  beforeAll(async () => {
    topology = topologyFor('prod', fake.url);
    const client = {
      resourceId: 'client',
      scriptName: 'test-uploading-client',
      isPublic: false,
      apiKeyIndexes: {},
      services: { GATEWAY: topology.publicWorker.scriptName },
      options: {
        name: 'test-uploading-client',
        modules: true,
        script: UPLOADING_CLIENT,
        compatibilityDate: '2026-04-20',
        serviceBindings: { GATEWAY: topology.publicWorker.scriptName },
      },
    };
    running = await start({ ...topology, workers: [...topology.workers, client] });
  });

  afterAll(async () => {
    await running?.dispose();
  });

  async function upload(query: Record<string, string>): Promise<{ status: number; body: string; pulled: number }> {
    const client = await running.miniflare.getWorker('test-uploading-client');
    const res = await client.fetch(`http://client.local/?${new URLSearchParams(query)}`);
    return (await res.json()) as { status: number; body: string; pulled: number };
  }

  it('refuses a 40 MiB chunked upload without a credential with 401 after pulling almost none of it', async () => {
    const answer = await upload({ total: String(40 * MiB), id: 'body-noauth' });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'missing_api_key' } });
    expect(answer.pulled).toBeLessThan(MiB);
    expect(fake.calls).toHaveLength(0);
    expect(await orchestratorLines('body-noauth', 1)).toEqual([expect.objectContaining({ status: 401 })]);
  });

  it('refuses a declared body over MAX_BODY_BYTES with 413 before reading it', async () => {
    const total = String(DEFAULT_MAX_BODY_BYTES + 1);
    const answer = await upload({ total, length: '1', auth: PASS, id: 'body-declared' });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'request_too_large' } });
    expect(answer.pulled).toBeLessThan(MiB);
    expect(fake.calls).toHaveLength(0);
  });

  it("stops reading a chunked body to embeddings at the replay bound, the orchestrator's copy included", async () => {
    const answer = await upload({ total: String(40 * MiB), auth: PASS, id: 'body-chunked', path: '/v1/embeddings' });
    expect(answer.status).toBe(413);
    expect(answer.pulled).toBeGreaterThan(REPLAY_MAX_BYTES);
    expect(answer.pulled).toBeLessThan(REPLAY_MAX_BYTES + 2 * MiB);
    expect(fake.calls).toHaveLength(0);
  });

  /** A native generateContent body of about `bytes` bytes of random base64 text, so a hash match means every byte arrived. */
  const nativeBody = (bytes: number): Buffer =>
    Buffer.from(
      JSON.stringify({
        contents: [{ role: 'user', parts: [{ text: randomBytes((bytes * 3) / 4).toString('base64') }] }],
      }),
    );
  const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
  // a fresh connection per request (agent: false): on a kept-alive one that the gateway closed after the previous
  // upload, the next upload's first write fails with EPIPE before any byte reaches the gateway
  const sendNative = (
    model: string,
    body: Buffer | ReadableStream<Uint8Array>,
    id: string,
  ): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const { hostname, port } = new URL(running.url);
      const headers = { 'x-goog-api-key': PASS, 'content-type': 'application/json', 'x-request-id': id };
      const path = `/v1beta/models/${model}:generateContent`;
      const req = httpRequest({ host: hostname, port, method: 'POST', path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      if (Buffer.isBuffer(body)) req.end(body);
      else Readable.fromWeb(body as NodeReadableStream<Uint8Array>).pipe(req);
    });

  it('forwards a ~40 MB native body to Google once, byte for byte, past the replay bound', async () => {
    const body = nativeBody(40 * MiB);
    const res = await sendNative('gemini-3.8-flash', body, 'big-native');
    expect(res.status).toBe(200);
    expect(fake.calls).toHaveLength(1);
    expect(sha256(defined(fake.calls[0], 'the call').body)).toBe(sha256(body));
    expect(await orchestratorLines('big-native', 1)).toEqual([expect.objectContaining({ status: 200 })]);
  });

  it('forwards a chunked ~24 MB native body byte for byte', async () => {
    const body = nativeBody(24 * MiB);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < body.length; at += MiB) controller.enqueue(new Uint8Array(body.subarray(at, at + MiB)));
        controller.close();
      },
    });
    const res = await sendNative('gemini-3.8-flash', stream, 'big-chunked');
    expect(res.status).toBe(200);
    expect(fake.calls).toHaveLength(1);
    expect(sha256(defined(fake.calls[0], 'the call').body)).toBe(sha256(body));
  });

  it('sends a body over the bound on one key only: its 429 reaches the client, no failover, no re-route', async () => {
    fake.setDefaultBehaviour('quota-minute');
    // a model of its own: the 429 cools the key for it, which must not touch the other tests
    const res = await sendNative('gemini-3.5-flash', nativeBody(20 * MiB), 'big-429');
    expect(res.status).toBe(429);
    expect(JSON.parse(res.text)).toMatchObject({ error: { status: 'RESOURCE_EXHAUSTED' } });
    expect(fake.calls).toHaveLength(1);
    expect(await orchestratorLines('big-429', 1)).toEqual([
      expect.not.objectContaining({ attempts: expect.anything() }),
    ]);
  });

  it('re-routes a pool refusal to another shard, which sends Google the identical body bytes', async () => {
    // every key of shard 0 out for the day, so shard 0 refuses from its pool (x-zen-pool: exhausted) without a call
    const owners = keyOwners(topology, API_KEYS);
    for (const key of API_KEYS) if (owners.get(key) === 0) fake.setKeyBehaviour(key, 'quota-day');
    const shard0 = await running.miniflare.getWorker(defined(backendScripts(topology).get(0), 'the script of shard 0'));
    const chat = JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'Hi' }] });
    // until shard 0 knows every key is out: before that it may also refuse (rate_limited) after three cooled keys
    let refusal: { status: number; pool: string | null; code?: unknown } | undefined;
    for (let i = 0; i < 10 && refusal?.code !== 'daily_quota_exhausted'; i++) {
      const res = await shard0.fetch('http://shard.local/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' },
        body: chat,
      });
      const body = (await res.json()) as { error?: { code?: unknown } };
      refusal = { status: res.status, pool: res.headers.get('x-zen-pool'), code: body.error?.code };
    }
    expect(refusal).toEqual({ status: 429, pool: 'exhausted', code: 'daily_quota_exhausted' });
    fake.reset();

    const bodies = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        model: 'gemini-3.8-flash',
        messages: [{ role: 'user', content: `${i}:${'é✓ '.repeat(20_000)}` }],
      }),
    );
    const statuses = await inParallel(bodies.length, 8, async (i) => {
      const res = await fetch(`${running.url}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${PASS}`,
          'content-type': 'application/json',
          'x-request-id': `reroute-${i}`,
        },
        body: bodies[i],
      });
      await res.arrayBuffer();
      return res.status;
    });
    expect(statuses.every((status) => status === 200)).toBe(true);
    // each body reached Google exactly once, byte for byte, and never with one of shard 0's keys
    expect(fake.calls.map((call) => call.body).sort()).toEqual([...bodies].sort());
    expect(fake.calls.some((call) => owners.get(call.apiKey ?? '') === 0)).toBe(false);
    const lines = await orchestratorLines('reroute-', bodies.length);
    // shard 0 is drawn first 40 % of the time; P(never in 40 requests) = 0.6^40 < 1e-8
    expect(lines.filter((line) => line.attempts === 2).length).toBeGreaterThan(0);
    expect(lines.every((line) => line.status === 200 && line.shard !== 0)).toBe(true);
  });
});

describe(`preview-${PR} stack`, () => {
  let topology: Topology;
  let running: RunningTopology;

  beforeAll(async () => {
    topology = topologyFor(`preview-${PR}`, fake.url);
    running = await start(topology);
  });

  afterAll(async () => {
    await running?.dispose();
  });

  it('serves directly from one worker holding every key', async () => {
    expect(topology.workers.map((w) => w.scriptName)).toEqual([`zen-ai-router-worker-preview-${PR}`]);
    expect(Object.values(topology.publicWorker.apiKeyIndexes).sort((a, b) => a - b)).toEqual([...API_KEYS.keys()]);
    const openai = new OpenAI({ baseURL: `${running.url}/v1`, apiKey: PASS, maxRetries: 0 });
    const statuses = await inParallel(300, 16, async () => {
      const chat = await openai.chat.completions.create({
        model: 'gemini-3.8-flash',
        messages: [{ role: 'user', content: 'Hi' }],
      });
      return chat.choices[0]?.message.content;
    });
    expect(new Set(statuses)).toEqual(new Set([FAKE_REPLY_TEXT]));
    expect(new Set(fake.calls.map((c) => c.apiKey))).toEqual(new Set(API_KEYS));
    expect(parsedLogs('orchestrator_request')).toHaveLength(0);
  });

  it('answers its own status view: every key it holds, counted, numbered as in TF_VAR_api_keys', async () => {
    const auth = { authorization: `Bearer ${ALICE}` };
    // the key status is the operator's (issue 24); alice's requests are what it counts
    const operator = { authorization: `Bearer ${PASS}` };
    const before = (await status<WorkerStatus>(running.url, operator)).body;
    for (let i = 0; i < 10; i++) {
      expect((await fetch(`${running.url}/v1/models`, { headers: auth })).status).toBe(200);
    }
    const { status: code, body, text } = await status<WorkerStatus>(running.url, operator);
    expect(code).toBe(200);
    expectNoCanaryIn(text);
    expect(body.keys.map((k) => k.key)).toEqual(API_KEYS.map((_, i) => i + 1));
    expect(body.requests - before.requests).toBe(10);
    // each key's count grew by the calls Google received with it
    for (const [i, key] of API_KEYS.entries()) {
      const grew = (body.keys[i]?.requests ?? 0) - (before.keys[i]?.requests ?? 0);
      expect(grew).toBe(fake.calls.filter((call) => call.apiKey === key).length);
    }
    const printed = formatStatusView(body, requestLineContext(topology)).split('\n');
    expect(printed[1]).toMatch(/^ {2}zen-ai-router-worker-preview-3: \d+ requests since .*, 20 keys$/);
    // the key lines, then the usage npm start's stand-in dataset counted today
    const usageAt = printed.findIndex((line) => line.startsWith('usage today'));
    expect(usageAt).toBeGreaterThan(2);
    expect(printed.slice(2, usageAt).map((line) => line.trim().split(' ')[0])).toEqual(
      API_KEYS.map((_, i) => `KEY${i + 1}`),
    );
  });
});
