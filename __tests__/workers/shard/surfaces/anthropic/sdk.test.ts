/**
 * The adapter's output read by the real `@anthropic-ai/sdk`. A tiny local server plays the gateway's Anthropic
 * route: it plans each request with the adapter (so the SDK's own request bodies are what gets translated), keeps
 * the plan for the test to inspect, and answers with recorded Gemini replies translated by the adapter, streamed in
 * small pieces when the client asks for a stream. Errors go through `toAnthropicErrorResponse`, as the route's will.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic, { APIError } from '@anthropic-ai/sdk';
import {
  anthropicErrorResponse,
  anthropicMessageFromGemini,
  anthropicStreamFromGemini,
  countTokensFromGemini,
  DEFAULT_ANTHROPIC_MODEL_MAP,
  newMessageId,
  planCountTokens,
  planMessages,
  toAnthropicErrorResponse,
  type AnthropicUpstreamPlan,
} from '../../../../../workers/shard/surfaces/anthropic/adapter';
import { jsonError } from '../../../../../workers/shared/http';
import {
  COUNT_TOKENS_REPLY,
  GOOGLE_OVERLOADED,
  GOOGLE_RATE_LIMIT,
  geminiSse,
  SIGNATURE_CALL,
  SIGNATURE_TEXT,
  TEXT_CALL_CHUNKS,
  TEXT_REPLY,
  THINKING_CALL_REPLY,
  THINKING_TEXT_CHUNKS,
  THINKING_TEXT_REPLY,
} from './recordings';

const SCENARIO = 'x-test-scenario';

type Scenario =
  | 'text'
  | 'call'
  | 'after-call'
  | 'thinking-text'
  | 'cut'
  | 'wrong-password'
  | 'google-429'
  | 'google-503';

const WHOLE: Partial<Record<Scenario, unknown>> = {
  text: TEXT_REPLY,
  call: THINKING_CALL_REPLY,
  'after-call': THINKING_TEXT_REPLY,
};
const STREAMED: Partial<Record<Scenario, readonly unknown[]>> = {
  call: TEXT_CALL_CHUNKS,
  'thinking-text': THINKING_TEXT_CHUNKS,
  cut: THINKING_TEXT_CHUNKS.slice(0, 2),
};

let server: Server;
let client: Anthropic;
const plans: AnthropicUpstreamPlan[] = [];
let ids = 0;

/** Google's SSE body for recorded chunks, in 11-byte pieces; `cut` makes the connection break after them. */
function geminiBody(chunks: readonly unknown[], cut: boolean): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(geminiSse(chunks));
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at < bytes.length) {
        controller.enqueue(bytes.subarray(at, at + 11));
        at += 11;
      } else if (cut) controller.error(new Error('ECONNRESET'));
      else controller.close();
    },
  });
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) for await (const chunk of response.body) res.write(chunk);
  res.end();
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

async function gatewayErrorOf(scenario: Scenario): Promise<Response | undefined> {
  switch (scenario) {
    case 'wrong-password':
      return toAnthropicErrorResponse(
        jsonError(401, 'Incorrect password.', 'authentication_error', 'invalid_api_key'),
        [],
      );
    case 'google-429':
      return toAnthropicErrorResponse(
        new Response(JSON.stringify(GOOGLE_RATE_LIMIT), { status: 429, headers: { 'retry-after': '17' } }),
        [],
      );
    case 'google-503':
      return toAnthropicErrorResponse(new Response(JSON.stringify(GOOGLE_OVERLOADED), { status: 503 }), []);
    default:
      return undefined;
  }
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const scenario = (req.headers[SCENARIO] ?? 'text') as Scenario;
  const body = await readJson(req);
  const failure = await gatewayErrorOf(scenario);
  if (failure) return send(res, failure);
  if (url.pathname === '/v1/messages/count_tokens') {
    const planned = planCountTokens(body, DEFAULT_ANTHROPIC_MODEL_MAP);
    if (!planned.ok) return send(res, anthropicErrorResponse(planned));
    plans.push(planned.plan);
    const counted = countTokensFromGemini(COUNT_TOKENS_REPLY);
    return send(res, counted.ok ? Response.json(counted.body) : anthropicErrorResponse(counted));
  }
  const planned = planMessages(body, DEFAULT_ANTHROPIC_MODEL_MAP);
  if (!planned.ok) return send(res, anthropicErrorResponse(planned));
  const { plan } = planned;
  plans.push(plan);
  const options = { messageId: newMessageId(`0000-${String(++ids).padStart(4, '0')}`), model: plan.requestedModel };
  if (plan.stream) {
    const chunks = STREAMED[scenario] ?? THINKING_TEXT_CHUNKS;
    const stream = anthropicStreamFromGemini(geminiBody(chunks, scenario === 'cut'), options);
    return send(
      res,
      new Response(stream, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } }),
    );
  }
  const translated = anthropicMessageFromGemini(WHOLE[scenario] ?? TEXT_REPLY, options);
  return send(res, translated.ok ? Response.json(translated.message) : anthropicErrorResponse(translated));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.writeHead(500);
      res.end(String(e));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new Anthropic({ apiKey: 'sdk-test-password', baseURL: `http://127.0.0.1:${port}`, maxRetries: 0 });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  plans.length = 0;
});

const scenario = (name: Scenario) => ({ headers: { [SCENARIO]: name } });
const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Weather for a city.',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const question: Anthropic.MessageParam = { role: 'user', content: 'Weather in Paris?' };

function lastPlanBody(): { contents: { role: string; parts: unknown[] }[]; generationConfig?: unknown } {
  const plan = plans.at(-1);
  if (!plan) throw new Error('the server planned nothing');
  return JSON.parse(plan.body) as { contents: { role: string; parts: unknown[] }[] };
}

describe('@anthropic-ai/sdk reading the adapter', () => {
  it('messages.create returns the message', async () => {
    const message = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 256, messages: [question] });
    expect(message.content).toEqual([{ type: 'text', text: 'Paris is the capital of France.' }]);
    expect(message).toMatchObject({
      model: 'claude-sonnet-4-6',
      stop_reason: 'end_turn',
      usage: { input_tokens: 20, output_tokens: 58 },
    });
    expect(plans.at(-1)?.upstreamPath).toBe('/v1beta/models/gemini-3.5-flash:generateContent');
  });

  it('the beta client (Claude Code sends ?beta=true) gets the same answer', async () => {
    const message = await client.beta.messages.create({
      model: 'claude-haiku-4-5',
      max_tokens: 64,
      messages: [question],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'Paris is the capital of France.' }]);
    expect(plans.at(-1)?.geminiModel).toBe('gemini-3.5-flash-lite');
  });

  it('messages.create with stream: true yields the full event sequence', async () => {
    const stream = await client.messages.create(
      { model: 'claude-sonnet-4-6', max_tokens: 256, messages: [question], stream: true },
      scenario('thinking-text'),
    );
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type === 'content_block_delta' ? `delta:${event.delta.type}` : event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'delta:thinking_delta',
      'delta:thinking_delta',
      'delta:signature_delta',
      'content_block_stop',
      'content_block_start',
      'delta:text_delta',
      'delta:text_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(text).toBe('Grüße aus Köln 👋');
  });

  it('messages.stream assembles thinking with its signature, text and usage', async () => {
    const stream = client.messages.stream(
      {
        model: 'claude-opus-4-8',
        max_tokens: 4096,
        thinking: { type: 'adaptive' },
        messages: [question],
      },
      scenario('thinking-text'),
    );
    const final = await stream.finalMessage();
    expect(final.content).toEqual([
      { type: 'thinking', thinking: 'Greeting in German, with an emoji.', signature: SIGNATURE_TEXT },
      { type: 'text', text: 'Grüße aus Köln 👋' },
    ]);
    expect(final).toMatchObject({
      model: 'claude-opus-4-8',
      stop_reason: 'end_turn',
      usage: { input_tokens: 12, output_tokens: 47 },
    });
    expect(lastPlanBody().generationConfig).toEqual({
      maxOutputTokens: 4096,
      thinkingConfig: { includeThoughts: true },
    });
  });

  it('runs a tool round trip: the streamed tool_use goes back with its tool_result, and the signature reaches Gemini', async () => {
    const first = await client.messages
      .stream(
        { model: 'claude-opus-4-8', max_tokens: 1024, tools: [weatherTool], messages: [question] },
        scenario('call'),
      )
      .finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const toolUse = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(toolUse).toMatchObject({ name: 'get_weather', input: { city: 'Paris' } });
    if (!toolUse) throw new Error('no tool_use');

    const second = await client.messages.create(
      {
        model: 'claude-opus-4-8',
        max_tokens: 1024,
        tools: [weatherTool],
        messages: [
          question,
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '18 °C, sunny' }] },
        ],
      },
      scenario('after-call'),
    );
    expect(lastPlanBody().contents.slice(1)).toEqual([
      {
        role: 'model',
        parts: [
          { text: 'Let me check.' },
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: SIGNATURE_CALL },
        ],
      },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: '18 °C, sunny' } } }] },
    ]);
    expect(second.content).toEqual([
      { type: 'thinking', thinking: 'The tool says 18 °C and sunny.', signature: SIGNATURE_TEXT },
      { type: 'text', text: 'It is 18 °C and sunny in Paris.' },
    ]);
  });

  it('countTokens returns input_tokens from Gemini countTokens', async () => {
    const count = await client.messages.countTokens({
      model: 'claude-sonnet-4-6',
      system: 'Be brief.',
      tools: [weatherTool],
      messages: [question],
    });
    expect(count).toEqual({ input_tokens: 31 });
    expect(plans.at(-1)?.upstreamPath).toBe('/v1beta/models/gemini-3.5-flash:countTokens');
  });
});

describe('@anthropic-ai/sdk raising the adapter errors', () => {
  async function caught(p: Promise<unknown>): Promise<APIError> {
    try {
      await p;
    } catch (e) {
      if (e instanceof APIError) return e;
      throw e;
    }
    throw new Error('expected an error');
  }
  const create = (extra: Record<string, unknown>, name: Scenario = 'text') =>
    client.messages.create(
      { model: 'claude-sonnet-4-6', max_tokens: 64, messages: [question], ...extra },
      scenario(name),
    );

  it('a wrong password is an AuthenticationError', async () => {
    const e = await caught(create({}, 'wrong-password'));
    expect(e).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(e).toMatchObject({ status: 401, type: 'authentication_error', apiMessage: 'Incorrect password.' });
  });

  it('an invalid request is a BadRequestError naming the field; an unknown model a NotFoundError', async () => {
    const bad = await caught(create({ stop_sequences: ['1', '2', '3', '4', '5', '6'] }));
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
    expect(bad).toMatchObject({
      type: 'invalid_request_error',
      apiMessage: 'stop_sequences: Gemini accepts at most 5 stop sequences, received 6.',
    });
    const unknown = await caught(create({ model: 'gpt-4o' }));
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect(unknown.type).toBe('not_found_error');
  });

  it("Google's 429 is a RateLimitError with retry-after; its 503 an overloaded InternalServerError", async () => {
    const limited = await caught(create({}, 'google-429'));
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited.headers?.get('retry-after')).toBe('17');
    expect(limited.type).toBe('rate_limit_error');
    const overloaded = await caught(create({}, 'google-503'));
    expect(overloaded).toBeInstanceOf(Anthropic.InternalServerError);
    expect(overloaded).toMatchObject({ status: 503, type: 'overloaded_error' });
  });

  it('a stream cut upstream raises an APIError instead of ending as if complete', async () => {
    const stream = client.messages.stream(
      { model: 'claude-sonnet-4-6', max_tokens: 64, messages: [question] },
      scenario('cut'),
    );
    const e = await caught(stream.finalMessage());
    expect(e).toMatchObject({
      type: 'api_error',
      apiMessage: 'The connection to Gemini broke before the reply was complete; retry the request.',
    });
  });
});
