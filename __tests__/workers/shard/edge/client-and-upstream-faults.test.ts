/**
 * Faults and bad input at the shard worker (in workerd): each case gets its documented status (docs/errors.md) and
 * the error body its surface's clients read (OpenAI's; Google's on the native routes), and the fake's call count
 * shows whether anything reached "Google". Keys and password are
 * canaries; the last test proves none of them appeared in any response or log line of this file.
 */
import { GoogleGenAI } from '@google/genai';
import { createServer } from 'node:net';
import OpenAI from 'openai';
import { FAKE_REPLY_TEXT } from '../../../../dev/fake-gemini';
import { googleErrorBody } from '../../../helpers/google-errors';
import { defined } from '../../../helpers/guards';
import { rawRequest, type RawRequest } from '../../../helpers/raw-http';
import { startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';

const PASS = 'CANARY-PASS-7c1e0f3a9b';
const KEYS: readonly [string, string, string] = [
  'CANARY-KEY-1-d41d8cd98f',
  'CANARY-KEY-2-e3b0c44298',
  'CANARY-KEY-3-5f4dcc3b5a',
];
const CANARIES = [PASS, ...KEYS];
const TIMEOUT_MS = 400;
const MAX_BODY = 64 * 1024;

let h: ShardWorkerHarness;
/** every response this file saw: status line, headers and body text */
const seen: string[] = [];

const record = async (res: Response): Promise<string> => {
  const text = await res.text();
  seen.push(`${res.status} ${JSON.stringify([...res.headers])} ${text}`);
  return text;
};

/** fetch that records the response (streams are teed, so the caller still reads them) */
const recordingFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const res = await fetch(input, init);
  void record(res.clone()).catch((e: unknown) => seen.push(`stream error ${String(e)}`));
  return res;
};

async function send(r: RawRequest) {
  const res = await rawRequest(h.url, r);
  seen.push(`${res.status} ${JSON.stringify(res.headers)} ${res.body}`);
  return { ...res, json: (): unknown => JSON.parse(res.body) };
}

const auth = { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' };
const chatBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'hi' }], ...extra });

let openai: OpenAI;
let genai: GoogleGenAI;

beforeAll(async () => {
  h = await startShardWorker({
    keys: KEYS,
    pass: PASS,
    bindings: { UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), MAX_BODY_BYTES: String(MAX_BODY) },
  });
  openai = new OpenAI({ apiKey: PASS, baseURL: `${h.url}/v1`, maxRetries: 0, fetch: recordingFetch });
  genai = new GoogleGenAI({ apiKey: PASS, httpOptions: { baseUrl: h.url } });
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

function expectOpenAIError(body: unknown, code: string) {
  expect(body).toEqual({ error: { message: expect.any(String), type: expect.any(String), code } });
}

describe('client bad input: refused before anything is sent upstream', () => {
  const big = 'x'.repeat(MAX_BODY + 1);
  it.each<[string, RawRequest, number, string]>([
    [
      'invalid JSON',
      { method: 'POST', path: '/v1/chat/completions', headers: auth, body: '{"model":' },
      400,
      'invalid_json',
    ],
    [
      'a JSON array instead of an object',
      { method: 'POST', path: '/v1/chat/completions', headers: auth, body: '[1,2]' },
      400,
      'invalid_json',
    ],
    ['an empty body', { method: 'POST', path: '/v1/embeddings', headers: auth, body: '' }, 400, 'invalid_json'],
    [
      'a body over the limit',
      { method: 'POST', path: '/v1/chat/completions', headers: auth, body: JSON.stringify({ pad: big }) },
      413,
      'request_too_large',
    ],
    [
      'an unknown encoding_format',
      {
        method: 'POST',
        path: '/v1/embeddings',
        headers: auth,
        body: JSON.stringify({ model: 'gemini-embedding-001', input: 'x', encoding_format: 'int8' }),
      },
      400,
      'invalid_encoding_format',
    ],
    ['the wrong method', { method: 'GET', path: '/v1/chat/completions', headers: auth }, 405, 'method_not_allowed'],
    ['an unknown path', { method: 'POST', path: '/v1/assistants', headers: auth, body: '{}' }, 404, 'unknown_url'],
    [
      'an unsupported native path',
      { method: 'GET', path: '/v1beta/tunedModels', headers: { 'x-goog-api-key': PASS } },
      404,
      'unknown_url',
    ],
    [
      'no password',
      {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json' },
        body: chatBody(),
      },
      401,
      'missing_api_key',
    ],
    [
      'a wrong password',
      { method: 'POST', path: '/v1/chat/completions', headers: { authorization: `Bearer ${PASS}x` }, body: chatBody() },
      401,
      'invalid_api_key',
    ],
    [
      'the password in x-goog-api-key on an OpenAI route',
      { method: 'POST', path: '/v1/chat/completions', headers: { 'x-goog-api-key': PASS }, body: chatBody() },
      401,
      'wrong_auth_header',
    ],
    [
      'the password in ?key= on an OpenAI route',
      { method: 'GET', path: `/v1/models?key=${PASS}` },
      401,
      'wrong_auth_header',
    ],
    [
      'the password in x-api-key',
      { method: 'GET', path: '/v1/models', headers: { 'x-api-key': PASS } },
      401,
      'wrong_auth_header',
    ],
    [
      'a CRLF smuggled into the model id',
      {
        method: 'POST',
        path: '/v1beta/models/gemini%0d%0aHost:%20evil:generateContent',
        headers: { 'x-goog-api-key': PASS },
        body: '{}',
      },
      404,
      'unknown_url',
    ],
    [
      'a very long URL',
      { method: 'GET', path: `/v1/models?pad=${'a'.repeat(9000)}`, headers: auth },
      414,
      'url_too_long',
    ],
    ['a very long path', { method: 'GET', path: `/v1/models/${'a'.repeat(9000)}`, headers: auth }, 414, 'url_too_long'],
  ])('%s → %i %s', async (_name, request, status, code) => {
    const res = await send(request);
    expect(res.status).toBe(status);
    expectOpenAIError(res.json(), code);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(h.fake.calls).toHaveLength(0);
  });

  // the native routes' clients read Google's error object, the gateway's code in an ErrorInfo
  it.each<[string, RawRequest, number, string]>([
    [
      'invalid UTF-8',
      {
        method: 'POST',
        path: '/v1beta/models/gemini-3.8-flash:generateContent',
        headers: { 'x-goog-api-key': PASS },
        body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      },
      400,
      'invalid_json',
    ],
    [
      'the wrong method (native)',
      {
        method: 'DELETE',
        path: '/v1beta/models/gemini-3.8-flash:generateContent',
        headers: { 'x-goog-api-key': PASS },
      },
      405,
      'method_not_allowed',
    ],
    [
      'a wrong password (native)',
      { method: 'GET', path: '/v1beta/models?key=nope', headers: {} },
      401,
      'invalid_api_key',
    ],
    [
      'the password as Bearer on a native route',
      { method: 'GET', path: '/v1beta/models', headers: { authorization: `Bearer ${PASS}` } },
      401,
      'wrong_auth_header',
    ],
    [
      'a CRLF smuggled into a query parameter',
      {
        method: 'POST',
        path: '/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse%0d%0aX-Evil:%201',
        headers: { 'x-goog-api-key': PASS },
        body: '{}',
      },
      400,
      'invalid_query',
    ],
  ])('%s → %i %s', async (_name, request, status, code) => {
    const res = await send(request);
    expect(res.status).toBe(status);
    expect(res.json()).toEqual(googleErrorBody(status, code));
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(h.fake.calls).toHaveLength(0);
  });

  it('names the allowed method on 405', async () => {
    expect((await send({ method: 'GET', path: '/v1/embeddings', headers: auth })).headers.allow).toBe('POST, OPTIONS');
  });

  it('refuses an over-limit body sent without content-length (chunked) too', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent++ < 8) c.enqueue(chunk);
        else c.close();
      },
    });
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: auth,
      body,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expectOpenAIError(JSON.parse(await record(res)), 'request_too_large');
    expect(h.fake.calls).toHaveLength(0);
  });

  it.each([
    '/v1beta/models/..%2F..%2Ffiles:generateContent',
    '/v1beta/models/gemini-3.8-flash%2F..%2F..%2Ffiles:generateContent',
    '/v1beta/models/gemini-3.8-flash%3AgenerateContent',
    '/v1beta/models/gemini-3.8-flash:generateContent/..',
    '/v1/chat/completions%2f..%2f..%2fmodels',
    '//v1/chat/completions',
    '/v1//chat/completions',
    '/V1/chat/completions',
    '/v1beta/models\\..\\tunedModels',
  ])('path trick %s → 404, nothing sent', async (path) => {
    const res = await send({ method: 'POST', path, headers: { ...auth, 'x-goog-api-key': PASS }, body: '{}' });
    expect(res.status).toBe(404);
    expectOpenAIError(res.json(), 'unknown_url');
    expect(h.fake.calls).toHaveLength(0);
  });

  it.each([
    ['/v1/../v1beta/models', '/v1beta/models'],
    ['/v1beta/models/../../v1/models', '/v1beta/openai/models'],
    ['/v1beta/models/%2e%2e/%2e%2e/v1/models', '/v1beta/openai/models'],
    ['/v1beta/./models', '/v1beta/models'],
  ])('dot segments in %s resolve before routing and reach only the whitelisted %s', async (path, upstream) => {
    const res = await send({ path, headers: { authorization: `Bearer ${PASS}`, 'x-goog-api-key': PASS } });
    expect(res.status).toBe(200);
    expect(h.fake.calls.map((c) => c.path)).toEqual([upstream]);
  });

  it('forwards no client header beyond its whitelist (header injection)', async () => {
    const res = await send({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: {
        ...auth,
        'x-goog-api-key': 'client-supplied',
        'x-goog-user-project': 'evil-project',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-for': '6.6.6.6',
        'x-http-method-override': 'DELETE',
        cookie: 'session=abc',
        'x-custom': 'y',
      },
      body: chatBody(),
    });
    expect(res.status).toBe(200);
    const call = defined(h.fake.calls[0], 'the upstream call');
    for (const name of [
      'x-goog-api-key',
      'x-goog-user-project',
      'x-forwarded-host',
      'x-forwarded-for',
      'x-http-method-override',
      'cookie',
      'x-custom',
    ]) {
      expect(call.headers).not.toHaveProperty(name);
    }
    expect(KEYS.map((k) => `Bearer ${k}`)).toContain(call.headers.authorization);
  });

  it('strips ?key= from native calls and sends the pool key as x-goog-api-key', async () => {
    const res = await send({
      method: 'POST',
      path: `/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse&key=${PASS}`,
      headers: { 'content-type': 'application/json' },
      body: '{"contents":[{"parts":[{"text":"hi"}]}]}',
    });
    expect(res.status).toBe(200);
    const call = defined(h.fake.calls[0], 'the upstream call');
    expect(call.search).toBe('?alt=sse');
    expect(KEYS).toContain(call.headers['x-goog-api-key']);
    expect(call.headers).not.toHaveProperty('authorization');
  });

  it('answers a CORS preflight without a password and without calling upstream', async () => {
    const res = await send({
      method: 'OPTIONS',
      path: '/v1/chat/completions',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, x-stainless-os',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-headers']).toBe('authorization, x-stainless-os');
    expect(res.headers['access-control-allow-methods']).toBe('GET, POST, PATCH, DELETE, OPTIONS');
    expect(h.fake.calls).toHaveLength(0);
    const normal = await send({ path: '/v1/models', headers: auth });
    expect(normal.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('upstream faults', () => {
  it('answers 504 when Google hangs past UPSTREAM_TIMEOUT_MS', async () => {
    h.fake.setDefaultBehaviour('hang');
    const res = await send({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: chatBody() });
    expect(res.status).toBe(504);
    expectOpenAIError(res.json(), 'upstream_timeout');
    expect(h.fake.calls).toHaveLength(1);
  });

  it('answers 502 when the connection is refused', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as { port: number };
        probe.close(() => resolve(p));
      });
    });
    const refused = await startShardWorker({
      keys: KEYS,
      pass: PASS,
      fake: h.fake,
      bindings: { GEMINI_BASE_URL: `http://127.0.0.1:${port}` },
    });
    try {
      const res = await rawRequest(refused.url, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: auth,
        body: chatBody(),
      });
      seen.push(`${res.status} ${JSON.stringify(res.headers)} ${res.body}`, ...refused.logs.map((l) => l.message));
      expect(res.status).toBe(502);
      expectOpenAIError(JSON.parse(res.body), 'upstream_unreachable');
    } finally {
      await refused.close();
    }
  });

  it('ends an OpenAI stream cut mid-way with an error the SDK raises, and does not replay it on another key', async () => {
    h.fake.configure({ streamChunks: 6 });
    h.fake.setDefaultBehaviour('cut-stream');
    const stream = await openai.chat.completions.create({
      model: 'gemini-3.8-flash',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let text = '';
    const consume = async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    };
    await expect(consume()).rejects.toMatchObject({ code: 'upstream_stream_interrupted' });
    expect(text.length).toBeGreaterThan(0);
    expect(FAKE_REPLY_TEXT.startsWith(text) && text !== FAKE_REPLY_TEXT).toBe(true);
    expect(h.fake.calls).toHaveLength(1);
  });

  it('ends a native stream cut mid-way with an error @google/genai raises', async () => {
    h.fake.configure({ streamChunks: 6 });
    h.fake.setDefaultBehaviour('cut-stream');
    const consume = async () => {
      for await (const chunk of await genai.models.generateContentStream({ model: 'gemini-3.8-flash', contents: 'hi' }))
        void chunk;
    };
    await expect(consume()).rejects.toMatchObject({ status: 502 });
    expect(h.fake.calls).toHaveLength(1);
  });

  it('answers 502 when a non-streamed reply is cut off', async () => {
    h.fake.setDefaultBehaviour('cut-stream');
    const res = await send({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: chatBody() });
    expect(res.status).toBe(502);
    expectOpenAIError(res.json(), 'upstream_interrupted');
  });

  it.each([
    ['/v1/chat/completions', chatBody(), auth],
    ['/v1/embeddings', JSON.stringify({ model: 'gemini-embedding-001', input: 'x' }), auth],
  ])('answers 502 for malformed JSON from Google on %s', async (path, body, headers) => {
    h.fake.setDefaultBehaviour('malformed-json');
    const res = await send({ method: 'POST', path, headers, body });
    expect(res.status).toBe(502);
    expectOpenAIError(res.json(), 'upstream_invalid_response');
    expect(h.fake.calls).toHaveLength(1);
  });

  it('answers 502 for malformed JSON from Google on /v1beta/models/gemini-3.8-flash:generateContent', async () => {
    h.fake.setDefaultBehaviour('malformed-json');
    const path = '/v1beta/models/gemini-3.8-flash:generateContent';
    const res = await send({
      method: 'POST',
      path,
      headers: { 'x-goog-api-key': PASS },
      body: '{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}',
    });
    expect(res.status).toBe(502);
    expect(res.json()).toEqual(googleErrorBody(502, 'upstream_invalid_response'));
    expect(h.fake.calls).toHaveLength(1);
  });

  it('lets the SDK raise on a malformed streamed event rather than finish cleanly', async () => {
    h.fake.setDefaultBehaviour('malformed-json');
    // The SDK reports the event it cannot parse to its logger (console.error by default) before it throws. A logger of
    // this test's own receives it, so the report is asserted rather than printed; a spy on console.error would miss
    // it, since the SDK binds console.error once per log level and reuses that binding for every client.
    const sdkLogger = { error: jest.fn(), warn: jest.fn(), info: jest.fn(), debug: jest.fn() };
    const client = new OpenAI({
      apiKey: PASS,
      baseURL: `${h.url}/v1`,
      maxRetries: 0,
      fetch: recordingFetch,
      logger: sdkLogger,
    });
    const stream = await client.chat.completions.create({
      model: 'gemini-3.8-flash',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    await expect(
      (async () => {
        for await (const chunk of stream) void chunk;
      })(),
    ).rejects.toThrow();
    expect(sdkLogger.error).toHaveBeenCalledWith('Could not parse message into JSON:', expect.any(String));
  });

  it.each([
    ['internal-500', 500, 'INTERNAL'],
    ['overloaded-503', 503, 'UNAVAILABLE'],
  ] as const)('passes a %s burst through without failover or cooling keys', async (behaviour, status, code) => {
    h.fake.setDefaultBehaviour(behaviour);
    const burst = await Promise.all(
      Array.from({ length: 12 }, () =>
        send({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: chatBody() }),
      ),
    );
    for (const res of burst) {
      expect(res.status).toBe(status);
      expect(res.json()).toEqual({ error: { message: expect.any(String), type: 'server_error', code } });
    }
    expect(h.fake.calls).toHaveLength(12);
    h.fake.setDefaultBehaviour('ok');
    // 48 uniform picks over 3 keys miss one with probability 3·(2/3)^48 ≈ 1e-8: a missing key means it was cooled
    const after = await Promise.all(
      Array.from({ length: 48 }, () =>
        send({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: chatBody() }),
      ),
    );
    expect(after.map((r) => r.status)).toEqual(Array(48).fill(200));
    expect(new Set(h.fake.calls.slice(12).map((c) => c.apiKey)).size).toBe(3);
  });
});

describe('key pool in workerd and its log lines', () => {
  it('echoes the request id and logs one line per request with the key index, never the key', async () => {
    const res = await send({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { ...auth, 'x-request-id': 'faults-req-1' },
      body: chatBody(),
    });
    expect(res.headers['x-request-id']).toBe('faults-req-1');
    const line = await h.waitForRequestLog('faults-req-1');
    const keyIndex = KEYS.indexOf(defined(h.fake.calls[0]?.apiKey, 'the key of the upstream call')) + 1;
    expect(line).toEqual({
      event: 'request',
      requestId: 'faults-req-1',
      route: 'chat.completions',
      client: 'pass',
      model: 'gemini-3.8-flash',
      keyIndex,
      attempts: 1,
      status: 200,
      upstreamStatus: 200,
      ms: expect.any(Number),
    });
  });

  it('fails over from rate-limited keys, cools each once, and logs the cooldowns', async () => {
    h.fake.setKeyBehaviour(KEYS[0], 'quota-minute');
    h.fake.setKeyBehaviour(KEYS[1], 'quota-minute');
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push(
        (
          await send({
            method: 'POST',
            path: '/v1/chat/completions',
            headers: { ...auth, 'x-request-id': `faults-pool-${i}` },
            body: chatBody({ model: 'gemini-3.1-pro-preview' }),
          })
        ).status,
      );
    }
    expect(statuses).toEqual(Array(20).fill(200));
    const perKey = KEYS.map((k) => h.fake.calls.filter((c) => c.apiKey === k).length);
    expect(perKey).toEqual([1, 1, 20]);
    await h.waitForRequestLog('faults-pool-19');
    const cooldowns = h.jsonLogs().filter((l) => l.event === 'key_cooldown' && l.model === 'gemini-3.1-pro-preview');
    expect(cooldowns.map((l) => l.keyIndex).sort()).toEqual([1, 2]);
    expect(cooldowns[0]).toMatchObject({
      reason: 'quota-minute',
      quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
    });
    const lines = h.jsonLogs().filter((l) => l.event === 'request' && String(l.requestId).startsWith('faults-pool-'));
    expect(lines.reduce((n, l) => n + Number(l.attempts), 0)).toBe(22);
  });

  it('takes a leaked key out of rotation for good once a probe with the key alone is refused too, and logs it as an error', async () => {
    h.fake.setKeyBehaviour(KEYS[2], 'leaked-key');
    for (let i = 0; i < 20; i++) {
      expect(
        (await send({ method: 'POST', path: '/v1/chat/completions', headers: auth, body: chatBody() })).status,
      ).toBe(200);
    }
    // the one request it got, and the probe: a model list holding nothing of the client's
    expect(h.fake.calls.filter((c) => c.apiKey === KEYS[2]).map((c) => `${c.method} ${c.path}${c.search}`)).toEqual([
      'POST /v1beta/openai/chat/completions',
      'GET /v1beta/models?pageSize=1',
    ]);
    const removed = h.logs.filter((l) => l.message.includes('"key_removed"'));
    expect(removed).toHaveLength(1);
    const line = defined(removed[0], 'the key_removed line');
    expect(line.level).toBe('error');
    expect(JSON.parse(line.message)).toEqual({
      event: 'key_removed',
      requestId: expect.any(String),
      keyIndex: 3,
      model: 'gemini-3.8-flash',
      reason: 'PERMISSION_DENIED',
      upstreamStatus: 403,
      until: null,
      probeStatus: 403,
    });
  });
});

describe('secret hygiene', () => {
  it('never shows a canary key or password in any response body, header or log line of this file', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100)); // let teed stream bodies and log lines land
    expect(seen.length).toBeGreaterThan(60);
    expect(h.logs.length).toBeGreaterThan(60);
    const everything = [...seen, ...h.logs.map((l) => l.message)].join('\n');
    for (const canary of CANARIES) expect(everything).not.toContain(canary);
  });
});
