/**
 * Bodies over the replay bound (`REPLAY_MAX_BYTES`) in workerd: a native or OpenAI chat body streams to the fake once,
 * byte for byte, on one key, without failover (a key fault's answer goes to the client and the key still cools);
 * routes that must parse the body (embeddings, Anthropic) refuse it with 413 before anything goes upstream; a chunked
 * upload that runs past `MAX_BODY_BYTES` while streaming is a 413. Bodies are generated in memory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { REPLAY_MAX_BYTES } from '../../../../workers/shared/contract';
import { ANY_MODEL } from '../../../../workers/shard/core/key-pool';
import { startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';

const PASS = 'CANARY-PASS-large-bodies-5e1';
const KEYS = ['CANARY-KEY-1-large-bodies-a7', 'CANARY-KEY-2-large-bodies-b8', 'CANARY-KEY-3-large-bodies-c9'];
const MiB = 1024 * 1024;

jest.setTimeout(60_000);

let h: ShardWorkerHarness;
beforeAll(async () => {
  h = await startShardWorker({ keys: KEYS, pass: PASS });
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** A native generateContent body of about `bytes` bytes: random base64 text, so a hash match means every byte arrived. */
function nativeBody(bytes: number): Buffer {
  const text = randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64');
  return Buffer.from(JSON.stringify({ contents: [{ role: 'user', parts: [{ text }] }] }));
}

function chatBody(bytes: number, extra: Record<string, unknown> = {}): Buffer {
  const content = randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64');
  return Buffer.from(JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content }], ...extra }));
}

/** `body` as a stream without a declared length: Node's fetch sends it chunked. */
function chunked(body: Buffer): ReadableStream<Uint8Array> {
  const step = MiB;
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= body.length) return controller.close();
      controller.enqueue(new Uint8Array(body.subarray(at, at + step)));
      at += step;
    },
  });
}

let sequence = 0;
async function post(
  path: string,
  headers: Record<string, string>,
  body: Buffer | ReadableStream<Uint8Array>,
): Promise<{ status: number; text: string; id: string; contentType: string }> {
  const id = `large-bodies-${++sequence}`;
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': id, ...headers },
    body,
    duplex: 'half',
  } as RequestInit);
  return { status: res.status, text: await res.text(), id, contentType: res.headers.get('content-type') ?? '' };
}

/**
 * Posts a body the worker refuses from its declared length, without reading it: the client may see the connection
 * close before the answer, so the worker's request log line says what it answered.
 */
async function refused(path: string, headers: Record<string, string>, json: unknown): Promise<Record<string, unknown>> {
  const id = `large-bodies-${++sequence}`;
  await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': id, ...headers },
    body: JSON.stringify(json),
  }).then(
    (res) => res.arrayBuffer(),
    () => undefined,
  );
  return h.waitForRequestLog(id, 10_000);
}

const NATIVE = { path: '/v1beta/models/gemini-3.8-flash:generateContent', headers: { 'x-goog-api-key': PASS } };
const CHAT = { path: '/v1/chat/completions', headers: { authorization: `Bearer ${PASS}` } };
const posts = () => h.fake.calls.filter((c) => c.method === 'POST');

describe('bodies over the replay bound', () => {
  it('a ~40 MB native body reaches Google byte for byte, once, and its answer comes back', async () => {
    const body = nativeBody(40 * MiB);
    expect(body.length).toBeGreaterThan(REPLAY_MAX_BYTES);
    const res = await post(NATIVE.path, NATIVE.headers, body);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toHaveProperty('candidates');
    expect(posts()).toHaveLength(1);
    expect(sha256(posts()[0]?.body ?? '')).toBe(sha256(body));
  });

  it('a chunked native body over the bound streams through byte for byte', async () => {
    const body = nativeBody(24 * MiB);
    const res = await post(NATIVE.path, NATIVE.headers, chunked(body));
    expect(res.status).toBe(200);
    expect(posts()).toHaveLength(1);
    expect(sha256(posts()[0]?.body ?? '')).toBe(sha256(body));
  });

  it('is sent on one key only: a 429 from that key reaches the client, and the key cools for the model', async () => {
    h.fake.setDefaultBehaviour('quota-minute');
    const res = await post(NATIVE.path, NATIVE.headers, nativeBody(20 * MiB));
    expect(res.status).toBe(429);
    expect(JSON.parse(res.text)).toMatchObject({ error: { status: 'RESOURCE_EXHAUSTED' } });
    expect(posts()).toHaveLength(1);
    const line = await h.waitForRequestLog(res.id);
    expect(line).toMatchObject({ attempts: 1, status: 429, upstreamStatus: 429 });
    const cooled = h.jsonLogs().filter((l) => l.event === 'key_cooldown' && l.requestId === res.id);
    expect(cooled).toEqual([expect.objectContaining({ model: 'gemini-3.8-flash' })]);
  });

  it('a body under the bound still fails over to another key', async () => {
    const faulty = [KEYS[0] ?? '', KEYS[1] ?? ''];
    for (const key of faulty) h.fake.setKeyBehaviour(key, 'quota-minute');
    const body = nativeBody(2 * MiB);
    const triedFaulty = () => new Set(posts().flatMap((c) => (faulty.includes(c.apiKey ?? '') ? [c.apiKey] : [])));
    // its own model: the other tests leave keys cooling for theirs; each request that meets a 429 is served by another key
    for (let i = 0; i < 30 && triedFaulty().size < faulty.length; i++) {
      const res = await post('/v1beta/models/gemini-3.1-pro-preview:generateContent', NATIVE.headers, body);
      expect(res.status).toBe(200);
    }
    expect(triedFaulty().size).toBe(faulty.length);
  });

  it('an OpenAI chat body over the bound goes through once, unparsed, its reply shaped by its content-type', async () => {
    const body = chatBody(20 * MiB);
    const res = await post(CHAT.path, CHAT.headers, body);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toHaveProperty('choices');
    expect(posts()).toHaveLength(1);
    expect(sha256(posts()[0]?.body ?? '')).toBe(sha256(body));

    h.fake.reset();
    const streamed = await post(CHAT.path, CHAT.headers, chatBody(20 * MiB, { stream: true }));
    expect(streamed.status).toBe(200);
    expect(streamed.contentType).toMatch(/^text\/event-stream/);
    expect(streamed.text).toContain('data: [DONE]');
    expect(posts()).toHaveLength(1);
  });

  it('an OpenAI chat body over the bound is not failed over: a key fault cools the key for every model', async () => {
    h.fake.setDefaultBehaviour('quota-minute');
    const res = await post(CHAT.path, CHAT.headers, chatBody(20 * MiB));
    expect(res.status).toBe(429);
    expect(JSON.parse(res.text)).toMatchObject({ error: { type: expect.any(String) } });
    expect(posts()).toHaveLength(1);
    const cooled = h.jsonLogs().filter((l) => l.event === 'key_cooldown' && l.requestId === res.id);
    expect(cooled).toEqual([expect.objectContaining({ model: ANY_MODEL })]);
  });

  it('embeddings over the bound get 413 request_too_large before anything is sent upstream', async () => {
    const input = 'x'.repeat(REPLAY_MAX_BYTES + 1);
    const line = await refused('/v1/embeddings', CHAT.headers, { model: 'gemini-embedding-001', input });
    expect(line).toMatchObject({ status: 413, error: 'request_too_large', attempts: 0 });
    expect(h.fake.calls).toEqual([]);
  });

  it('Anthropic messages over the bound get 413 request_too_large before anything is sent upstream', async () => {
    const content = 'x'.repeat(REPLAY_MAX_BYTES + 1);
    const messages = [{ role: 'user', content }];
    const line = await refused(
      '/v1/messages',
      { 'x-api-key': PASS },
      { model: 'claude-sonnet-4-5', max_tokens: 10, messages },
    );
    expect(line).toMatchObject({ status: 413, error: 'request_too_large', attempts: 0 });
    expect(h.fake.calls).toEqual([]);
  });

  it('no key or password appears in any response or log line', () => {
    const logs = h.logs.map((l) => l.message).join('\n');
    for (const secret of [PASS, ...KEYS]) expect(logs).not.toContain(secret);
  });
});

describe('a chunked upload that runs past MAX_BODY_BYTES while streaming', () => {
  let small: ShardWorkerHarness;
  beforeAll(async () => {
    small = await startShardWorker({
      keys: KEYS,
      pass: PASS,
      bindings: { MAX_BODY_BYTES: String(REPLAY_MAX_BYTES + 4 * MiB) },
    });
  });
  afterAll(() => small.close());

  it('is answered 413 request_too_large, not as an upstream failure', async () => {
    const body = nativeBody(REPLAY_MAX_BYTES + 8 * MiB);
    const id = 'large-bodies-overrun';
    // the worker stops reading the upload at the limit, so the client may see its connection close before the answer
    await fetch(`${small.url}${NATIVE.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id, ...NATIVE.headers },
      body: chunked(body),
      duplex: 'half',
    } as RequestInit).then(
      (res) => res.arrayBuffer(),
      () => undefined,
    );
    expect(await small.waitForRequestLog(id, 10_000)).toMatchObject({ status: 413, error: 'request_too_large' });
  });
});
