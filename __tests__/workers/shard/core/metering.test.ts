/**
 * One usage data point per answered request, driven through the handler in-process with an injected clock and a
 * canned Google: each surface's tokens (whole replies, streams metered at their end, the Anthropic and Responses
 * translations), the refusals that used no key, the key and project as the operator numbers them, and a dataset that
 * is missing or throws, which never changes the answer. Each point is written through the emulation's in-memory
 * dataset, which checks Analytics Engine's limits.
 */
import { handleRequest, type HandlerDeps } from '../../../../workers/shard/edge/handler';
import { KeyPool } from '../../../../workers/shard/core/key-pool';
import type { LogLine } from '../../../../workers/shard/core/log';
import { keyFacts, usageFields } from '../../../../workers/shard/core/metering';
import { USAGE_BINDING, type UsageFields, usageFieldsOf } from '../../../../workers/shared/usage-schema';
import { InMemoryDataset } from '../../../../scripts/local/in-memory-dataset';
import { readConfig } from '../../../../workers/shard/edge/bindings';
import { keyLayout } from '../../../../workers/shared/key-layout';
import { defined } from '../../../helpers/guards';
import { canaryApiKeys } from '../../../security/canaries';

const PASS = 'metering-canary-pass-0123456789';
const TOKEN = 'metering-canary-token-alice-0123456';
const KEYS = ['metering-canary-key-1', 'metering-canary-key-2'];
const ENV: Record<string, string> = {
  PASS,
  CLIENT_TOKENS: JSON.stringify({ alice: TOKEN }),
  GEMINI_BASE_URL: 'http://gemini.test',
  KEY1: KEYS[0] as string,
  KEY2: KEYS[1] as string,
};

const USAGE = {
  promptTokenCount: 11,
  candidatesTokenCount: 5,
  thoughtsTokenCount: 3,
  cachedContentTokenCount: 4,
  totalTokenCount: 19,
};
const TOKENS = { promptTokens: 11, outputTokens: 5, thinkingTokens: 3, cachedTokens: 4, totalTokens: 19 };

const encoder = new TextEncoder();

/** A native reply or stream chunk: text, and the usage on the last. */
function nativeChunk(text: string, last: boolean): object {
  return {
    candidates: [
      { content: { parts: [{ text }], role: 'model' }, ...(last ? { finishReason: 'STOP' } : {}), index: 0 },
    ],
    ...(last ? { usageMetadata: USAGE } : { usageMetadata: { promptTokenCount: 11, totalTokenCount: 11 } }),
  };
}

const sse = (events: readonly object[], sep = '\r\n\r\n'): string =>
  events.map((e) => `data: ${JSON.stringify(e)}${sep}`).join('');

/** A body that sends `text` in pieces of 7 bytes, then ends (or breaks, with `cut`). */
function pieces(text: string, cut = false): ReadableStream<Uint8Array> {
  const bytes = encoder.encode(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) {
        if (cut) controller.error(new Error('connection reset'));
        else controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + 7));
      at += 7;
    },
  });
}

/** Google's answer to an upstream call, as the tests need it; `cut` breaks every stream at its end. */
function google(url: string, body: unknown, cut: boolean): Response {
  const json = (reply: object) =>
    new Response(JSON.stringify(reply), { headers: { 'content-type': 'application/json' } });
  const stream = (text: string) =>
    new Response(pieces(text, cut), { headers: { 'content-type': 'text/event-stream' } });
  if (url.includes(':streamGenerateContent')) return stream(sse([nativeChunk('Hel', false), nativeChunk('lo', true)]));
  if (url.includes(':generateContent')) return json(nativeChunk('Hello', true));
  if (url.endsWith('/openai/chat/completions')) {
    const usage = {
      prompt_tokens: 9,
      completion_tokens: 6,
      total_tokens: 15,
      completion_tokens_details: { reasoning_tokens: 2 },
    };
    if (typeof body === 'string' && body.includes('"stream":true')) {
      return stream(sse([{ choices: [{ delta: { content: 'Hi' } }] }, { choices: [], usage }], '\n\n'));
    }
    return json({
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
      usage,
    });
  }
  return new Response('{}', { status: 404 });
}

function harness(env: Record<string, unknown> = {}, options: { cut?: boolean } = {}) {
  let now = Date.parse('2026-06-15T10:00:00Z');
  const logs: LogLine[] = [];
  const dataset = new InMemoryDataset('zen_ai_router_usage', () => now);
  const deps: HandlerDeps = {
    // each read of the clock is 5 ms later, so latencies are visible
    now: () => (now += 5),
    random: () => 0.1,
    randomUUID: () => 'req',
    sleep: async () => true,
    log: (line) => logs.push(line),
    pool: new KeyPool(),
    fetch: async (url, init) => google(url, init.body, options.cut === true),
  };
  const fullEnv = { ...ENV, [USAGE_BINDING]: dataset, ...env };
  const send = (path: string, init: RequestInit & { credential?: Record<string, string> } = {}) =>
    handleRequest(
      new Request(`http://worker.test${path}`, {
        method: 'POST',
        ...init,
        // the native routes read the credential from x-goog-api-key, the others from the bearer token
        headers: {
          'content-type': 'application/json',
          ...(path.startsWith('/v1beta/') ? { 'x-goog-api-key': PASS } : { authorization: `Bearer ${PASS}` }),
          ...init.credential,
        },
      }),
      fullEnv as never,
      deps,
    );
  const points = (): UsageFields[] => dataset.read().points.map(usageFieldsOf);
  const requestLines = () => logs.filter((l) => l.event === 'request') as (LogLine & Record<string, unknown>)[];
  return { deps, send, points, dataset, requestLines };
}

const chatBody = (extra: object = {}) =>
  JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'hi' }], ...extra });
const nativeBody = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });

/** Reads a response to its end, then lets the stream's meter write its point. */
async function drain(response: Response): Promise<string> {
  const text = await response.text();
  await new Promise((resolve) => setTimeout(resolve, 0));
  return text;
}

describe('a data point per answered request', () => {
  test('a whole native reply: route, model, client, key, project, status, attempts, latency and tokens', async () => {
    const h = harness();
    const response = await h.send('/v1beta/models/gemini-3.8-flash:generateContent', { body: nativeBody });
    expect(response.status).toBe(200);
    await drain(response);
    const [point, ...others] = h.points();
    expect(others).toEqual([]);
    expect(point?.project).toMatch(/^key[12]$/);
    expect(point?.blobs).toEqual({
      route: 'native.generateContent',
      model: 'gemini-3.8-flash',
      client: 'pass',
      key: point?.project.toUpperCase(),
      error: '',
      delivery: 'whole',
    });
    expect(point?.doubles).toMatchObject({ status: 200, upstreamStatus: 200, attempts: 1, shard: -1, ...TOKENS });
    expect(point?.doubles.globalKey).toBe(point?.doubles.keyIndex);
    expect(point?.doubles.ms).toBeGreaterThan(0);
    expect(point?.doubles.totalMs).toBe(point?.doubles.ms);
  });

  test('a native stream is metered at its end, with its last chunk’s totals and the time to its last byte', async () => {
    const h = harness();
    const response = await h.send('/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse', {
      body: nativeBody,
    });
    expect(h.points()).toEqual([]);
    await drain(response);
    const [point] = h.points();
    expect(point?.blobs).toMatchObject({ route: 'native.streamGenerateContent', delivery: 'stream', error: '' });
    expect(point?.doubles).toMatchObject({ status: 200, ...TOKENS });
    expect(point?.doubles.totalMs).toBeGreaterThan(point?.doubles.ms ?? Number.POSITIVE_INFINITY);
  });

  test('OpenAI-compatible chat, whole and streamed: usage as Google reports it, reasoning apart', async () => {
    const h = harness();
    await drain(await h.send('/v1/chat/completions', { body: chatBody() }));
    const tokens = { promptTokens: 9, outputTokens: 4, thinkingTokens: 2, totalTokens: 15 };
    expect(h.points()[0]?.doubles).toMatchObject(tokens);
    await drain(await h.send('/v1/chat/completions', { body: chatBody({ stream: true }) }));
    expect(h.points()[1]?.blobs).toMatchObject({ delivery: 'stream', error: '' });
    expect(h.points()[1]?.doubles).toMatchObject(tokens);
  });

  test.each([
    [
      'the Anthropic Messages route',
      '/v1/messages',
      'anthropic.messages',
      { model: 'claude-sonnet-4-5', max_tokens: 64 },
    ],
    ['the Responses route', '/v1/responses', 'responses.create', { model: 'gemini-3.8-flash' }],
  ])('%s: whole and streamed, the usage the translation already reads', async (_what, path, route, body) => {
    const h = harness();
    const input = path === '/v1/messages' ? { messages: [{ role: 'user', content: 'hi' }] } : { input: 'hi' };
    await drain(await h.send(path, { body: JSON.stringify({ ...body, ...input }) }));
    await drain(await h.send(path, { body: JSON.stringify({ ...body, ...input, stream: true }) }));
    const points = h.points();
    expect(points.map((p) => [p.blobs.route, p.blobs.delivery])).toEqual([
      [route, 'whole'],
      [route, 'stream'],
    ]);
    for (const point of points) expect(point.doubles).toMatchObject({ status: 200, ...TOKENS });
  });

  test('a stream Google cuts off, or the client leaves, says so in the error blob', async () => {
    const cut = harness({}, { cut: true });
    await drain(await cut.send('/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse', { body: nativeBody }));
    expect(cut.points()[0]?.blobs.error).toBe('upstream_stream_interrupted');
    const left = harness();
    const response = await left.send('/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse', {
      body: nativeBody,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(left.points()[0]?.blobs).toMatchObject({ error: 'client_disconnected', delivery: 'stream' });
    expect(left.points()[0]?.doubles.status).toBe(200);
  });

  test('a refusal before any key: no key, project or tokens; before the credential, no client', async () => {
    const h = harness();
    await drain(
      await h.send('/v1/chat/completions', { body: chatBody(), credential: { authorization: 'Bearer wrong' } }),
    );
    await drain(await h.send('/v1/nowhere', { body: chatBody() }));
    const [wrong, unknown] = h.points();
    expect(wrong).toEqual({
      project: '',
      blobs: { route: 'chat.completions', model: '', client: '', key: '', error: 'invalid_api_key', delivery: 'whole' },
      doubles: expect.objectContaining({
        status: 401,
        upstreamStatus: 0,
        attempts: 0,
        keyIndex: 0,
        globalKey: 0,
        totalTokens: 0,
      }),
    });
    expect(unknown?.blobs).toMatchObject({ route: 'unmatched', error: 'unknown_url' });
  });

  test('a client token is named, never its token; the operators’ status view is not metered', async () => {
    const h = harness();
    await drain(
      await h.send('/v1beta/models/gemini-3.8-flash:generateContent', {
        body: nativeBody,
        credential: { 'x-goog-api-key': TOKEN },
      }),
    );
    await drain(await h.send('/zen/status', { method: 'GET' }));
    expect(h.points().map((p) => p.blobs.client)).toEqual(['alice']);
  });

  test('no key, password or token in any field, even a model id a client built from one', async () => {
    const h = harness();
    await drain(await h.send(`/v1/chat/completions`, { body: chatBody({ model: `x${KEYS[0]}` }) }));
    await drain(await h.send(`/v1/chat/completions`, { body: chatBody({ model: `${PASS}` }) }));
    await drain(await h.send('/v1beta/models/gemini-3.8-flash:generateContent', { body: nativeBody }));
    const written = JSON.stringify(h.dataset.read().points);
    for (const secret of [PASS, TOKEN, ...KEYS]) expect(written).not.toContain(secret);
    expect(h.points()[0]?.blobs.model).toBe('[redacted]');
  });
});

describe('metering never fails or slows a request', () => {
  test('no binding: nothing written, the answer as before', async () => {
    const h = harness({ [USAGE_BINDING]: undefined });
    const response = await h.send('/v1beta/models/gemini-3.8-flash:generateContent', { body: nativeBody });
    expect(response.status).toBe(200);
    expect(h.points()).toEqual([]);
    expect(h.requestLines()[0]).not.toHaveProperty('meterErrors');
  });

  test('a dataset that throws: the answer as before, the failures counted on the request lines', async () => {
    const throwing = {
      writeDataPoint: () => {
        throw new Error('dataset unavailable');
      },
    };
    const h = harness({ [USAGE_BINDING]: throwing });
    const before = h.requestLines().length;
    const first = await h.send('/v1beta/models/gemini-3.8-flash:generateContent', { body: nativeBody });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ usageMetadata: USAGE });
    const stream = await h.send('/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse', { body: nativeBody });
    expect(await drain(stream)).toContain('"finishReason":"STOP"');
    await drain(await h.send('/v1beta/models/gemini-3.8-flash:generateContent', { body: nativeBody }));
    const counts = h
      .requestLines()
      .slice(before)
      .map((l) => l.meterErrors);
    // the isolate's count so far: each line shows what failed before it was written (a stream fails at its end)
    expect(counts[0]).toBeGreaterThanOrEqual(1);
    expect(counts[2]).toBe((counts[0] as number) + 2);
  });
});

describe('the key and project as the operator numbers them', () => {
  const config = (env: Record<string, string>) => {
    const result = readConfig({ ...ENV, ...env } as never);
    if (!result.ok) throw new Error(result.problem);
    return result.config;
  };

  test('a worker that stands alone, or the first shard: KEY<n> is global key n, its own project', () => {
    expect(keyFacts(config({}), 2)).toEqual({ key: 'KEY2', project: 'key2', globalKey: 2 });
    expect(keyFacts(config({ SHARD_INDEX: '0' }), 1)).toEqual({ key: 'KEY1', project: 'key1', globalKey: 1 });
  });

  test('another shard without the layout cannot tell, and says which shard', () => {
    expect(keyFacts(config({ SHARD_INDEX: '2' }), 1)).toEqual({
      key: 'shard2:KEY1',
      project: 'shard2:key1',
      globalKey: 0,
    });
  });

  test('with KEY_PROJECTS: the global number and the declared project, from the layout', () => {
    const labels = ['a', 'a', 'b', 'c', 'c', 'c'];
    const shard = defined(keyLayout(labels, labels.length, 2).shards[1], 'shard 1');
    const env = { KEY_PROJECTS: labels.join(','), KEYS_PER_SHARD: '2', SHARD_INDEX: '1' };
    expect(shard.keys.map((_, j) => keyFacts(config(env), j + 1))).toEqual(
      shard.keys.map((global, j) => ({ key: `KEY${global}`, project: shard.projects[j], globalKey: global })),
    );
  });

  test('no key used: empty labels', () => {
    expect(keyFacts(config({}), undefined)).toEqual({ key: '', project: '', globalKey: 0 });
    expect(keyFacts(undefined, 1)).toEqual({ key: '', project: '', globalKey: 0 });
  });
});

describe('the delivery of an answer', () => {
  test('a Live API session (101) is metered when it opens, as live, without tokens', () => {
    const line = { attempts: 1, status: 101, keyIndex: 1, model: 'gemini-live' };
    const fields = usageFields({ route: 'live.bidi', client: 'pass', line, ms: 30 }, { how: 'complete' }, 30);
    expect(fields.blobs.delivery).toBe('live');
    expect(fields.doubles).toMatchObject({ status: 101, totalTokens: 0, ms: 30, totalMs: 30 });
  });
});

describe("a model id built from another shard's key", () => {
  test('is written as [redacted] too: anything shaped like a Google API key', () => {
    // a key of no shard here, built at run time so that no key-shaped literal sits in the source
    const line = { attempts: 1, status: 404, model: defined(canaryApiKeys(2)[1], 'canary key') };
    const fields = usageFields({ route: 'chat.completions', line, ms: 1 }, { how: 'complete' }, 1);
    expect(fields.blobs.model).toBe('[redacted]');
    const plain = usageFields(
      { route: 'chat.completions', line: { ...line, model: 'gemini-3.8-flash' }, ms: 1 },
      { how: 'complete' },
      1,
    );
    expect(plain.blobs.model).toBe('gemini-3.8-flash');
  });
});
