/**
 * Secret hygiene, end to end: canary API keys, a canary password and a canary client token go everywhere a deploy
 * would put them (the TF_VAR_* variables and the KEY<n>/PASS names a careless config might read at synth), then the whole error matrix of
 * docs/errors.md is driven through the emulated prod topology of that very synth. No canary may appear in a
 * synthesized file, a response body, a response header (name or value), anything workerd printed, or a request
 * Google received (the password). Every response is also checked against its matrix row, so a run that leaked nothing
 * because nothing ran cannot pass.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkerOptions } from 'miniflare';
import OpenAI from 'openai';
import {
  FAKE_REPLY_TEXT,
  fakeEmbeddingValues,
  startFakeGemini,
  type FakeBehaviour,
  type FakeGemini,
  type FakeGeminiCall,
} from '../../dev/fake-gemini';
import { runSynth } from '../../scripts/local/synth';
import { ERROR_DOMAIN } from '../../workers/shared/error-shapes';
import {
  backendScripts,
  buildTopology,
  type EmulatedWorker,
  type Topology,
} from '../../scripts/local/emulated-topology';
import { defined } from '../helpers/guards';
import { rawRequest, type RawRequest } from '../helpers/raw-http';
import { keyOwners, replaceContents } from '../helpers/emulated-topology';
import { CANARY_CLIENT_TOKEN, CANARY_PASS, canaryApiKeys, canarySearch } from './canaries';
import { startGatewayProxy, type GatewayProxy } from '../helpers/gateway-proxy';
import { startCapturedTopology, type CapturedTopology, type Json } from './captured-topology';

const KEYS = canaryApiKeys(12); // KEYS_PER_SHARD defaults to 8: two shards, of 8 and 4 keys
const PASS = CANARY_PASS;
const CLIENT_TOKEN = CANARY_CLIENT_TOKEN;
const CLIENT_TOKENS = { 'hygiene-bot': CLIENT_TOKEN };
const findCanaries = canarySearch([...KEYS, PASS, CLIENT_TOKEN]);
/** KEY1 is `keyAt(0)` */
const keyAt = (i: number): string => defined(KEYS[i], `KEY${i + 1}`);
/** short enough that a hung upstream costs a second, long enough for the fake to answer everything else */
const UPSTREAM_TIMEOUT_MS = '1000';
/** text the throwing shard puts in its exception; it must never reach a client */
const CRASH_MARKER = 'shard-crash-marker-5e1d';

jest.setTimeout(30_000);

/** One answer the gateway gave, as the client saw it. */
interface Exchange {
  readonly id: string;
  readonly label: string;
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
  readonly topology: CapturedTopology;
}

let outDir: string;
let stack: Json;
let fake: FakeGemini;
const upstreamCalls: FakeGeminiCall[] = [];
const exchanges: Exchange[] = [];
const topologies: CapturedTopology[] = [];
/** recordings of SDK responses still being read */
const pendingRecordings: Promise<void>[] = [];
let sequence = 0;
const nextId = (): string => `hyg-${++sequence}`;

const bearer = { authorization: `Bearer ${PASS}` };
const googKey = { 'x-goog-api-key': PASS };
const jsonType = { 'content-type': 'application/json' };
const chatBody = (model = 'gemini-3.8-flash', extra: Json = {}): string =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], ...extra });
const nativeBody = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
const chat = (model?: string, extra?: Json): RawRequest => ({
  method: 'POST',
  path: '/v1/chat/completions',
  headers: { ...bearer, ...jsonType },
  body: chatBody(model, extra),
});
const native = (action: string, search = ''): RawRequest => ({
  method: 'POST',
  path: `/v1beta/models/gemini-3.8-flash:${action}${search}`,
  headers: { ...googKey, ...jsonType },
  body: nativeBody,
});
const embeddings = (extra: Json = {}): RawRequest => ({
  method: 'POST',
  path: '/v1/embeddings',
  headers: { ...bearer, ...jsonType },
  body: JSON.stringify({ model: 'gemini-embedding-001', input: ['a', 'b'], encoding_format: 'float', ...extra }),
});

async function send(topology: CapturedTopology, label: string, request: RawRequest): Promise<Exchange> {
  const id = nextId();
  const res = await rawRequest(topology.url, { ...request, headers: { 'x-request-id': id, ...request.headers } });
  const exchange = { id, label, status: res.status, headers: Object.entries(res.headers), body: res.body, topology };
  exchanges.push(exchange);
  return exchange;
}

/** An openai client whose every response is recorded as an exchange (the SDK reads the original, we read a clone). */
function openai(topology: CapturedTopology, label: string): OpenAI {
  const recordingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const id = nextId();
    const headers = new Headers(init?.headers);
    headers.set('x-request-id', id);
    const res = await fetch(input, { ...init, headers });
    pendingRecordings.push(
      res
        .clone()
        .text()
        .then(
          (body) => void exchanges.push({ id, label, status: res.status, headers: [...res.headers], body, topology }),
        ),
    );
    return res;
  };
  return new OpenAI({ baseURL: `${topology.url}/v1`, apiKey: PASS, maxRetries: 0, fetch: recordingFetch });
}

/**
 * The gateway's error code: an OpenAI-shaped body's `code`, or the reason of the gateway's ErrorInfo in a Google-shaped
 * one (the native routes'); else the Google `status` of a passed-through native error.
 */
function codeOf(body: string): unknown {
  try {
    const error = (
      JSON.parse(body) as {
        error?: { code?: unknown; status?: unknown; details?: { reason?: unknown; domain?: unknown }[] };
      }
    ).error;
    const gateway = error?.details?.find((d) => d.domain === ERROR_DOMAIN)?.reason;
    return typeof error?.code === 'string' ? error.code : (gateway ?? error?.status);
  } catch {
    return undefined;
  }
}

/** What a matrix row asserts: the label keeps a failure readable. */
const outcome = (e: Exchange): { label: string; status: number; code: unknown } => ({
  label: e.label,
  status: e.status,
  code: codeOf(e.body),
});
const header = (e: Exchange, name: string): string | undefined => e.headers.find(([n]) => n === name)?.[1];

function stackTopology(overrides: Record<string, string>): Topology {
  return buildTopology(stack, {
    stackDir: join(outDir, 'stacks', 'prod'),
    secrets: { apiKeys: KEYS, pass: PASS, clientTokens: CLIENT_TOKENS },
    plainTextOverrides: overrides,
  });
}

/** The topology with some workers' options changed, as a bad deploy or a bad binding would change them. */
function patched(
  topology: Topology,
  patch: (worker: EmulatedWorker, shard: number | undefined) => WorkerOptions | undefined,
): Topology {
  const shards = new Map([...backendScripts(topology)].map(([n, script]) => [script, n]));
  const workers = topology.workers.map((worker) => {
    const options = patch(worker, shards.get(worker.scriptName));
    return options ? { ...worker, options } : worker;
  });
  return { workers, publicWorker: defined(workers[0], 'the public worker, listed first') };
}

/** The two shards' keys, each in KEY<n> order, and the `i`-th key of a shard (a canary: messages name only indices). */
interface ShardKeys {
  readonly all: readonly [readonly string[], readonly string[]];
  readonly key: (shard: 0 | 1, i: number) => string;
}

function shardKeysOf(topology: Topology): ShardKeys {
  const owners = keyOwners(topology, KEYS);
  const all = [KEYS.filter((key) => owners.get(key) === 0), KEYS.filter((key) => owners.get(key) === 1)] as const;
  return { all, key: (shard, i) => defined(all[shard][i], `key ${i} of shard ${shard}`) };
}

const withBindings = (worker: EmulatedWorker, bindings: Record<string, string>): WorkerOptions => ({
  ...worker.options,
  bindings: { ...worker.options.bindings, ...bindings },
});

async function start(topology: Topology): Promise<CapturedTopology> {
  const running = await startCapturedTopology(topology);
  topologies.push(running);
  return running;
}

/** A loopback port nothing listens on, for a refused connection. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * POSTs an endless chunked body to `/v1/chat/completions` until the gateway answers or closes the connection (a
 * worker that answers without reading closes it with the rest unread, which may reach the client as a reset), and
 * returns how many body bytes were written by then.
 */
function endlessUpload(baseUrl: string, id: string, headers: Record<string, string>): Promise<number> {
  const { hostname, port } = new URL(baseUrl);
  const chunk = Buffer.alloc(64 * 1024);
  const cap = 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    let written = 0;
    let over = false;
    const done = (): void => {
      if (!over) resolve(written);
      over = true;
    };
    const req = httpRequest(
      {
        host: hostname,
        port,
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { ...headers, 'x-request-id': id, 'transfer-encoding': 'chunked' },
        agent: false,
      },
      (res) => {
        done();
        res.resume();
      },
    );
    req.on('error', done);
    const pump = (): void => {
      while (!over && written < cap) {
        written += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!over) reject(new Error(`all ${cap} bytes were read without an answer`));
    };
    pump();
  });
}

function snapshotUpstream(): void {
  upstreamCalls.push(...fake.calls);
  fake.reset();
}

/** Waits for the orchestrator's line of every exchange of `topology`, then checks nothing it logged holds a canary. */
async function expectLoggedWithoutCanaries(topology: CapturedTopology): Promise<void> {
  const ids = exchanges.filter((e) => e.topology === topology).map((e) => e.id);
  expect(ids.length).toBeGreaterThan(0);
  await topology.waitForLines('orchestrator_request', ids);
  // the raw capture is not blind: it holds every request's line too
  const raw = topology.rawOutput();
  expect(ids.filter((id) => !raw.includes(`\\"requestId\\":\\"${id}\\"`))).toEqual([]);
  expect(topology.messages.flatMap(findCanaries)).toEqual([]);
  expect(findCanaries(topology.rawOutput())).toEqual([]);
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'zen-hygiene-'));
  const secretsEverywhere = {
    TF_VAR_api_keys: JSON.stringify(KEYS),
    TF_VAR_pass: PASS,
    TF_VAR_client_tokens: JSON.stringify(CLIENT_TOKENS),
    PASS,
    CLIENT_TOKENS: JSON.stringify(CLIENT_TOKENS),
    ...Object.fromEntries(KEYS.map((key, i) => [`KEY${i + 1}`, key])),
  };
  const [, started] = await Promise.all([
    runSynth({
      outDir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? tmpdir(),
        CHECKPOINT_DISABLE: '1',
        KEY_COUNT: String(KEYS.length),
        ...secretsEverywhere,
      },
    }),
    startFakeGemini({ port: 0 }),
  ]);
  fake = started;
  stack = JSON.parse(readFileSync(join(outDir, 'stacks', 'prod', 'cdk.tf.json'), 'utf8')) as Json;
}, 90_000);

afterAll(async () => {
  await Promise.all(topologies.map((t) => t.dispose().catch(() => undefined)));
  await fake?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

beforeEach(snapshotUpstream);

describe('the canary search', () => {
  it('finds each canary whole, base64- or percent-encoded, or cut short, and nothing in clean text', () => {
    for (const secret of [...KEYS, PASS, CLIENT_TOKEN]) {
      expect(findCanaries(`{"message":"Consumer 'api_key:${secret}' has been suspended."}`)).toHaveLength(1);
      expect(findCanaries(`authorization: Basic ${Buffer.from(secret).toString('base64')}`)).toHaveLength(1);
      expect(findCanaries(`GET /v1/models?key=${encodeURIComponent(secret)}`)).toHaveLength(1);
      expect(findCanaries(`key ${secret.slice(0, -8)}…`)).toHaveLength(1);
    }
    expect(
      findCanaries('{"error":{"message":"Incorrect password.","code":"invalid_api_key"}} x-request-id: hyg-1'),
    ).toEqual([]);
  });
});

describe('cdktf synth with canaries in TF_VAR_api_keys, TF_VAR_pass, TF_VAR_client_tokens, KEY1..KEY12, PASS and CLIENT_TOKENS', () => {
  it('writes no canary into any file, and binds the secrets as variable references', () => {
    const files = (readdirSync(outDir, { recursive: true }) as string[])
      .map((name) => join(outDir, name))
      .filter((path) => statSync(path).isFile());
    expect(files.filter((f) => f.endsWith('cdk.tf.json'))).toHaveLength(1);
    expect(files.flatMap((f) => findCanaries(readFileSync(f, 'utf8')).map((leak) => `${f}: ${leak}`))).toEqual([]);
    const synthesized = JSON.stringify(stack);
    expect(synthesized).toContain('${var.api_keys[11]}');
    expect(synthesized).toContain('${var.pass}');
    expect(synthesized).toContain('${jsonencode(var.client_tokens)}');
  });
});

describe('the prod topology of that synth, against the fake Gemini', () => {
  let prod: CapturedTopology;
  let shardKeys: ShardKeys;

  beforeAll(async () => {
    const topology = stackTopology({ GEMINI_BASE_URL: fake.url, UPSTREAM_TIMEOUT_MS });
    shardKeys = shardKeysOf(topology);
    expect(shardKeys.all.map((keys) => keys.length)).toEqual([8, 4]);
    prod = await start(topology);
  });

  it('serves the openai SDK (chat, stream, base64 embeddings) and native calls with the password in x-goog-api-key or ?key=', async () => {
    const client = openai(prod, 'sdk');
    const reply = await client.chat.completions.create({
      model: 'gemini-3.8-flash',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(reply.choices[0]?.message.content).toBe(FAKE_REPLY_TEXT);
    let streamed = '';
    const stream = await client.chat.completions.create({
      model: 'gemini-3.8-flash',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
    });
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
    expect(streamed).toBe(FAKE_REPLY_TEXT);
    // the SDK asks for base64 by default; the worker encodes Google's floats
    const vectors = await client.embeddings.create({ model: 'gemini-embedding-001', input: ['a', 'b'] });
    expect(vectors.data.map((d) => d.embedding)).toEqual([fakeEmbeddingValues(0), fakeEmbeddingValues(1)]);

    const inHeader = await send(prod, 'native, password in x-goog-api-key', native('generateContent'));
    const inQuery = await send(prod, 'native, password in ?key=', {
      ...native('generateContent', `?key=${PASS}`),
      headers: jsonType,
    });
    const streamedNative = await send(prod, 'native stream, password in ?key=', {
      ...native('streamGenerateContent', `?alt=sse&key=${encodeURIComponent(PASS)}`),
      headers: jsonType,
    });
    expect([inHeader, inQuery, streamedNative].map(outcome)).toEqual([
      { label: 'native, password in x-goog-api-key', status: 200, code: undefined },
      { label: 'native, password in ?key=', status: 200, code: undefined },
      { label: 'native stream, password in ?key=', status: 200, code: undefined },
    ]);
    const text = (e: Exchange): unknown =>
      (JSON.parse(e.body) as { candidates: { content: { parts: { text: string }[] } }[] }).candidates[0]?.content
        .parts[0]?.text;
    expect([text(inHeader), text(inQuery)]).toEqual([FAKE_REPLY_TEXT, FAKE_REPLY_TEXT]);
    expect(streamedNative.body).toContain('data: ');

    expect(fake.calls).toHaveLength(6);
    expect(fake.calls.every((call) => KEYS.includes(call.apiKey ?? ''))).toBe(true);
    // ?key= is the client's credential: it is dropped, only alt survives
    expect(fake.calls.filter((c) => c.path.includes(':')).map((c) => c.search)).toEqual(['', '', '?alt=sse']);
  });

  it('hands out resource names, upload URLs and listings that hold no canary, and redacts a key Google quotes there', async () => {
    const first = exchanges.length;
    const start = await send(prod, 'upload start', {
      method: 'POST',
      path: '/upload/v1beta/files',
      headers: {
        ...googKey,
        ...jsonType,
        'x-goog-upload-protocol': 'resumable',
        'x-goog-upload-command': 'start',
        'x-goog-upload-header-content-length': '5',
        'x-goog-upload-header-content-type': 'text/plain',
      },
      body: JSON.stringify({ file: { displayName: 'hygiene check' } }),
    });
    const uploadUrl = new URL(defined(header(start, 'x-goog-upload-url'), 'x-goog-upload-url'));
    expect(uploadUrl.origin).toBe(prod.url);
    const finished = await send(prod, 'upload finalize', {
      method: 'POST',
      path: `${uploadUrl.pathname}${uploadUrl.search}`,
      headers: { ...googKey, 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' },
      body: 'hello',
    });
    const file = (JSON.parse(finished.body) as { file: { name: string; uri: string } }).file;
    const referenced = await send(prod, 'generate with the file', {
      ...native('generateContent'),
      body: JSON.stringify({
        contents: [{ role: 'user', parts: [{ fileData: { fileUri: file.uri, mimeType: 'text/plain' } }] }],
      }),
    });
    const listed = await send(prod, 'merged listing', { path: '/v1beta/files?pageSize=3', headers: googKey });
    const forged = await send(prod, 'forged tag', { path: '/v1beta/files/z1k1abcd-abc', headers: googKey });
    // Google's 403 that quotes the key, on a resource route: passed on, the key redacted
    fake.setDefaultBehaviour('denied-quoting-key');
    const quoted = await send(prod, 'cache create, Google quotes the key', {
      method: 'POST',
      path: '/v1beta/cachedContents',
      headers: { ...googKey, ...jsonType },
      body: JSON.stringify({ model: 'models/gemini-3.8-flash', contents: [{ role: 'user', parts: [{ text: 'x' }] }] }),
    });
    fake.setDefaultBehaviour('ok');
    expect([start, finished, referenced, listed, forged, quoted].map(outcome)).toEqual([
      { label: 'upload start', status: 200, code: undefined },
      { label: 'upload finalize', status: 200, code: undefined },
      { label: 'generate with the file', status: 200, code: undefined },
      { label: 'merged listing', status: 200, code: undefined },
      { label: 'forged tag', status: 410, code: 'owner_key_gone' },
      { label: 'cache create, Google quotes the key', status: 403, code: 'PERMISSION_DENIED' },
    ]);
    expect(JSON.parse(listed.body)).toMatchObject({ files: [{ name: file.name }] });
    const leaks = exchanges
      .slice(first)
      .flatMap((e) => findCanaries(`${e.headers.map(([name, value]) => `${name}: ${value}`).join('\n')}\n${e.body}`));
    expect(leaks).toEqual([]);
  });

  it('answers every client-input row with its status and code, sending nothing upstream', async () => {
    const basic = `Basic ${Buffer.from(`user:${PASS}`).toString('base64')}`;
    const rows: [string, RawRequest, number, string | undefined][] = [
      [
        'OPTIONS preflight',
        {
          method: 'OPTIONS',
          path: '/v1/chat/completions',
          headers: {
            origin: 'https://app.example',
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization, content-type',
          },
        },
        204,
        undefined,
      ],
      [
        'URL over 8,192 characters',
        { path: `/v1/models?pad=${'a'.repeat(8200)}`, headers: bearer },
        414,
        'url_too_long',
      ],
      ['unknown path', { path: '/nope', headers: bearer }, 404, 'unknown_url'],
      ['/v1/assistants', { ...chat(), path: '/v1/assistants' }, 404, 'unknown_url'],
      ['/v1beta/tunedModels', { path: '/v1beta/tunedModels', headers: googKey }, 404, 'unknown_url'],
      ['leading double slash', { path: '//v1/models', headers: bearer }, 404, 'unknown_url'],
      ['inner double slash', { path: '/v1//models', headers: bearer }, 404, 'unknown_url'],
      ['upper-case /V1', { path: '/V1/models', headers: bearer }, 404, 'unknown_url'],
      [
        'encoded slash',
        { ...native('generateContent'), path: '/v1beta/models%2Fgemini-3.8-flash:generateContent' },
        404,
        'unknown_url',
      ],
      [
        'encoded colon',
        { ...native('generateContent'), path: '/v1beta/models/gemini-3.8-flash%3AgenerateContent' },
        404,
        'unknown_url',
      ],
      [
        'CRLF header injection in the model id',
        {
          ...native('generateContent'),
          path: '/v1beta/models/gemini-3.8-flash%0d%0aX-Injected:%20yes:generateContent',
        },
        404,
        'unknown_url',
      ],
      ['trailing /..', { path: '/v1/models/gemini-3.8-flash/..', headers: bearer }, 404, 'unknown_url'],
      ['wrong method on chat', { path: '/v1/chat/completions', headers: bearer }, 405, 'method_not_allowed'],
      [
        'wrong method on native',
        { ...native('generateContent'), method: 'DELETE', body: undefined },
        405,
        'method_not_allowed',
      ],
      ['invalid alt', native('streamGenerateContent', '?alt=%0d%0a'), 400, 'invalid_query'],
      ['no password (OpenAI route)', { ...chat(), headers: jsonType }, 401, 'missing_api_key'],
      ['no password (native route)', { path: '/v1beta/models' }, 401, 'missing_api_key'],
      [
        'OpenAI route, password in x-goog-api-key',
        { ...chat(), headers: { ...googKey, ...jsonType } },
        401,
        'wrong_auth_header',
      ],
      [
        'OpenAI route, password in ?key=',
        { ...chat(), path: `/v1/chat/completions?key=${PASS}`, headers: jsonType },
        401,
        'wrong_auth_header',
      ],
      [
        'OpenAI route, password in x-api-key',
        { ...chat(), headers: { 'x-api-key': PASS, ...jsonType } },
        401,
        'wrong_auth_header',
      ],
      [
        'OpenAI route, password in api-key',
        { ...chat(), headers: { 'api-key': PASS, ...jsonType } },
        401,
        'wrong_auth_header',
      ],
      [
        'OpenAI route, Basic authorization',
        { ...chat(), headers: { authorization: basic, ...jsonType } },
        401,
        'wrong_auth_header',
      ],
      [
        'OpenAI route, bare password in authorization',
        { ...chat(), headers: { authorization: PASS, ...jsonType } },
        401,
        'wrong_auth_header',
      ],
      [
        'native route, password as Bearer',
        { ...native('generateContent'), headers: { ...bearer, ...jsonType } },
        401,
        'wrong_auth_header',
      ],
      [
        'native route, password in x-api-key',
        { ...native('generateContent'), headers: { 'x-api-key': PASS, ...jsonType } },
        401,
        'wrong_auth_header',
      ],
      [
        'native route, password in api-key',
        { ...native('generateContent'), headers: { 'api-key': PASS, ...jsonType } },
        401,
        'wrong_auth_header',
      ],
      [
        'wrong password extending the real one',
        { ...chat(), headers: { authorization: `Bearer ${PASS}-x`, ...jsonType } },
        401,
        'invalid_api_key',
      ],
      [
        'a pool key as the password',
        { ...chat(), headers: { authorization: `Bearer ${KEYS[0]}`, ...jsonType } },
        401,
        'invalid_api_key',
      ],
      [
        'native, a pool key in x-goog-api-key',
        { ...native('generateContent'), headers: { 'x-goog-api-key': keyAt(1), ...jsonType } },
        401,
        'invalid_api_key',
      ],
      [
        'native, wrong ?key=',
        { ...native('generateContent', `?key=${PASS.slice(0, -1)}`), headers: jsonType },
        401,
        'invalid_api_key',
      ],
      [
        'content-length over 100 MB',
        // only declared: the worker refuses on the header without reading, and a client still sending 100 MB
        // would see its connection reset mid-upload instead of the answer
        {
          ...chat(),
          headers: { ...bearer, ...jsonType, 'content-length': String(100_000_000 + 1) },
          body: chatBody(),
        },
        413,
        'request_too_large',
      ],
      ['invalid JSON', { ...chat(), body: '{"model": ' }, 400, 'invalid_json'],
      ['JSON array', { ...chat(), body: '[]' }, 400, 'invalid_json'],
      ['JSON number', { ...chat(), body: '42' }, 400, 'invalid_json'],
      ['empty body', { ...chat(), body: '' }, 400, 'invalid_json'],
      ['invalid UTF-8', { ...chat(), body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }, 400, 'invalid_json'],
      ['native invalid JSON', { ...native('generateContent'), body: 'nope' }, 400, 'invalid_json'],
      ['embeddings encoding_format int8', embeddings({ encoding_format: 'int8' }), 400, 'invalid_encoding_format'],
    ];
    const answers: Exchange[] = [];
    for (const [label, request] of rows) answers.push(await send(prod, label, request));
    expect(answers.map(outcome)).toEqual(rows.map(([label, , status, code]) => ({ label, status, code })));
    expect(header(defined(answers[0], 'the preflight answer'), 'access-control-allow-methods')).toBe(
      'GET, POST, PATCH, DELETE, OPTIONS',
    );
    for (const answer of answers.filter((a) => a.status === 405)) expect(header(answer, 'allow')).toBe('POST, OPTIONS');
    expect(fake.calls).toEqual([]);

    // a dot segment is resolved before routing, so it can only land on a whitelisted route
    const dotted = await send(prod, 'dot segments', { path: '/v1/../v1beta/models', headers: googKey });
    expect(outcome(dotted)).toEqual({ label: 'dot segments', status: 200, code: undefined });
    expect(fake.calls.map((c) => `${c.method} ${c.path}${c.search}`)).toEqual(['GET /v1beta/models']);
  });

  /** Every key answers with `behaviour` while `requests` are sent together. */
  async function withUpstream(behaviour: FakeBehaviour, requests: [string, RawRequest][]): Promise<Exchange[]> {
    fake.setDefaultBehaviour(behaviour);
    try {
      return await Promise.all(requests.map(([label, request]) => send(prod, `${behaviour}: ${label}`, request)));
    } finally {
      fake.setDefaultBehaviour('ok');
    }
  }

  it('answers every upstream-fault row, redacting a key Google quotes', async () => {
    const first = exchanges.length;
    const burst = (n: number): [string, RawRequest][] => Array.from({ length: n }, (_, i) => [`chat ${i}`, chat()]);
    const expectAll = (answers: Exchange[], status: number, code: string): void =>
      expect(answers.map(outcome)).toEqual(answers.map((a) => ({ label: a.label, status, code })));

    expectAll(
      await withUpstream('internal-500', [...burst(6), ['native', native('generateContent')]]),
      500,
      'INTERNAL',
    );
    expectAll(
      await withUpstream('overloaded-503', [...burst(6), ['native', native('generateContent')]]),
      503,
      'UNAVAILABLE',
    );
    expectAll(
      await withUpstream('bad-request-400', [
        ['chat', chat()],
        ['native', native('generateContent')],
      ]),
      400,
      'INVALID_ARGUMENT',
    );
    expectAll(
      await withUpstream('hang', [
        ['chat', chat()],
        ['native', native('generateContent')],
      ]),
      504,
      'upstream_timeout',
    );
    expect(
      (
        await withUpstream('cut-stream', [
          ['chat', chat()],
          ['embeddings', embeddings()],
          ['chat stream', chat(undefined, { stream: true })],
          ['native stream', native('streamGenerateContent', '?alt=sse')],
        ])
      ).map((a) => ({ ...outcome(a), errorEvent: /upstream_stream_interrupted|"status":"UNAVAILABLE"/.test(a.body) })),
    ).toEqual([
      { label: 'cut-stream: chat', status: 502, code: 'upstream_interrupted', errorEvent: false },
      { label: 'cut-stream: embeddings', status: 502, code: 'upstream_interrupted', errorEvent: false },
      { label: 'cut-stream: chat stream', status: 200, code: undefined, errorEvent: true },
      { label: 'cut-stream: native stream', status: 200, code: undefined, errorEvent: true },
    ]);
    expect(
      (
        await withUpstream('malformed-json', [
          ['chat', chat()],
          ['embeddings', embeddings()],
          ['native', native('generateContent')],
          ['chat stream', chat(undefined, { stream: true })],
        ])
      ).map(outcome),
    ).toEqual([
      { label: 'malformed-json: chat', status: 502, code: 'upstream_invalid_response' },
      { label: 'malformed-json: embeddings', status: 502, code: 'upstream_invalid_response' },
      { label: 'malformed-json: native', status: 502, code: 'upstream_invalid_response' },
      { label: 'malformed-json: chat stream', status: 200, code: undefined },
    ]);
    // a stream that ends cleanly mid-event: whole events, then the error event; never a complete 200
    expect(
      (
        await withUpstream('truncated-stream', [
          ['chat', chat()],
          ['chat stream', chat(undefined, { stream: true })],
          ['native stream', native('streamGenerateContent', '?alt=sse')],
        ])
      ).map((a) => ({ ...outcome(a), errorEvent: /upstream_stream_interrupted|"status":"UNAVAILABLE"/.test(a.body) })),
    ).toEqual([
      { label: 'truncated-stream: chat', status: 502, code: 'upstream_invalid_response', errorEvent: false },
      { label: 'truncated-stream: chat stream', status: 200, code: undefined, errorEvent: true },
      { label: 'truncated-stream: native stream', status: 200, code: undefined, errorEvent: true },
    ]);
    // Google refusing the Worker's region is nobody's key: a 502 the openai SDK does not retry
    const location = await withUpstream('location-400', [
      ['chat', chat()],
      ['native', native('generateContent')],
    ]);
    expectAll(location, 502, 'unsupported_location');
    expect(location.map((a) => header(a, 'x-should-retry'))).toEqual(['false', 'false']);
    // another project's file: Google's 403 reaches the client; a probe with the key alone clears the key
    expectAll(
      await withUpstream('resource-denied-403', [
        ['chat', chat()],
        ['native', native('generateContent')],
      ]),
      403,
      'PERMISSION_DENIED',
    );
    // a redirect is never followed: no key reaches the host it names
    const elsewhere = await startFakeGemini();
    try {
      fake.configure({ redirectTo: elsewhere.url, redirectStatus: 307 });
      expectAll(
        await withUpstream('redirect', [
          ['chat', chat()],
          ['native', native('generateContent')],
          ['native stream', native('streamGenerateContent', '?alt=sse')],
        ]),
        502,
        'upstream_redirect',
      );
      expect(elsewhere.calls).toEqual([]);
    } finally {
      await elsewhere.close();
    }

    // Google really does quote the key here (asked directly), and the gateway passes the error on without it
    fake.setKeyBehaviour(keyAt(0), 'denied-quoting-key');
    const direct = await fetch(`${fake.url}/v1beta/models/gemini-3.8-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': keyAt(0), ...jsonType },
      body: nativeBody,
    });
    expect(await direct.text()).toContain(`api_key:${KEYS[0]}`);
    snapshotUpstream();
    const quoted = await withUpstream('denied-quoting-key', [
      ['chat', chat()],
      ['native', native('generateContent')],
    ]);
    expectAll(quoted, 403, 'PERMISSION_DENIED');
    expect(JSON.parse(defined(quoted[0], 'the chat answer').body)).toEqual({
      error: {
        message: "Permission denied: Consumer 'api_key:[redacted]' cannot access this resource, or it may not exist.",
        type: 'permission_error',
        code: 'PERMISSION_DENIED',
      },
    });
    expect(defined(quoted[1], 'the native answer').body).toContain("api_key:[redacted]'");

    // none of these faults is the key's: nothing was cooled or removed, and the next request succeeds
    const after = await send(prod, 'after the faults', chat());
    expect(outcome(after)).toEqual({ label: 'after the faults', status: 200, code: undefined });
    const ids = exchanges.slice(first).map((e) => e.id);
    await prod.waitForLines('request', ids);
    expect(ids.flatMap((id) => [...prod.linesFor('key_cooldown', id), ...prod.linesFor('key_removed', id)])).toEqual(
      [],
    );
    const streamIds = exchanges.filter((e) => /cut-stream: .*stream/.test(e.label)).map((e) => e.id);
    await prod.waitForLines('stream_error', streamIds);
  });

  it('an attacker with the password removes no key with field names that mimic key errors, echoed back by Google', async () => {
    fake.setDefaultBehaviour('echo-unknown-field');
    const crafted = {
      'API key not valid': 1,
      'API Key not found. Please pass a valid API key.': 'API_KEY_INVALID',
      'Your API key was reported as leaked': true,
    };
    const answers: Exchange[] = [];
    // twice as many requests as keys: the old message-matching classifier removed a key on each
    for (let i = 0; i < 2 * KEYS.length; i++) {
      const request =
        i % 2 === 0
          ? { ...native('generateContent'), body: JSON.stringify({ contents: [], ...crafted }) }
          : chat(undefined, crafted);
      answers.push(await send(prod, i % 2 === 0 ? 'crafted native' : 'crafted chat', request));
    }
    expect(answers.map(outcome)).toEqual(
      answers.map((a) => ({ label: a.label, status: 400, code: 'INVALID_ARGUMENT' })),
    );
    expect(answers.every((a) => a.body.includes('Unknown name \\"API key not valid\\"'))).toBe(true);
    expect(fake.calls).toHaveLength(answers.length);
    await prod.waitForLines(
      'request',
      answers.map((a) => a.id),
    );
    expect(
      answers.flatMap((a) => [...prod.linesFor('key_removed', a.id), ...prod.linesFor('key_cooldown', a.id)]),
    ).toEqual([]);
    // and every key still serves
    fake.setDefaultBehaviour('ok');
    snapshotUpstream();
    for (let i = 0; i < 400 && new Set(fake.calls.map((c) => c.apiKey)).size < KEYS.length; i++) {
      expect(outcome(await send(prod, 'after crafted fields', chat()))).toEqual({
        label: 'after crafted fields',
        status: 200,
        code: undefined,
      });
    }
    expect(new Set(fake.calls.map((c) => c.apiKey))).toEqual(new Set(KEYS));
  });

  it('an endless upload without the password is refused while it is still being sent, having been read by no worker', async () => {
    const id = nextId();
    const written = await endlessUpload(prod.url, id, { 'content-type': 'application/json' });
    await prod.waitForLines('request', [id]);
    expect(prod.linesFor('request', id)).toEqual([expect.objectContaining({ status: 401, error: 'missing_api_key' })]);
    await prod.waitForLines('orchestrator_request', [id]);
    expect(prod.linesFor('orchestrator_request', id)).toEqual([expect.objectContaining({ status: 401 })]);
    // socket buffers hold a few MiB of a body nobody reads; reading it would take all 64 MiB
    expect(written).toBeLessThan(8 * 1024 * 1024);
    expect(fake.calls).toEqual([]);
  });

  /**
   * Sends `request` until every key in `faulty` has been called, with `behaviour` on those keys. At most two keys
   * per shard are faulty and each shard has another, so within its three attempts every request ends on a good key.
   */
  async function failOver(model: string, faulty: Record<string, FakeBehaviour>, label: string): Promise<Exchange[]> {
    for (const [key, behaviour] of Object.entries(faulty)) fake.setKeyBehaviour(key, behaviour);
    const answers: Exchange[] = [];
    const called = (): string[] => Object.keys(faulty).filter((key) => fake.calls.some((c) => c.apiKey === key));
    while (called().length < Object.keys(faulty).length && answers.length < 300)
      answers.push(await send(prod, label, chat(model)));
    expect(called()).toEqual(Object.keys(faulty));
    expect(answers.map(outcome)).toEqual(answers.map(() => ({ label, status: 200, code: undefined })));
    // a faulty key is taken out after its first failure, so it is never asked twice (a 403 without ErrorInfo, such
    // as a leaked key's, is confirmed first by one probe: a model list holding nothing but the key)
    for (const key of Object.keys(faulty))
      expect(fake.calls.filter((c) => c.apiKey === key && c.method === 'POST')).toHaveLength(1);
    for (const call of fake.calls.filter((c) => c.method === 'GET'))
      expect(`${call.path}${call.search}`).toBe('/v1beta/models?pageSize=1');
    await prod.waitForLines(
      'request',
      answers.map((a) => a.id),
    );
    snapshotUpstream();
    return answers;
  }

  const keyEvents = (answers: Exchange[], event: string): Json[] => answers.flatMap((a) => prod.linesFor(event, a.id));

  /**
   * With `behaviour` on every key, sends requests until both shards refuse `final` without calling Google. Each
   * answer must be 429 `rate_limited` (three keys failed, others remain) or `final`, and each of `liveKeys` is asked
   * exactly once: a key out for this model (or removed) is never asked again.
   */
  async function drain(
    model: string,
    behaviour: FakeBehaviour,
    label: string,
    final: { status: number; code: string },
    liveKeys: readonly string[],
  ): Promise<Exchange[]> {
    fake.setDefaultBehaviour(behaviour);
    const answers: Exchange[] = [];
    const settled = new Set<number>();
    while (settled.size < 2 && answers.length < 60) {
      const answer = await send(prod, label, chat(model));
      answers.push(answer);
      await prod.waitForLines('request', [answer.id]);
      await prod.waitForLines('orchestrator_request', [answer.id]);
      const line = defined(prod.linesFor('request', answer.id)[0], `the request line of ${answer.id}`);
      const { shard } = defined(
        prod.linesFor('orchestrator_request', answer.id)[0],
        `the orchestrator line of ${answer.id}`,
      );
      if (line.attempts === 0 && answer.status === final.status && codeOf(answer.body) === final.code)
        settled.add(Number(shard));
    }
    expect(settled).toEqual(new Set([0, 1]));
    for (const answer of answers) {
      if (codeOf(answer.body) === 'rate_limited') {
        expect({ ...outcome(answer), retryAfter: header(answer, 'retry-after') }).toEqual({
          label,
          status: 429,
          code: 'rate_limited',
          retryAfter: '1',
        });
      } else {
        expect(outcome(answer)).toEqual({ label, ...final });
      }
    }
    expect(fake.calls.map((c) => c.apiKey).sort()).toEqual([...liveKeys].sort());
    snapshotUpstream();
    return answers;
  }

  it('answers every key-pool row: failover on quota, invalid, leaked and suspended keys, then cooling, daily and exhausted pools', async () => {
    const { key } = shardKeys;
    const minuteAndDay = await failOver(
      'gemini-3.8-flash',
      { [key(0, 0)]: 'quota-minute', [key(0, 1)]: 'quota-day', [key(1, 0)]: 'quota-minute', [key(1, 1)]: 'quota-day' },
      'failover from a rate-limited key',
    );
    expect(
      keyEvents(minuteAndDay, 'key_cooldown')
        .map((l) => l.reason)
        .sort(),
    ).toEqual(['quota-day', 'quota-day', 'quota-minute', 'quota-minute']);

    const invalidAndLeaked = await failOver(
      'gemini-3.1-pro-preview',
      { [key(0, 2)]: 'invalid-key', [key(0, 3)]: 'leaked-key', [key(1, 2)]: 'invalid-key', [key(1, 3)]: 'leaked-key' },
      'failover from a rejected key',
    );
    expect(
      keyEvents(invalidAndLeaked, 'key_removed')
        .map((l) => l.reason)
        .sort(),
    ).toEqual(['API_KEY_INVALID', 'API_KEY_INVALID', 'PERMISSION_DENIED', 'PERMISSION_DENIED']);

    // Google names the suspended key in its message; the key is dropped and the message goes nowhere
    const suspended = await failOver(
      'gemini-3.1-pro-preview',
      { [key(0, 0)]: 'suspended-key', [key(1, 0)]: 'suspended-key' },
      'failover from a suspended key',
    );
    expect(keyEvents(suspended, 'key_removed').map((l) => l.reason)).toEqual([
      'CONSUMER_SUSPENDED',
      'CONSUMER_SUSPENDED',
    ]);

    // left: every key but the removed ones
    const live = [key(0, 1), ...shardKeys.all[0].slice(4), key(1, 1)];
    const cooling = await drain(
      'gemini-2.0-flash',
      'quota-minute',
      'every key rate limited',
      { status: 429, code: 'all_keys_cooling' },
      live,
    );
    for (const answer of cooling.filter((a) => codeOf(a.body) === 'all_keys_cooling')) {
      expect(Number(header(answer, 'retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(header(answer, 'retry-after'))).toBeLessThanOrEqual(17);
    }
    const daily = await drain(
      'gemini-2.0-flash-lite',
      'quota-day',
      'every key out for the day',
      { status: 429, code: 'daily_quota_exhausted' },
      live,
    );
    for (const answer of daily.filter((a) => codeOf(a.body) === 'daily_quota_exhausted')) {
      expect(header(answer, 'x-should-retry')).toBe('false');
    }
    // last: this leaves the pools empty for the life of the isolates
    await drain(
      'gemini-3.1-pro-preview',
      'invalid-key',
      'every key invalid',
      { status: 503, code: 'no_usable_keys' },
      live,
    );
  });

  it('logged every request it answered, and no log line holds a canary', async () => {
    await expectLoggedWithoutCanaries(prod);
    expect(prod.messages.some((m) => m.includes('"event":"key_removed"'))).toBe(true);
  });
});

describe('faulty shards, misconfigured shards and a refused upstream, through the orchestrator', () => {
  let refusedOrMisconfigured: CapturedTopology;
  let unconfigured: CapturedTopology;
  let crashingOrHanging: CapturedTopology;
  let noBackend: CapturedTopology;

  beforeAll(async () => {
    const refused = `http://127.0.0.1:${await closedPort()}`;
    const base = stackTopology({ GEMINI_BASE_URL: fake.url, UPSTREAM_TIMEOUT_MS });
    [refusedOrMisconfigured, unconfigured, crashingOrHanging, noBackend] = await Promise.all([
      start(
        patched(stackTopology({ GEMINI_BASE_URL: refused, UPSTREAM_TIMEOUT_MS }), (worker, shard) =>
          shard === 1 ? withBindings(worker, { GEMINI_BASE_URL: 'not a url' }) : undefined,
        ),
      ),
      // one shard per request: the keyless shard's no_keys_configured is a pool refusal, re-routed by default
      start(
        patched(
          stackTopology({ GEMINI_BASE_URL: fake.url, UPSTREAM_TIMEOUT_MS, SHARD_ATTEMPTS: '1' }),
          (worker, shard) => {
            if (shard === 0) return withBindings(worker, { PASS: '' });
            if (shard === 1)
              return withBindings(
                worker,
                Object.fromEntries(Object.keys(worker.apiKeyIndexes).map((name) => [name, ''])),
              );
            return undefined;
          },
        ),
      ),
      start(
        patched(
          stackTopology({ GEMINI_BASE_URL: fake.url, UPSTREAM_TIMEOUT_MS, SHARD_TIMEOUT_MS: '300' }),
          (worker, shard) => {
            if (shard === undefined) return undefined;
            const code =
              shard === 0
                ? `export default { async fetch() { throw new Error('${CRASH_MARKER}'); } };`
                : 'export default { async fetch() { await new Promise((resolve) => setTimeout(resolve, 20000)); return new Response("late"); } };';
            return { ...worker.options, modules: replaceContents(worker.options.modules, code) };
          },
        ),
      ),
      start(
        patched(base, (worker, shard) =>
          shard === undefined ? { ...worker.options, serviceBindings: {} } : undefined,
        ),
      ),
    ]);
  });

  /** Sends requests until both shards have answered; each answer must be its shard's row. */
  async function perShard(
    topology: CapturedTopology,
    rows: [{ status: number; code: string }, { status: number; code: string }],
  ): Promise<void> {
    const seen = new Set<number>();
    for (let i = 0; seen.size < 2 && i < 60; i++) {
      const answer = await send(topology, `request ${i}`, i % 2 === 0 ? chat() : native('generateContent'));
      await topology.waitForLines('orchestrator_request', [answer.id]);
      const { shard } = defined(
        topology.linesFor('orchestrator_request', answer.id)[0],
        `the orchestrator line of ${answer.id}`,
      );
      if (shard !== 0 && shard !== 1)
        throw new Error(`the orchestrator line of ${answer.id} names shard ${String(shard)}`);
      seen.add(shard);
      expect({ shard, ...outcome(answer) }).toEqual({ shard, label: answer.label, ...rows[shard] });
    }
    expect(seen).toEqual(new Set([0, 1]));
  }

  it('a refused connection is 502 upstream_unreachable; a bad GEMINI_BASE_URL is 500 server_misconfigured', async () => {
    await perShard(refusedOrMisconfigured, [
      { status: 502, code: 'upstream_unreachable' },
      { status: 500, code: 'server_misconfigured' },
    ]);
  });

  it('a shard without PASS is 500 server_misconfigured; a shard without keys is 503 no_keys_configured', async () => {
    await perShard(unconfigured, [
      { status: 500, code: 'server_misconfigured' },
      { status: 503, code: 'no_keys_configured' },
    ]);
  });

  it('a throwing shard is 502 shard_error without its exception text; a hanging one is 504 shard_timeout', async () => {
    await perShard(crashingOrHanging, [
      { status: 502, code: 'shard_error' },
      { status: 504, code: 'shard_timeout' },
    ]);
    const answers = exchanges.filter((e) => e.topology === crashingOrHanging);
    expect(answers.some((a) => a.body.includes(CRASH_MARKER))).toBe(false);
  });

  it('zero shards bound is 503 no_backend', async () => {
    const answers = [await send(noBackend, 'chat', chat()), await send(noBackend, 'native', native('generateContent'))];
    expect(answers.map(outcome)).toEqual([
      { label: 'chat', status: 503, code: 'no_backend' },
      { label: 'native', status: 503, code: 'no_backend' },
    ]);
  });

  it('logged every request they answered, and no log line holds a canary', async () => {
    for (const topology of [refusedOrMisconfigured, unconfigured, crashingOrHanging, noBackend]) {
      await expectLoggedWithoutCanaries(topology);
    }
  });
});

describe('Google behind an AI Gateway-shaped base URL, refusing and rationing keys, through the orchestrator', () => {
  const PREFIX = '/v1/0123456789abcdef0123456789abcdef/zen-gateway/google-ai-studio';
  let proxy: GatewayProxy;
  let gateway: CapturedTopology;
  let shardKeys: ShardKeys;

  beforeAll(async () => {
    proxy = await startGatewayProxy(PREFIX, fake.url);
    const topology = stackTopology({ GEMINI_BASE_URL: `${proxy.url}${PREFIX}`, UPSTREAM_TIMEOUT_MS });
    shardKeys = shardKeysOf(topology);
    gateway = await start(topology);
  });
  afterAll(() => proxy.close());

  it('keeps the base URL path on both surfaces, streams included', async () => {
    const answers = [
      await send(gateway, 'chat', chat()),
      await send(gateway, 'chat stream', chat(undefined, { stream: true })),
      await send(gateway, 'native', native('generateContent')),
      await send(gateway, 'native stream', native('streamGenerateContent', '?alt=sse')),
      await send(gateway, 'models', { path: '/v1/models', headers: bearer }),
      await send(gateway, 'native models', { path: '/v1beta/models', headers: googKey }),
    ];
    // issue 24: per-key status answers the operator alone; a client token gets 403 operator_only from every shard
    expect(answers.map(outcome)).toEqual(
      answers.map((a) =>
        a.label.startsWith('status')
          ? { label: a.label, status: 403, code: 'operator_only' }
          : { label: a.label, status: 200, code: undefined },
      ),
    );
    expect(proxy.paths).toEqual([
      `${PREFIX}/v1beta/openai/chat/completions`,
      `${PREFIX}/v1beta/openai/chat/completions`,
      `${PREFIX}/v1beta/models/gemini-3.8-flash:generateContent`,
      `${PREFIX}/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse`,
      `${PREFIX}/v1beta/openai/models`,
      `${PREFIX}/v1beta/models`,
    ]);
  });

  /**
   * Puts each behaviour on its key and sends requests (both surfaces, gemini-3.1-pro-preview) until every one of those keys
   * has been asked. At most two keys per shard are faulty, so within three attempts every request ends on a good key.
   */
  async function hitEach(faulty: Record<string, FakeBehaviour>, label: string): Promise<Exchange[]> {
    for (const [key, behaviour] of Object.entries(faulty)) fake.setKeyBehaviour(key, behaviour);
    const answers: Exchange[] = [];
    const called = (): string[] => Object.keys(faulty).filter((key) => fake.calls.some((c) => c.apiKey === key));
    while (called().length < Object.keys(faulty).length && answers.length < 300) {
      answers.push(
        await send(
          gateway,
          label,
          answers.length % 2 === 0
            ? chat('gemini-3.1-pro-preview')
            : { ...native('generateContent'), path: '/v1beta/models/gemini-3.1-pro-preview:generateContent' },
        ),
      );
    }
    expect(called().sort()).toEqual(Object.keys(faulty).sort());
    expect(answers.map(outcome)).toEqual(answers.map(() => ({ label, status: 200, code: undefined })));
    // out of rotation (or cooling for this model) after one answer: never asked twice
    for (const key of Object.keys(faulty)) expect(fake.calls.filter((c) => c.apiKey === key)).toHaveLength(1);
    await gateway.waitForLines(
      'request',
      answers.map((a) => a.id),
    );
    return answers;
  }

  it('takes out keys Google refuses (401, SERVICE_DISABLED, BILLING_DISABLED), logged with the model and no until', async () => {
    const { key } = shardKeys;
    const answers = await hitEach(
      {
        [key(0, 0)]: 'unauthenticated-401',
        [key(0, 1)]: 'service-disabled-403',
        [key(1, 0)]: 'billing-disabled-403',
        [key(1, 1)]: 'unauthenticated-401',
      },
      'refused keys',
    );
    const removed = answers.flatMap((a) => gateway.linesFor('key_removed', a.id));
    expect(removed.map((l) => [l.reason, l.until, l.model]).sort()).toEqual([
      ['BILLING_DISABLED', null, 'gemini-3.1-pro-preview'],
      ['SERVICE_DISABLED', null, 'gemini-3.1-pro-preview'],
      ['UNAUTHENTICATED', null, 'gemini-3.1-pro-preview'],
      ['UNAUTHENTICATED', null, 'gemini-3.1-pro-preview'],
    ]);
    expect(answers.flatMap((a) => gateway.linesFor('key_cooldown', a.id))).toEqual([]);
  });

  it('cools a key with a zero quota until the day resets, and one with a bare 429 for seconds', async () => {
    const { key } = shardKeys;
    const answers = await hitEach(
      { [key(0, 2)]: 'quota-zero', [key(0, 3)]: 'quota-bare-429', [key(1, 2)]: 'quota-zero' },
      'rationed keys',
    );
    const cooled = answers.flatMap((a) => gateway.linesFor('key_cooldown', a.id));
    expect(cooled.map((l) => l.reason).sort()).toEqual(['quota-unspecified', 'quota-zero', 'quota-zero']);
    const bare = defined(
      cooled.find((l) => l.reason === 'quota-unspecified'),
      'the quota-unspecified cooldown',
    );
    const zero = defined(
      cooled.find((l) => l.reason === 'quota-zero'),
      'a quota-zero cooldown',
    );
    // seconds for the bare 429; the next midnight in Los Angeles (07:00 or 08:00 UTC) for the zero quota
    expect(Date.parse(String(bare.until)) - Date.now()).toBeLessThanOrEqual(5_000);
    expect(new Date(String(zero.until)).getUTCHours()).toBeGreaterThanOrEqual(7);
    expect(new Date(String(zero.until)).getUTCHours()).toBeLessThanOrEqual(8);
    expect(proxy.paths.every((path) => path.startsWith(`${PREFIX}/v1beta/`))).toBe(true);
  });

  it("serves a client token like the password (but the operator's status view: 403), its log lines naming the client, never the token", async () => {
    const asBot = { authorization: `Bearer ${CLIENT_TOKEN}` };
    const answers = [
      await send(gateway, 'chat as a token client', { ...chat(), headers: { ...asBot, ...jsonType } }),
      await send(gateway, 'native as a token client', {
        ...native('generateContent'),
        headers: { 'x-goog-api-key': CLIENT_TOKEN, ...jsonType },
      }),
      await send(gateway, 'status as a token client', { path: '/zen/status', headers: asBot }),
    ];
    // issue 24: per-key status answers the operator alone; a client token gets 403 operator_only from every shard
    expect(answers.map(outcome)).toEqual(
      answers.map((a) =>
        a.label.startsWith('status')
          ? { label: a.label, status: 403, code: 'operator_only' }
          : { label: a.label, status: 200, code: undefined },
      ),
    );
    await gateway.waitForLines(
      'request',
      answers.map((a) => a.id),
    );
    for (const answer of answers) {
      expect(gateway.linesFor('request', answer.id).map((l) => l.client)).toEqual(
        answer.label.startsWith('status') ? ['hygiene-bot', 'hygiene-bot'] : ['hygiene-bot'],
      );
    }
    const wrong = await send(gateway, 'status, wrong token', {
      path: '/zen/status',
      headers: { authorization: `Bearer ${CLIENT_TOKEN}x` },
    });
    expect(outcome(wrong)).toEqual({ label: 'status, wrong token', status: 401, code: 'invalid_api_key' });
  });

  it("shows the refused and rationed keys in the status view by index and global number, with every shard's counters", async () => {
    const answer = await send(gateway, 'status view', { path: '/zen/status', headers: bearer });
    expect(outcome(answer)).toEqual({ label: 'status view', status: 200, code: undefined });
    const view = JSON.parse(answer.body) as {
      shards: { shard: number; firstKey: number; status: { keys: Json[] } }[];
    };
    const keys = view.shards.flatMap((s) => s.status.keys.map((k): Json => ({ ...k, shard: s.shard })));
    const byValue = (value: string): Json | undefined => keys.find((k) => k.globalKey === KEYS.indexOf(value) + 1);
    const { key } = shardKeys;
    expect(byValue(key(0, 0))).toMatchObject({ shard: 0, key: 1, state: 'removed', reason: 'UNAUTHENTICATED' });
    expect(byValue(key(0, 1))).toMatchObject({ state: 'removed', reason: 'SERVICE_DISABLED' });
    expect(byValue(key(1, 0))).toMatchObject({ shard: 1, key: 1, state: 'removed', reason: 'BILLING_DISABLED' });
    expect(byValue(key(0, 2))).toMatchObject({
      state: 'cooling',
      cooling: [expect.objectContaining({ model: 'gemini-3.1-pro-preview', reason: 'quota-zero' })],
      rateLimited: 1,
    });
    expect(keys.map((k) => k.globalKey).sort((a, b) => (a as number) - (b as number))).toEqual(
      KEYS.map((_, i) => i + 1),
    );
  });

  it('logged every request it answered, and no log line holds a canary', async () => {
    await expectLoggedWithoutCanaries(gateway);
  });
});

describe('everything the gateway said', () => {
  it('holds no canary in any response body or header, any workerd output, or any request to Google', async () => {
    // traffic of its own, through a topology of its own, so the search below is never blind: alone (-t), it searches
    // this; after the rest of the file, everything every topology answered too
    const own = await start(stackTopology({ GEMINI_BASE_URL: fake.url, UPSTREAM_TIMEOUT_MS }));
    const answers = [
      await send(own, 'own: chat', chat()),
      await send(own, 'own: native, password in ?key=', {
        ...native('generateContent', `?key=${encodeURIComponent(PASS)}`),
        headers: jsonType,
      }),
      await send(own, 'own: a pool key as the password', {
        ...chat(),
        headers: { authorization: `Bearer ${keyAt(0)}`, ...jsonType },
      }),
    ];
    fake.setDefaultBehaviour('denied-quoting-key');
    try {
      answers.push(
        await send(own, 'own: chat, Google quotes the key', chat()),
        await send(own, 'own: native, Google quotes the key', native('generateContent')),
      );
    } finally {
      fake.setDefaultBehaviour('ok');
    }
    const sdk = await openai(own, 'own: sdk').chat.completions.create({
      model: 'gemini-3.8-flash',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(sdk.choices[0]?.message.content).toBe(FAKE_REPLY_TEXT);
    expect(answers.map(outcome)).toEqual([
      { label: 'own: chat', status: 200, code: undefined },
      { label: 'own: native, password in ?key=', status: 200, code: undefined },
      { label: 'own: a pool key as the password', status: 401, code: 'invalid_api_key' },
      { label: 'own: chat, Google quotes the key', status: 403, code: 'PERMISSION_DENIED' },
      { label: 'own: native, Google quotes the key', status: 403, code: 'PERMISSION_DENIED' },
    ]);
    // Google got every call but the refused one, the two quoting ones each followed by a probe of the key alone
    expect(fake.calls.filter((call) => call.method === 'POST')).toHaveLength(5);
    await expectLoggedWithoutCanaries(own);

    await Promise.all(pendingRecordings);
    // workerd may still be writing; after dispose its output is complete
    const running = topologies.splice(0);
    await Promise.all(running.map((t) => t.dispose()));
    snapshotUpstream();
    expect(running).toContain(own);
    expect(exchanges.filter((e) => e.topology === own).map((e) => e.label)).toEqual([
      ...answers.map((a) => a.label),
      'own: sdk',
    ]);
    const leaks = exchanges.flatMap((e) =>
      findCanaries([...e.headers.map(([name, value]) => `${name}: ${value}`), e.body].join('\n')).map(
        (leak) => `${e.label} [${e.id}]: ${leak}`,
      ),
    );
    expect(leaks).toEqual([]);
    for (const topology of running) expect(findCanaries(topology.rawOutput())).toEqual([]);
    // Google sees pool keys only, never the password, wherever the client put it
    expect(upstreamCalls.length).toBeGreaterThanOrEqual(5);
    expect(upstreamCalls.filter((call) => JSON.stringify(call).includes(PASS))).toEqual([]);
    expect(upstreamCalls.every((call) => KEYS.includes(call.apiKey ?? ''))).toBe(true);
  });
});
