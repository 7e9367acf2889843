/**
 * Where keys may go and what comes back, in workerd: keys reach only the configured base URL (redirects are never
 * followed; a base URL's path, such as Cloudflare AI Gateway's, is kept on every route), a key Google quotes in any
 * JSON spelling is redacted, a caller that gives up stops the upstream call and any wait for a key, and a stream that
 * ends cleanly mid-event reaches the client with an error event.
 */
import { GoogleGenAI } from '@google/genai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import OpenAI from 'openai';
import { FAKE_REPLY_TEXT, startFakeGemini, type FakeGemini } from '../../../../dev/fake-gemini';
import { googleErrorBody } from '../../../helpers/google-errors';
import { rawRequest, type RawRequest } from '../../../helpers/raw-http';
import { ABORT_AFTER_HEADER, startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';
import { startGatewayProxy, type GatewayProxy } from '../../../helpers/gateway-proxy';

const PASS = 'CANARY-PASS-trust-9e2b';
const KEYS = ['CANARY-KEY-1-trust-aa01', 'CANARY-KEY-2-trust-bb02', 'CANARY-KEY-3-trust-cc03'];
const CANARIES = [PASS, ...KEYS];
/** every response and log line of this file, for the final canary search */
const seen: string[] = [];

const bearer = { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' };
const googKey = { 'x-goog-api-key': PASS, 'content-type': 'application/json' };
const chat = (extra: Record<string, unknown> = {}): RawRequest => ({
  method: 'POST',
  path: '/v1/chat/completions',
  headers: bearer,
  body: JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'hi' }], ...extra }),
});
const native = (action = 'generateContent', search = ''): RawRequest => ({
  method: 'POST',
  path: `/v1beta/models/gemini-3.8-flash:${action}${search}`,
  headers: googKey,
  body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
});

async function send(url: string, r: RawRequest) {
  const res = await rawRequest(url, r);
  seen.push(`${res.status} ${JSON.stringify(res.headers)} ${res.body}`);
  return { ...res, json: (): unknown => JSON.parse(res.body) };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('upstream redirects are never followed', () => {
  let h: ShardWorkerHarness;
  /** the host a redirect points at; it must never hear from the worker */
  let elsewhere: FakeGemini;

  beforeAll(async () => {
    [h, elsewhere] = await Promise.all([startShardWorker({ keys: KEYS, pass: PASS }), startFakeGemini()]);
  });
  afterAll(async () => {
    seen.push(...h.logs.map((l) => l.message));
    await Promise.all([h.close(), elsewhere.close()]);
  });

  it.each([301, 302, 303, 307, 308] as const)(
    'a %i is a 502 upstream_redirect on every route, and no key reaches the other host',
    async (status) => {
      h.fake.reset();
      elsewhere.reset();
      h.fake.setDefaultBehaviour('redirect');
      h.fake.configure({ redirectTo: elsewhere.url, redirectStatus: status });
      const requests: RawRequest[] = [
        chat(),
        chat({ stream: true }),
        native(),
        native('streamGenerateContent', '?alt=sse'),
        { path: '/v1beta/models', headers: googKey },
        { path: '/v1/models', headers: bearer },
      ];
      const answers = [];
      for (const [i, r] of requests.entries())
        answers.push(await send(h.url, { ...r, headers: { ...r.headers, 'x-request-id': `redirect-${status}-${i}` } }));
      for (const [i, answer] of answers.entries()) {
        expect(answer.status).toBe(502);
        const message = expect.stringContaining(`redirect (HTTP ${status})`);
        // the native routes' clients read Google's error shape
        const onNative = requests[i]?.path.startsWith('/v1beta/models') === true;
        expect(answer.json()).toEqual(
          onNative
            ? googleErrorBody(502, 'upstream_redirect', message)
            : { error: { message, type: 'server_error', code: 'upstream_redirect' } },
        );
      }
      // one call per request on the configured host (no failover onto other keys), none anywhere else
      expect(h.fake.calls).toHaveLength(requests.length);
      expect(elsewhere.calls).toEqual([]);
      const lastId = `redirect-${status}-${requests.length - 1}`;
      expect(await h.waitForRequestLog(lastId)).toMatchObject({
        status: 502,
        error: 'upstream_redirect',
        upstreamStatus: status,
        attempts: 1,
      });
      const redirectLines = h.logs.filter(
        (l) =>
          l.message.includes('"upstream_redirect"') &&
          l.message.includes(`redirect-${status}-`) &&
          l.message.includes('"event"'),
      );
      const events = redirectLines
        .map((l) => JSON.parse(l.message) as Record<string, unknown>)
        .filter((l) => l.event === 'upstream_redirect');
      expect(events).toHaveLength(requests.length);
      expect(events[0]).toEqual({
        event: 'upstream_redirect',
        requestId: `redirect-${status}-0`,
        keyIndex: expect.any(Number),
        upstreamStatus: status,
      });
      expect(
        redirectLines
          .filter((l) => JSON.parse(l.message).event === 'upstream_redirect')
          .every((l) => l.level === 'error'),
      ).toBe(true);
    },
  );
});

describe('a GEMINI_BASE_URL with a path (Cloudflare AI Gateway) keeps it on every route', () => {
  const PREFIX = '/v1/0123456789abcdef/my-gateway/google-ai-studio';
  let h: ShardWorkerHarness;
  let proxy: GatewayProxy;

  beforeAll(async () => {
    const fake = await startFakeGemini();
    proxy = await startGatewayProxy(PREFIX, fake.url);
    h = await startShardWorker({
      keys: KEYS,
      pass: PASS,
      fake,
      bindings: { GEMINI_BASE_URL: `${proxy.url}${PREFIX}/` },
    });
  });
  afterAll(async () => {
    seen.push(...h.logs.map((l) => l.message));
    await h.close();
    await Promise.all([proxy.close(), h.fake.close()]);
  });

  it('sends every whitelisted route, and the key probe, under the prefix', async () => {
    const embeddings: RawRequest = {
      method: 'POST',
      path: '/v1/embeddings',
      headers: bearer,
      body: JSON.stringify({ model: 'gemini-embedding-001', input: 'x' }),
    };
    const requests: [RawRequest, string][] = [
      [chat(), '/v1beta/openai/chat/completions'],
      [chat({ stream: true }), '/v1beta/openai/chat/completions'],
      [embeddings, '/v1beta/openai/embeddings'],
      [{ path: '/v1/models', headers: bearer }, '/v1beta/openai/models'],
      [{ path: '/v1/models/gemini-3.8-flash', headers: bearer }, '/v1beta/openai/models/gemini-3.8-flash'],
      [{ path: '/v1beta/models?pageSize=2', headers: googKey }, '/v1beta/models?pageSize=2'],
      [{ path: '/v1beta/models/gemini-3.8-flash', headers: googKey }, '/v1beta/models/gemini-3.8-flash'],
      [native(), '/v1beta/models/gemini-3.8-flash:generateContent'],
      [native('streamGenerateContent', '?alt=sse'), '/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse'],
      [native('countTokens'), '/v1beta/models/gemini-3.8-flash:countTokens'],
      [
        { ...native('embedContent'), path: '/v1beta/models/gemini-embedding-001:embedContent' },
        '/v1beta/models/gemini-embedding-001:embedContent',
      ],
      [
        {
          ...native('batchEmbedContents'),
          path: '/v1beta/models/gemini-embedding-001:batchEmbedContents',
          body: '{"requests":[{}]}',
        },
        '/v1beta/models/gemini-embedding-001:batchEmbedContents',
      ],
    ];
    for (const [r] of requests) expect((await send(h.url, r)).status).toBe(200);
    expect(proxy.paths).toEqual(requests.map(([, upstream]) => `${PREFIX}${upstream}`));

    proxy.paths.length = 0;
    h.fake.setDefaultBehaviour('resource-denied-403');
    expect((await send(h.url, native())).status).toBe(403);
    expect(proxy.paths).toEqual([
      `${PREFIX}/v1beta/models/gemini-3.8-flash:generateContent`,
      `${PREFIX}/v1beta/models?pageSize=1`,
    ]);
  });
});

describe('a key Google quotes in an escaped JSON spelling is redacted', () => {
  let upstream: Server;
  let h: ShardWorkerHarness;

  beforeAll(async () => {
    // answers every call with a body that spells the key it received as \u escapes, character by character
    upstream = createServer((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"models":[]}');
        return;
      }
      const key = String(req.headers['x-goog-api-key'] ?? req.headers.authorization?.replace('Bearer ', '') ?? '');
      const escaped = [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
      const error = `{"code":403,"message":"Permission denied: Consumer \\u0027api_key:${escaped}\\u0027 cannot access this resource.","status":"PERMISSION_DENIED"}`;
      res.writeHead(403, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(req.url?.includes('/openai/') ? `[{"error":${error}}]` : `{"error":${error}}`);
    });
    const fake = await startFakeGemini();
    h = await startShardWorker({ keys: KEYS, pass: PASS, fake, bindings: { GEMINI_BASE_URL: await listen(upstream) } });
  });
  afterAll(async () => {
    seen.push(...h.logs.map((l) => l.message));
    await h.close();
    await Promise.all([close(upstream), h.fake.close()]);
  });

  it('on native routes (Google body passed through) and OpenAI routes (message re-wrapped)', async () => {
    const nativeAnswer = await send(h.url, native());
    expect(nativeAnswer.status).toBe(403);
    expect(nativeAnswer.json()).toEqual({
      error: {
        code: 403,
        message: "Permission denied: Consumer 'api_key:[redacted]' cannot access this resource.",
        status: 'PERMISSION_DENIED',
      },
    });
    const compat = await send(h.url, chat());
    expect(compat.status).toBe(403);
    expect(compat.json()).toEqual({
      error: {
        message: "Permission denied: Consumer 'api_key:[redacted]' cannot access this resource.",
        type: 'permission_error',
        code: 'PERMISSION_DENIED',
      },
    });
    for (const answer of [nativeAnswer, compat]) {
      for (const key of KEYS) expect(JSON.stringify(answer.json())).not.toContain(key);
    }
  });
});

describe('a caller that gives up stops the shard', () => {
  /** A Gemini that never answers, and tells when the worker drops the connection. */
  async function startSilentUpstream() {
    const closed: number[] = [];
    let arrived = 0;
    const server = createServer(() => {
      arrived++;
    });
    server.on('connection', (socket: Socket) => socket.on('close', () => closed.push(Date.now())));
    const url = await listen(server);
    return {
      url,
      arrivals: () => arrived,
      /** resolves once a connection closed, or false after `ms` */
      closedWithin: async (ms: number) => {
        const deadline = Date.now() + ms;
        while (closed.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        return closed.length > 0;
      },
      close: () => close(server),
    };
  }

  it.each([[[]], [['enable_request_signal']]])(
    'with compatibility flags %j, the upstream call is dropped at once, long before its deadline',
    async (flags) => {
      const silent = await startSilentUpstream();
      const h = await startShardWorker({
        keys: KEYS,
        pass: PASS,
        caller: true,
        compatibilityFlags: flags,
        bindings: { GEMINI_BASE_URL: silent.url, UPSTREAM_TIMEOUT_MS: '60000' },
      });
      try {
        const answer = await send(h.url, { ...chat(), headers: { ...bearer, [ABORT_AFTER_HEADER]: '200' } });
        expect(answer.status).toBe(499);
        expect(answer.body).toBe('the caller aborted its call');
        expect(silent.arrivals()).toBe(1);
        // 5 s against a 60 s deadline: only the abort can have closed it
        expect(await silent.closedWithin(5000)).toBe(true);
      } finally {
        seen.push(...h.logs.map((l) => l.message));
        await h.close();
        await silent.close();
      }
    },
  );

  it('a request waiting for a cooling key (MAX_WAIT_MS) stops waiting and never reaches Google; one that stays is served', async () => {
    const h = await startShardWorker({
      keys: KEYS.slice(0, 1),
      pass: PASS,
      caller: true,
      bindings: { MAX_WAIT_MS: '2500' },
    });
    try {
      h.fake.configure({ retryDelay: '3s' });
      h.fake.setDefaultBehaviour('quota-minute');
      // the key cools for 3 s, more than the 2.5 s a request may wait: refused at once
      const refused = await send(h.url, { ...chat(), headers: { ...bearer, 'x-request-id': 'wait-refused' } });
      expect(refused.status).toBe(429);
      expect(refused.json()).toMatchObject({ error: { code: 'all_keys_cooling' } });
      const cooledAt = Date.now();
      h.fake.setDefaultBehaviour('ok');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // now the key frees within the bound: one request is abandoned by its caller while it waits, one waits
      const [abandoned, served] = await Promise.all([
        send(h.url, { ...chat(), headers: { ...bearer, [ABORT_AFTER_HEADER]: '150' } }),
        send(h.url, { ...chat(), headers: { ...bearer, 'x-request-id': 'wait-served' } }),
      ]);
      expect(abandoned.status).toBe(499);
      expect(served.status).toBe(200);
      expect(Date.now() - cooledAt).toBeGreaterThanOrEqual(2000);
      const line = await h.waitForRequestLog('wait-served');
      expect(line).toMatchObject({ status: 200, attempts: 1 });
      expect(line.waitedMs).toBeGreaterThan(0);
      expect(line.waitedMs).toBeLessThanOrEqual(2500);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // the refused call, then only the request that stayed
      expect(h.fake.calls.map((c) => c.method)).toEqual(['POST', 'POST']);
    } finally {
      seen.push(...h.logs.map((l) => l.message));
      await h.close();
    }
  });
});

describe('an upstream stream that ends cleanly mid-event', () => {
  let h: ShardWorkerHarness;
  beforeAll(async () => {
    h = await startShardWorker({ keys: KEYS, pass: PASS });
  });
  afterAll(async () => {
    seen.push(...h.logs.map((l) => l.message));
    await h.close();
  });
  beforeEach(() => {
    h.fake.reset();
    h.fake.setDefaultBehaviour('truncated-stream');
    h.fake.configure({ streamChunks: 6 });
  });

  it('reaches the openai SDK as an error after the text received, not as a complete reply', async () => {
    const openai = new OpenAI({ apiKey: PASS, baseURL: `${h.url}/v1`, maxRetries: 0 });
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
    expect(FAKE_REPLY_TEXT.startsWith(text) && text !== FAKE_REPLY_TEXT).toBe(true);
    expect(h.fake.calls).toHaveLength(1);
  });

  it('reaches @google/genai as an error, and is logged as a stream_error', async () => {
    const genai = new GoogleGenAI({ apiKey: PASS, httpOptions: { baseUrl: h.url } });
    const consume = async () => {
      for await (const chunk of await genai.models.generateContentStream({ model: 'gemini-3.8-flash', contents: 'hi' }))
        void chunk;
    };
    await expect(consume()).rejects.toMatchObject({ status: 502 });
    const raw = await send(h.url, {
      ...native('streamGenerateContent', '?alt=sse'),
      headers: { ...googKey, 'x-request-id': 'truncated-native' },
    });
    expect(raw.status).toBe(200);
    // whole events only (the half-written one is dropped), each valid JSON, the last one the error
    const events = raw.body
      .split(/\r\n\r\n|\n\n/)
      .filter(Boolean)
      .map((e) => JSON.parse(e.replace(/^data: /, '')) as Record<string, unknown>);
    expect(events.length).toBeGreaterThan(1);
    expect(events.slice(0, -1).every((e) => Array.isArray(e.candidates))).toBe(true);
    expect(events.at(-1)).toEqual({
      error: {
        code: 502,
        message: 'The connection to Gemini broke before the reply was complete.',
        status: 'UNAVAILABLE',
      },
    });
    await h.waitForRequestLog('truncated-native');
    const deadline = Date.now() + 2000;
    while (
      !h.jsonLogs().some((l) => l.event === 'stream_error' && l.requestId === 'truncated-native') &&
      Date.now() < deadline
    )
      await new Promise((r) => setTimeout(r, 20));
    expect(h.jsonLogs().filter((l) => l.event === 'stream_error' && l.requestId === 'truncated-native')).toHaveLength(
      1,
    );
  });

  it('a truncated non-streamed reply is a 502 upstream_invalid_response', async () => {
    const answer = await send(h.url, chat());
    expect(answer.status).toBe(502);
    expect(answer.json()).toMatchObject({ error: { code: 'upstream_invalid_response' } });
  });
});

describe('secret hygiene', () => {
  it('never shows a canary key or password in any response or log line of this file', () => {
    expect(seen.length).toBeGreaterThan(40);
    const everything = seen.join('\n');
    for (const canary of CANARIES) expect(everything).not.toContain(canary);
  });
});
