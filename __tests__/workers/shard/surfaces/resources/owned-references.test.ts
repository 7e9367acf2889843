/**
 * Requests on the generation routes that name owned resources (files, cached contents), in workerd against the fake
 * Gemini: every call goes to the owning key with the tags stripped; mixed owners, forged tags and other shards'
 * tags are refused before anything goes upstream; the owning key cooling or rejected is said as such, without
 * trying another key. Bodies over the replay bound that name a resource stop their upload. No key value appears in
 * any answer or log line.
 */
import { REPLAY_MAX_BYTES } from '../../../../../workers/shared/contract';
import { OWNER_HEADER } from '../../../../../workers/shared/contract';
import { POOL_HEADER } from '../../../../../workers/shared/pool-refusal';
import { formatOwnerTag } from '../../../../../workers/shared/owner-tag';
import { keyFingerprint } from '../../../../../workers/shard/surfaces/resources/owner-keys';
import { startFakeGemini, type FakeGemini } from '../../../../../dev/fake-gemini';
import { gatewayReason } from '../../../../helpers/google-errors';
import { defined } from '../../../../helpers/guards';
import { rawRequest } from '../../../../helpers/raw-http';
import { startShardWorker, type ShardWorkerHarness } from '../../../../helpers/shard-worker';

const PASS = 'CANARY-PASS-owned-refs-71c';
const KEYS = [
  'CANARY-KEY-1-owned-refs-a1',
  'CANARY-KEY-2-owned-refs-b2',
  'CANARY-KEY-3-owned-refs-c3',
  'CANARY-KEY-4-owned-refs-d4',
];
const KEY3 = defined(KEYS[2], 'KEY3');
const MODEL = 'gemini-3.8-flash';
const MiB = 1024 * 1024;

jest.setTimeout(60_000);

let fake: FakeGemini;
/** standalone: SHARD_INDEX unset, so its tags name shard 0 */
let h: ShardWorkerHarness;
/** the same keys as shard 1 behind an orchestrator */
let shard1: ShardWorkerHarness;
const answers: string[] = [];

beforeAll(async () => {
  fake = await startFakeGemini();
  h = await startShardWorker({ keys: KEYS, pass: PASS, fake });
  shard1 = await startShardWorker({ keys: KEYS, pass: PASS, fake, bindings: { SHARD_INDEX: '1' } });
});
afterAll(async () => {
  await h.close();
  await shard1.close();
  await fake.close();
  // the canary: no key (nor the password) in any answer or any line either worker logged
  const logged = [...h.logs, ...shard1.logs].map((l) => l.message);
  expect(logged.length).toBeGreaterThan(0);
  for (const secret of [...KEYS, PASS]) {
    expect(answers.filter((a) => a.includes(secret))).toEqual([]);
    expect(logged.filter((l) => l.includes(secret))).toEqual([]);
  }
});
// the resources these tests name, as KEY3 created them: the fake refuses another key's, as Google does
const KEY3_RESOURCES = [
  'files/abc',
  ...Array.from({ length: 12 }, (_, i) => `files/abc${i}`),
  'files/img1',
  'files/doc',
  'cachedContents/cache1',
  'cachedContents/c2',
  'cachedContents/e1',
  'cachedContents/c',
];
beforeEach(() => {
  fake.reset();
  for (const name of KEY3_RESOURCES) fake.seedResource(KEY3, name);
});

/** The tag of KEY<n> on `shard`, as the gateway hands it out. */
async function tagOf(n: number, shard = 0): Promise<string> {
  return formatOwnerTag({ shard, key: n, fingerprint: await keyFingerprint(defined(KEYS[n - 1], `KEY${n}`)) });
}

let sequence = 0;
interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: { error?: { code?: string; message?: string } };
  readonly id: string;
}

async function post(path: string, body: unknown, worker: ShardWorkerHarness = h, nativeAuth = true): Promise<Answer> {
  const id = `owned-refs-${++sequence}`;
  const res = await fetch(`${worker.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-request-id': id,
      ...(nativeAuth ? { 'x-goog-api-key': PASS } : { authorization: `Bearer ${PASS}` }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  answers.push(text, JSON.stringify([...res.headers]));
  let json: Answer['json'] = {};
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    // a stream's events
  }
  return { status: res.status, headers: res.headers, text, json, id };
}

const native = (action: string, body: unknown, worker?: ShardWorkerHarness) =>
  post(`/v1beta/models/${MODEL}:${action}`, body, worker);
const chat = (body: unknown) => post('/v1/chat/completions', { model: MODEL, ...(body as object) }, h, false);

function fileContents(fileUri: string, text = 'summarise the file') {
  return { contents: [{ role: 'user', parts: [{ text }, { fileData: { mimeType: 'text/plain', fileUri } }] }] };
}

/** Keys of the calls the fake received, by their index in KEYS (1-based), e.g. `[3, 3, 3]`. */
const keysCalled = () => fake.calls.map((c) => KEYS.indexOf(c.apiKey ?? '') + 1);

describe('a body that names resources of one key', () => {
  it('sends a dozen native generateContent calls naming a file to its key, with the tag stripped', async () => {
    const tag = await tagOf(3);
    for (let i = 0; i < 12; i++) {
      const res = await native('generateContent', fileContents(`${fake.url}/v1beta/files/${tag}-abc${i}`));
      expect(res.status).toBe(200);
    }
    expect(keysCalled()).toEqual(Array(12).fill(3));
    fake.calls.forEach((call, i) => {
      expect(call.body).not.toContain(tag);
      const sent = JSON.parse(call.body) as ReturnType<typeof fileContents>;
      expect(sent).toEqual(fileContents(`${fake.url}/v1beta/files/abc${i}`));
    });
  });

  it('logs the owner tag on the request line (a key index and a fingerprint, never a key)', async () => {
    const tag = await tagOf(3);
    const res = await native('generateContent', fileContents(`files/${tag}-abc`));
    expect(res.status).toBe(200);
    const line = await h.waitForRequestLog(res.id);
    expect(line).toMatchObject({ owner: tag, keyIndex: 3, attempts: 1, status: 200 });
  });

  it('sends streamGenerateContent with a cached content, and countTokens with a short file name, to the owner', async () => {
    const tag = await tagOf(3);
    const stream = await native('streamGenerateContent?alt=sse', {
      cachedContent: `cachedContents/${tag}-cache1`,
      contents: [{ role: 'user', parts: [{ text: 'go on' }] }],
    });
    expect(stream.status).toBe(200);
    expect(stream.text).toContain('data: ');
    const count = await native('countTokens', {
      contents: [{ role: 'user', parts: [{ file_data: { file_uri: `files/${tag}-abc` } }] }],
    });
    expect(count.status).toBe(200);
    expect(keysCalled()).toEqual([3, 3]);
    expect(JSON.parse(defined(fake.calls[0], 'the stream call').body)).toMatchObject({
      cachedContent: 'cachedContents/cache1',
    });
    expect(defined(fake.calls[0], 'the stream call').search).toBe('?alt=sse');
    expect(defined(fake.calls[1], 'the count call').body).toContain('"file_uri":"files/abc"');
  });

  it('sends OpenAI chat with a file URI content part and extra_body cached_content to the owner', async () => {
    const tag = await tagOf(3);
    const bodies = [
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is in it?' },
              { type: 'image_url', image_url: { url: `${fake.url}/v1beta/files/${tag}-img1` } },
            ],
          },
        ],
      },
      // the wire shape of the OpenAI SDKs' extra_body={"extra_body": {"google": {...}}}, as Google's compat docs show
      {
        messages: [{ role: 'user', content: 'continue' }],
        extra_body: { google: { cached_content: `cachedContents/${tag}-cache1` } },
      },
      // and of extra_body={"google": {...}}, which the SDKs merge into the body's top level
      { messages: [{ role: 'user', content: 'continue' }], google: { cached_content: `cachedContents/${tag}-c2` } },
    ];
    for (const body of bodies) expect((await chat(body)).status).toBe(200);
    const streamed = await chat({ ...defined(bodies[1], 'the cached body'), stream: true });
    expect(streamed.status).toBe(200);
    expect(streamed.text).toContain('data: [DONE]');
    expect(keysCalled()).toEqual([3, 3, 3, 3]);
    for (const call of fake.calls) expect(call.body).not.toContain(tag);
    expect(defined(fake.calls[0], 'the image call').body).toContain(`${fake.url}/v1beta/files/img1`);
    expect(JSON.parse(defined(fake.calls[1], 'the cache call').body)).toMatchObject({
      extra_body: { google: { cached_content: 'cachedContents/cache1' } },
    });
    expect(JSON.parse(defined(fake.calls[2], 'the top-level cache call').body)).toMatchObject({
      google: { cached_content: 'cachedContents/c2' },
    });
  });

  it('combines the embeddings rewrite (encoding_format) with the stripped tags', async () => {
    const tag = await tagOf(3);
    const res = await post(
      '/v1/embeddings',
      {
        model: 'gemini-embedding-001',
        input: ['hello'],
        encoding_format: 'float',
        extra_body: { google: { cached_content: `cachedContents/${tag}-e1` } },
      },
      h,
      false,
    );
    expect(res.status).toBe(200);
    expect(keysCalled()).toEqual([3]);
    const sent = JSON.parse(defined(fake.calls[0], 'the embeddings call').body) as Record<string, unknown>;
    expect(sent.encoding_format).toBeUndefined();
    expect(sent).toMatchObject({ input: ['hello'], extra_body: { google: { cached_content: 'cachedContents/e1' } } });
  });

  it('sends native embedContent naming a file to its owner', async () => {
    const tag = await tagOf(2);
    fake.seedResource(defined(KEYS[1], 'KEY2'), 'files/doc');
    const res = await post(`/v1beta/models/gemini-embedding-001:embedContent`, {
      content: { parts: [{ text: 'x' }, { fileData: { fileUri: `files/${tag}-doc` } }] },
    });
    expect(res.status).toBe(200);
    expect(keysCalled()).toEqual([2]);
  });

  it('forwards a body that only mentions a name byte for byte, to any key', async () => {
    const tag = await tagOf(3);
    // odd spacing and key order: any re-serialisation would show
    const bodies = [
      `{ "contents" : [ {"parts":[{"text":"files/${tag}-abc is quoted, not named"}], "role":"user"} ] }`,
      // a URI that is not Google's and only has /files/ in its path is not a Gemini file
      `{"contents":[{"parts":[{"fileData":{"fileUri":"https://example.com/files/report.pdf","mimeType":"application/pdf"}}]}]   }`,
    ];
    for (const body of bodies) expect((await native('generateContent', body)).status).toBe(200);
    expect(fake.calls.map((c) => c.body)).toEqual(bodies);
  });

  it.each([
    ['a fingerprint of three letters (no tag)', 'files/z0k3abc-abc'],
    ['a name Google gave out directly', 'files/plain-google-id'],
    ["a file URI on Google's host without a tag", 'https://generativelanguage.googleapis.com/v1beta/files/abc123'],
    ['a cached content without a tag', 'cachedContents/abc123'],
  ])('refuses %s with 404 unknown_resource_owner, sending nothing upstream', async (_what, name) => {
    const body = name.startsWith('cachedContents/')
      ? { cachedContent: name, contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }
      : fileContents(name);
    const res = await native('generateContent', body);
    expect(res.status).toBe(404);
    expect(gatewayReason(res.json)).toBe('unknown_resource_owner');
    expect(res.json.error?.message).toContain(name);
    expect(fake.calls).toEqual([]);
  });
});

describe('a body the worker refuses before anything goes upstream', () => {
  it('refuses resources of two keys with 400 mixed_resource_owners naming both', async () => {
    const one = `${fake.url}/v1beta/files/${await tagOf(3)}-abc`;
    const two = `cachedContents/${await tagOf(1)}-cache1`;
    const res = await native('generateContent', { ...fileContents(one), cachedContent: two });
    expect(res.status).toBe(400);
    expect(gatewayReason(res.json)).toBe('mixed_resource_owners');
    expect(res.json.error?.message).toContain(one);
    expect(res.json.error?.message).toContain(two);
    expect(res.headers.get(POOL_HEADER)).toBeNull();
    expect(fake.calls).toEqual([]);
  });

  it('refuses a forged fingerprint, or a key index the worker lacks, with 410 owner_key_gone', async () => {
    const real = await keyFingerprint(KEY3);
    const forged = real === 'qqqq' ? 'zzzz' : 'qqqq';
    for (const uri of [`files/z0k3${forged}-abc`, `files/z0k7${real}-abc`]) {
      const res = await native('generateContent', fileContents(uri));
      expect(res.status).toBe(410);
      expect(gatewayReason(res.json)).toBe('owner_key_gone');
      expect(res.json.error?.message).toContain(uri);
      expect(res.headers.get(POOL_HEADER)).toBeNull();
    }
    expect(fake.calls).toEqual([]);
  });

  it('on a standalone worker, answers another shard’s tag with 404 unknown_resource_owner', async () => {
    const res = await chat({
      messages: [{ role: 'user', content: 'x' }],
      extra_body: { google: { cached_content: `cachedContents/${await tagOf(3, 2)}-c` } },
    });
    expect(res.status).toBe(404);
    expect(res.json.error?.code).toBe('unknown_resource_owner');
    expect(fake.calls).toEqual([]);
  });

  it('on shard 1, answers shard 0’s tag with 421 and x-zen-owner, and serves its own', async () => {
    // node:http, not fetch: undici retries a 421 on a new connection by itself (RFC 9110 allows it) and then fails
    // to resend the body; the orchestrator, which this answer is for, reads it over a service binding
    const other = await rawRequest(shard1.url, {
      method: 'POST',
      path: `/v1beta/models/${MODEL}:generateContent`,
      headers: { 'content-type': 'application/json', 'x-goog-api-key': PASS },
      body: JSON.stringify(fileContents(`files/${await tagOf(3, 0)}-abc`)),
    });
    answers.push(other.body, JSON.stringify(other.headers));
    expect(other.status).toBe(421);
    expect(other.headers[OWNER_HEADER]).toBe('0');
    expect(gatewayReason(JSON.parse(other.body))).toBe('misdirected_request');
    expect(other.headers[POOL_HEADER]).toBeUndefined();
    expect(fake.calls).toEqual([]);
    const own = await native('generateContent', fileContents(`files/${await tagOf(3, 1)}-abc`), shard1);
    expect(own.status).toBe(200);
    expect(keysCalled()).toEqual([3]);
    expect(defined(fake.calls[0], 'the call').body).toContain('"fileUri":"files/abc"');
  });
});

describe('the owning key cooling or rejected', () => {
  const COOL_MODEL = 'gemini-3.1-pro-preview';

  it('answers 429 owner_key_cooling with retry-after when Google rate limits the owner, trying no other key', async () => {
    const tag = await tagOf(3);
    fake.setKeyBehaviour(KEY3, 'quota-minute');
    const body = fileContents(`files/${tag}-abc`);
    const res = await post(`/v1beta/models/${COOL_MODEL}:generateContent`, body);
    expect(res.status).toBe(429);
    expect(gatewayReason(res.json)).toBe('owner_key_cooling');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(res.headers.get(POOL_HEADER)).toBeNull();
    expect(keysCalled()).toEqual([3]);

    // while it cools: refused without an upstream call, though Google would now answer
    fake.reset();
    const again = await post(`/v1beta/models/${COOL_MODEL}:generateContent`, body);
    expect(again.status).toBe(429);
    expect(gatewayReason(again.json)).toBe('owner_key_cooling');
    expect(again.headers.get('retry-after')).not.toBeNull();
    expect(fake.calls).toEqual([]);
    // a request naming nothing owned is served by the other keys meanwhile
    const plain = await post(`/v1beta/models/${COOL_MODEL}:generateContent`, {
      contents: [{ role: 'user', parts: [{ text: 'nothing owned here' }] }],
    });
    expect(plain.status).toBe(200);
    expect(keysCalled()).not.toContain(3);
  });

  it('answers 410 owner_key_removed when Google rejects the owning key, then without an upstream call', async () => {
    const tag = await tagOf(4);
    fake.setKeyBehaviour(defined(KEYS[3], 'KEY4'), 'invalid-key');
    const body = fileContents(`files/${tag}-abc`);
    const res = await native('generateContent', body);
    expect(res.status).toBe(410);
    expect(gatewayReason(res.json)).toBe('owner_key_removed');
    expect(res.headers.get(POOL_HEADER)).toBeNull();
    expect(keysCalled()).toEqual([4]);
    fake.reset();
    const again = await native('generateContent', body);
    expect(again.status).toBe(410);
    expect(gatewayReason(again.json)).toBe('owner_key_removed');
    expect(fake.calls).toEqual([]);
  });
});

describe('a body over the replay bound', () => {
  /** A native body of about `bytes` bytes, with a file reference after them when `fileUri` is given. */
  function largeBody(bytes: number, fileUri: string | undefined): Buffer {
    const pad = 'x'.repeat(bytes);
    const parts: unknown[] = [{ text: pad }];
    if (fileUri !== undefined) parts.push({ fileData: { fileUri } });
    parts.push({ text: 'end' });
    return Buffer.from(JSON.stringify({ contents: [{ role: 'user', parts }] }));
  }

  /**
   * `body` sent chunked (no declared length) in pieces of a MiB, one of them ending at `cut`. The runtime may cut
   * the upload anew on its way; the watch's unit test covers every cut.
   */
  function chunked(body: Buffer, cut: number): ReadableStream<Uint8Array> {
    let at = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= body.length) return controller.close();
        const end = at < cut && cut < at + MiB ? cut : at + MiB;
        controller.enqueue(new Uint8Array(body.subarray(at, end)));
        at = end;
      },
    });
  }

  async function send(body: Buffer | ReadableStream<Uint8Array>): Promise<{ id: string; status?: number }> {
    const id = `owned-refs-${++sequence}`;
    const status = await fetch(`${h.url}/v1beta/models/${MODEL}:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-goog-api-key': PASS },
      body,
      duplex: 'half',
    } as RequestInit).then(
      async (res) => {
        answers.push(await res.text());
        return res.status;
      },
      // the worker may answer before it has read the whole upload; the client may see the connection close first
      () => undefined,
    );
    return { id, ...(status !== undefined ? { status } : {}) };
  }

  it('cuts the upload of a body naming a resource (even split across chunks) before the tag and answers 400', async () => {
    const tag = await tagOf(3);
    const uri = `${fake.url}/v1beta/files/${tag}-abc`;
    const body = largeBody(REPLAY_MAX_BYTES + MiB, uri);
    // a piece ends inside the tag
    const cut = body.indexOf(`/files/${tag}`) + 10;
    for (const upload of [body, chunked(body, cut)]) {
      const sent = await send(upload);
      const line = await h.waitForRequestLog(sent.id, 10_000);
      expect(line).toMatchObject({ status: 400, error: 'large_body_names_resource' });
      if (sent.status !== undefined) expect(sent.status).toBe(400);
    }
    // Google never received a whole request: the upload stops inside the document (workerd ends it there, cleanly
    // or not), so whatever arrived is not JSON, which Google refuses without generating anything, and it ends
    // before the tag does
    for (const call of fake.calls) {
      expect(() => JSON.parse(call.body) as unknown).toThrow();
      expect(call.body.length).toBeLessThan(body.length);
      expect(call.body).not.toContain(`${tag}-`);
    }
  });

  it('still streams a large body that names nothing owned', async () => {
    const body = largeBody(REPLAY_MAX_BYTES + MiB, undefined);
    const sent = await send(body);
    expect(sent.status).toBe(200);
    expect(fake.calls.map((c) => c.body.length)).toEqual([body.length]);
  });
});
