/**
 * The shard worker's Anthropic Messages routes in workerd, driven by the real `@anthropic-ai/sdk` against the fake
 * Gemini on 127.0.0.1: requests go through the key pool like every other route's (keys sent as `x-goog-api-key` to
 * Gemini's native API, failover and cooldowns per Gemini model), answers come back in Anthropic's shapes, errors
 * included, and the upstream calls are counted at the fake.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic, { type APIError, type RateLimitError } from '@anthropic-ai/sdk';
import {
  FAKE_REPLY_TEXT,
  FAKE_THOUGHT_SIGNATURE,
  type FakeGemini,
  startFakeGemini,
} from '../../../../../dev/fake-gemini';
import { SKIP_SIGNATURE_VALIDATOR } from '../../../../../workers/shard/surfaces/anthropic/request-translation';
import { defined } from '../../../../helpers/guards';
import {
  FAKE_CALL_ARGS,
  FAKE_CALL_ID,
  type NativeReply,
  toolCallingGemini,
} from '../../../../helpers/gemini-native-replies';
import { startShardWorker, type ShardWorkerHarness } from '../../../../helpers/shard-worker';

const PASS = 'anthropic-route-canary-pass';
const KEYS = ['anthropic-route-canary-key-1', 'anthropic-route-canary-key-2'];
/** opus and sonnet on models the fake serves, fable on a Gemini 3 model only `nativeReply` answers */
const MODEL_MAP = JSON.stringify({
  opus: 'gemini-3.1-pro-preview',
  sonnet: 'gemini-3.8-flash',
  fable: 'gemini-3.8-flash',
});

let fake: FakeGemini;
let h: ShardWorkerHarness;
let client: Anthropic;
/** what the fake's `nativeReply` hook does in the running test */
let nativeReply: NativeReply | undefined;

beforeAll(async () => {
  fake = await startFakeGemini({ nativeReply: (model, action, body) => nativeReply?.(model, action, body) });
  h = await startShardWorker({ keys: KEYS, pass: PASS, fake, bindings: { ANTHROPIC_MODEL_MAP: MODEL_MAP } });
  client = new Anthropic({ apiKey: PASS, baseURL: h.url, maxRetries: 0 });
});
afterAll(async () => {
  await h.close();
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  nativeReply = undefined;
});

const question: Anthropic.MessageParam = { role: 'user', content: 'Say hello' };
const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string', minLength: 1 } },
    required: ['city'],
    additionalProperties: false,
  },
};

function expectNoSecretIn(text: string): void {
  for (const secret of [PASS, ...KEYS]) expect(text).not.toContain(secret);
}

async function post(path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': PASS }) {
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) as Record<string, unknown> };
}

describe('POST /v1/messages', () => {
  it('answers a message from Gemini, sending a pool key (never the password) to the native endpoint', async () => {
    const { data: message, response } = await client.messages
      .create({ model: 'claude-sonnet-4-6', max_tokens: 256, messages: [question] })
      .withResponse();
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-6',
      content: [{ type: 'text', text: FAKE_REPLY_TEXT }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 2, output_tokens: 4 },
    });
    expect(message.id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(fake.calls).toHaveLength(1);
    const call = defined(fake.calls[0], 'the upstream call');
    expect(`${call.path}${call.search}`).toBe('/v1beta/models/gemini-3.8-flash:generateContent');
    expect(KEYS).toContain(call.headers['x-goog-api-key']);
    expect(call.headers.authorization).toBeUndefined();
    expectNoSecretIn(JSON.stringify(JSON.parse(call.body)));
    expect(JSON.stringify(call.headers)).not.toContain(PASS);
    const requestId = defined(response.headers.get('x-request-id'), 'x-request-id');
    expect(response.headers.get('request-id')).toBe(requestId);
    expect(await h.waitForRequestLog(requestId)).toMatchObject({
      route: 'anthropic.messages',
      client: 'pass',
      model: 'gemini-3.8-flash',
      status: 200,
      upstreamStatus: 200,
      attempts: 1,
    });
  });

  it('maps each Claude model line through ANTHROPIC_MODEL_MAP and passes a Gemini model name through', async () => {
    await client.messages.create({ model: 'claude-opus-4-8', max_tokens: 16, messages: [question] });
    await client.messages.create({ model: 'gemini-3.8-flash', max_tokens: 16, messages: [question] });
    expect(fake.calls.map((c) => c.path)).toEqual([
      '/v1beta/models/gemini-3.1-pro-preview:generateContent',
      '/v1beta/models/gemini-3.8-flash:generateContent',
    ]);
  });

  it('serves the beta path (?beta=true) and a password sent as Authorization: Bearer', async () => {
    const bearer = new Anthropic({ authToken: PASS, apiKey: null, baseURL: h.url, maxRetries: 0 });
    const message = await bearer.beta.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 16,
      messages: [question],
      betas: ['interleaved-thinking-2025-05-14'],
    });
    expect(message.content).toEqual([{ type: 'text', text: FAKE_REPLY_TEXT }]);
    expect(fake.calls).toHaveLength(1);
  });

  it('streams the reply as Anthropic events, one text delta per Gemini chunk', async () => {
    fake.configure({ streamChunks: 5 });
    const stream = client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 256, messages: [question] });
    const deltas: string[] = [];
    stream.on('text', (text) => deltas.push(text));
    const final = await stream.finalMessage();
    expect(deltas).toHaveLength(5);
    expect(deltas.join('')).toBe(FAKE_REPLY_TEXT);
    expect(final).toMatchObject({ content: [{ type: 'text', text: FAKE_REPLY_TEXT }], stop_reason: 'end_turn' });
    const call = defined(fake.calls[0], 'the upstream call');
    expect(`${call.path}${call.search}`).toBe('/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse');
  });

  it('sends the full event sequence', async () => {
    const stream = await client.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 256,
      messages: [question],
      stream: true,
    });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types[0]).toBe('message_start');
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(types).toContain('content_block_start');
  });

  it('ends a stream Gemini cuts off with an error event the SDK raises, and logs stream_error', async () => {
    fake.setDefaultBehaviour('cut-stream');
    fake.configure({ streamChunks: 6 });
    const stream = client.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 256, messages: [question] });
    await expect(stream.finalMessage()).rejects.toMatchObject({ type: 'api_error' });
    const requestId = defined(stream.request_id, 'the stream request id');
    const line = await h.waitForRequestLog(requestId);
    expect(line).toMatchObject({ route: 'anthropic.messages', status: 200 });
    for (let waited = 0; waited < 2000; waited += 20) {
      if (h.jsonLogs().some((l) => l.event === 'stream_error' && l.requestId === requestId)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(h.jsonLogs().filter((l) => l.event === 'stream_error' && l.requestId === requestId)).toEqual([
      { event: 'stream_error', requestId, route: 'anthropic.messages', keyIndex: line.keyIndex },
    ]);
  });
});

describe('tools', () => {
  beforeEach(() => {
    nativeReply = toolCallingGemini;
  });

  const ask = (messages: Anthropic.MessageParam[]) =>
    client.messages.create({ model: 'claude-fable-5', max_tokens: 256, tools: [weatherTool], messages });

  it('round-trips a tool call: the thought signature reaches Gemini with the tool_result on the next turn', async () => {
    const first = await ask([question]);
    expect(first.stop_reason).toBe('tool_use');
    const toolUse = defined(
      first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use'),
      'a tool_use block',
    );
    expect(toolUse).toMatchObject({ name: 'get_weather', input: FAKE_CALL_ARGS });
    // the fake answers 400, as Gemini 3 does, if the signature did not come back with the call
    const second = await ask([
      question,
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'sunny' }] },
    ]);
    expect(second.content).toEqual([{ type: 'text', text: `${FAKE_REPLY_TEXT}: tool said {"output":"sunny"}` }]);
    const sent = JSON.parse(defined(fake.calls[1], 'the second upstream call').body) as {
      contents: { role: string; parts: Record<string, unknown>[] }[];
      tools: { functionDeclarations: Record<string, unknown>[] }[];
    };
    expect(sent.contents[1]).toEqual({
      role: 'model',
      parts: [
        {
          functionCall: { name: 'get_weather', args: FAKE_CALL_ARGS, id: FAKE_CALL_ID },
          thoughtSignature: FAKE_THOUGHT_SIGNATURE,
        },
      ],
    });
    expect(sent.contents[2]?.parts[0]).toMatchObject({ functionResponse: { name: 'get_weather', id: FAKE_CALL_ID } });
    expect(sent.tools[0]?.functionDeclarations[0]).toMatchObject({
      name: 'get_weather',
      parametersJsonSchema: weatherTool.input_schema,
    });
    expect(fake.calls.map((c) => c.path)).toEqual([
      '/v1beta/models/gemini-3.8-flash:generateContent',
      '/v1beta/models/gemini-3.8-flash:generateContent',
    ]);
  });

  it('streams a tool call the MessageStream helper assembles', async () => {
    const final = await client.messages
      .stream({ model: 'claude-fable-5', max_tokens: 256, tools: [weatherTool], messages: [question] })
      .finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([expect.objectContaining({ type: 'tool_use', input: FAKE_CALL_ARGS })]);
  });

  it("gives a tool_use that carries no signature (a history from elsewhere) Google's placeholder, which Gemini 3 accepts", async () => {
    const answer = await ask([
      question,
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_madeup', name: 'get_weather', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_madeup', content: 'sunny' }] },
    ]);
    expect(answer.stop_reason).toBe('tool_use');
    const sent = JSON.parse(defined(fake.calls[0], 'the upstream call').body) as {
      contents: { parts: Record<string, unknown>[] }[];
    };
    expect(sent.contents[1]?.parts[0]).toMatchObject({ thoughtSignature: SKIP_SIGNATURE_VALIDATOR });
  });
});

describe('POST /v1/messages/count_tokens', () => {
  it("answers Gemini's count as input_tokens, from the native countTokens of the mapped model", async () => {
    const counted = await client.messages.countTokens({
      model: 'claude-sonnet-4-6',
      messages: [{ role: 'user', content: 'one two three' }],
    });
    expect(counted).toEqual({ input_tokens: 3 });
    const call = defined(fake.calls[0], 'the upstream call');
    expect(call.path).toBe('/v1beta/models/gemini-3.8-flash:countTokens');
    expect(JSON.parse(call.body)).toMatchObject({ generateContentRequest: { model: 'models/gemini-3.8-flash' } });
  });
});

describe('errors in Anthropic shape', () => {
  it('refuses a wrong password with 401 authentication_error (AuthenticationError), calling nobody', async () => {
    const wrong = new Anthropic({ apiKey: 'not-the-password', baseURL: h.url, maxRetries: 0 });
    const error = await wrong.messages
      .create({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [question] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    const raw = await post(
      '/v1/messages',
      { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [question] },
      { 'x-api-key': 'not-the-password' },
    );
    expect(raw.status).toBe(401);
    expect(raw.json).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'Incorrect password.' },
      request_id: raw.headers.get('x-request-id'),
    });
    expect(fake.calls).toHaveLength(0);
  });

  it.each([
    ['no credential', '', {}, 'Missing password: send it in the x-api-key header or the Authorization header'],
    ['the password in x-goog-api-key', '', { 'x-goog-api-key': PASS }, 'Password sent in the wrong place'],
    [
      'the password in ?key=',
      `?key=${PASS}`,
      {},
      'Password sent in the wrong place: this route reads it from the x-api-key header',
    ],
  ])('refuses %s with 401 naming where the password goes', async (_, query, headers, message) => {
    const raw = await post(`/v1/messages${query}`, { model: 'claude-sonnet-4-6' }, headers);
    expect(raw.status).toBe(401);
    expect(raw.json).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    expect((raw.json.error as { message: string }).message).toContain(message);
    expect(fake.calls).toHaveLength(0);
  });

  it('refuses a request the adapter cannot translate with 400 invalid_request_error (BadRequestError)', async () => {
    const error = await client.messages
      .create({
        model: 'claude-sonnet-4-6',
        messages: [question],
      } as unknown as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as APIError).error).toMatchObject({
      error: { type: 'invalid_request_error', message: expect.stringMatching(/^max_tokens: /) },
    });
    const notJson = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': PASS },
      body: '[1]',
    });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: 'Request body must be a JSON object.' },
    });
    expect(fake.calls).toHaveLength(0);
  });

  it('refuses a model no line maps with 404 not_found_error naming the lines (NotFoundError)', async () => {
    const error = await client.messages
      .create({ model: 'claude-nonesuch-9', max_tokens: 16, messages: [question] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    expect((error as APIError).error).toMatchObject({
      error: { type: 'not_found_error', message: expect.stringContaining('sonnet → gemini-3.8-flash') },
    });
    expect(fake.calls).toHaveLength(0);
    const requestId = defined((error as APIError).requestID, 'the request-id header');
    expect(await h.waitForRequestLog(requestId)).toMatchObject({
      route: 'anthropic.messages',
      status: 404,
      error: 'unknown_model',
      attempts: 0,
    });
  });

  it('answers 429 rate_limit_error with retry-after and x-zen-pool when every key is rate limited (RateLimitError)', async () => {
    fake.setDefaultBehaviour('quota-minute');
    // a model of its own: the cooldowns this test causes must not reach the other tests' model
    const error = await client.messages
      .create({ model: 'gemini-2.0-flash-lite', max_tokens: 16, messages: [question] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const rateLimited = error as RateLimitError;
    expect(rateLimited.headers?.get('retry-after')).toBe('17');
    expect(rateLimited.headers?.get('x-zen-pool')).toBe('exhausted');
    expect(rateLimited.error).toMatchObject({
      type: 'error',
      error: { type: 'rate_limit_error', message: expect.stringContaining('rate limited') },
    });
    expect(fake.calls).toHaveLength(KEYS.length);
    expect(new Set(fake.calls.map((c) => c.apiKey))).toEqual(new Set(KEYS));
  });

  it("passes on Google's 400 as invalid_request_error (BadRequestError), naming Google's status", async () => {
    fake.setDefaultBehaviour('bad-request-400');
    const error = await client.messages
      .create({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [question] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as APIError).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringMatching(/^Gemini INVALID_ARGUMENT: /) },
    });
    expect(fake.calls).toHaveLength(1);
  });

  it("passes on Google's 503 as overloaded_error and its 403 as permission_error, keys redacted", async () => {
    fake.setDefaultBehaviour('overloaded-503');
    const overloaded = await post('/v1/messages', { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [question] });
    expect(overloaded.status).toBe(503);
    expect(overloaded.json).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    expect(overloaded.headers.get('x-zen-pool')).toBeNull();
    fake.setDefaultBehaviour('denied-quoting-key');
    const denied = await post('/v1/messages', { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [question] });
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    expect(denied.text).toContain('[redacted]');
    expectNoSecretIn(denied.text);
  });

  it('answers a method other than POST with 405 and an unknown /v1/messages/ path with 404, in its shape', async () => {
    const get = await fetch(`${h.url}/v1/messages`, { headers: { 'x-api-key': PASS } });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
    expect(await get.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const batches = await post('/v1/messages/batches', {});
    expect(batches.status).toBe(404);
    expect(batches.json).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('keeps every secret out of the log lines, even when Google quotes a key', async () => {
    fake.setDefaultBehaviour('denied-quoting-key');
    const denied = await post('/v1/messages', { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [question] });
    await h.waitForRequestLog(defined(denied.headers.get('x-request-id'), 'x-request-id'));
    expect(fake.calls.map((c) => c.apiKey).filter((k) => k !== undefined)).not.toHaveLength(0);
    expectNoSecretIn(h.logs.map((l) => l.message).join('\n'));
  });
});

describe('the base URL', () => {
  it('answers HEAD / and GET / with 200 and no credential, calling nobody', async () => {
    const head = await fetch(`${h.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const get = await fetch(`${h.url}/`);
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ ok: true });
    const post = await fetch(`${h.url}/`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(404);
    expect(fake.calls).toHaveLength(0);
  });
});

describe('a stream in workerd', () => {
  let held: Server;
  let release: () => void = () => undefined;
  let streaming: ShardWorkerHarness;

  beforeAll(async () => {
    // a Gemini that sends its first chunk, then waits for the test before it sends the rest
    held = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const chunk = (text: string, last: boolean) =>
          `data: ${JSON.stringify({
            candidates: [
              { content: { parts: [{ text }], role: 'model' }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) },
            ],
          })}\r\n\r\n`;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk('Hello', false));
        release = () => res.end(chunk(' there', true));
      });
    });
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    const { port } = held.address() as AddressInfo;
    streaming = await startShardWorker({
      keys: KEYS,
      pass: PASS,
      fake,
      bindings: { GEMINI_BASE_URL: `http://127.0.0.1:${port}` },
    });
  });
  afterAll(async () => {
    await streaming.close();
    await new Promise<void>((resolve) => held.close(() => resolve()));
  });

  it('translates each chunk as it arrives, never holding the reply back', async () => {
    const anthropic = new Anthropic({ apiKey: PASS, baseURL: streaming.url, maxRetries: 0 });
    const stream = await anthropic.messages.create({
      model: 'gemini-3.8-flash',
      max_tokens: 64,
      messages: [question],
      stream: true,
    });
    const texts: string[] = [];
    for await (const event of stream) {
      if (event.type !== 'content_block_delta' || event.delta.type !== 'text_delta') continue;
      texts.push(event.delta.text);
      // Gemini has sent only its first chunk: this delta could not arrive if the reply were buffered
      if (texts.length === 1) release();
    }
    expect(texts).toEqual(['Hello', ' there']);
  });
});

describe('a malformed ANTHROPIC_MODEL_MAP', () => {
  let misconfigured: ShardWorkerHarness;

  beforeAll(async () => {
    misconfigured = await startShardWorker({
      keys: KEYS,
      pass: PASS,
      fake,
      bindings: { ANTHROPIC_MODEL_MAP: '{"opus":' },
    });
  });
  afterAll(() => misconfigured.close());

  it('is a 500 api_error naming the binding, while the other routes keep working', async () => {
    const res = await fetch(`${misconfigured.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': PASS },
      body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [question] }),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({
      type: 'error',
      error: {
        type: 'api_error',
        message: expect.stringMatching(/^The worker is misconfigured: ANTHROPIC_MODEL_MAP is not JSON/),
      },
    });
    const models = await fetch(`${misconfigured.url}/v1/models`, { headers: { authorization: `Bearer ${PASS}` } });
    expect(models.status).toBe(200);
    expect(fake.calls.map((c) => c.path)).toEqual(['/v1beta/openai/models']);
  });
});
