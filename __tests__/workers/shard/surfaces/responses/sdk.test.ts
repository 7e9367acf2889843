/**
 * The Responses surface in workerd, driven by the real `openai` SDK (`responses.create`, `responses.stream`,
 * `responses.parse`): the shard worker against the fake Gemini on 127.0.0.1, whose native replies a test can script
 * (a Gemini 3 model with tools, JSON output). Shows what only the running worker can: the event stream the SDK
 * accumulates, a function call's thought signature surviving the trip through the client and back, the errors the
 * SDK raises, and a stream Gemini breaks off ending in `response.failed`.
 */
import OpenAI from 'openai';
import {
  FAKE_REPLY_TEXT,
  FAKE_THOUGHT_SIGNATURE,
  type FakeGemini,
  type NativeReply,
  startFakeGemini,
} from '../../../../../dev/fake-gemini';
import { defined } from '../../../../helpers/guards';
import { FAKE_CALL_ARGS, FAKE_CALL_ID, toolCallingGemini } from '../../../../helpers/gemini-native-replies';
import { startShardWorker, type ShardWorkerHarness } from '../../../../helpers/shard-worker';

const PASS = 'responses-sdk-password';
const KEYS = ['responses-key-one', 'responses-key-two'];
const MODEL = 'gemini-3.8-flash';

let fake: FakeGemini;
let h: ShardWorkerHarness;
let client: OpenAI;
/** the fake's native replies for the test that sets it; undefined leaves every call to the fake */
let scripted: NativeReply | undefined;

beforeAll(async () => {
  fake = await startFakeGemini({ nativeReply: (model, action, body) => scripted?.(model, action, body) });
  h = await startShardWorker({ keys: KEYS, pass: PASS, fake });
  client = new OpenAI({ apiKey: PASS, baseURL: `${h.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await h.close();
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  scripted = undefined;
});

interface UpstreamBody {
  contents: { role: string; parts: Record<string, unknown>[] }[];
  systemInstruction?: { parts: { text: string }[] };
  tools?: Record<string, unknown>[];
  generationConfig?: Record<string, unknown>;
}

function upstreamBody(index = 0): UpstreamBody {
  return JSON.parse(defined(fake.calls[index], `upstream call ${index}`).body) as UpstreamBody;
}

/** The text of a response's messages (the SDK computes `output_text` only for `responses.create`). */
function textOf(response: OpenAI.Responses.Response): string {
  return response.output
    .flatMap((item) => (item.type === 'message' ? item.content : []))
    .map((part) => (part.type === 'output_text' ? part.text : ''))
    .join('');
}

const weatherTool: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather in a city.',
  strict: false,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('responses.create', () => {
  it("answers with Gemini's text, translated from the native API, on a pool key", async () => {
    const response = await client.responses.create({ model: MODEL, instructions: 'Be brief.', input: 'Say hello' });
    expect(response).toMatchObject({ object: 'response', status: 'completed', model: MODEL, store: false });
    expect(response.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(response.output_text).toBe(FAKE_REPLY_TEXT);
    expect(response.output).toEqual([
      {
        type: 'message',
        id: expect.stringMatching(/^msg_/),
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: FAKE_REPLY_TEXT, annotations: [] }],
      },
    ]);
    // the fake counts a word as a token, system instruction included: "Be brief." and "Say hello"
    expect(response.usage).toMatchObject({ input_tokens: 4, output_tokens: 4, total_tokens: 8 });
    const call = defined(fake.calls[0], 'the upstream call');
    expect(call.path).toBe(`/v1beta/models/${MODEL}:generateContent`);
    expect(KEYS).toContain(call.headers['x-goog-api-key']);
    expect(JSON.stringify(call.headers)).not.toContain(PASS);
    expect(upstreamBody()).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
    });
  });

  it('streams the event sequence the SDK accumulates, numbered, as Gemini streams', async () => {
    fake.configure({ streamChunks: 4 });
    const stream = await client.responses.create({ model: MODEL, input: 'Say hello', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []));
    expect(deltas.join('')).toBe(FAKE_REPLY_TEXT);
    const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(completed.response.output_text ?? completed.response.output).toBeDefined();
    expect(completed.response.usage?.output_tokens).toBe(4);
    expect(defined(fake.calls[0], 'the call').path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent`);
    expect(defined(fake.calls[0], 'the call').search).toBe('?alt=sse');
  });

  it('gives the responses.stream() helper its text deltas and a complete final response', async () => {
    const stream = client.responses.stream({ model: MODEL, input: [{ role: 'user', content: 'Say hello' }] });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(deltas.join('')).toBe(FAKE_REPLY_TEXT);
    expect(final.status).toBe('completed');
    expect(textOf(final)).toBe(FAKE_REPLY_TEXT);
  });
});

describe('a function tool across turns', () => {
  beforeEach(() => {
    scripted = toolCallingGemini;
  });

  async function roundTrip(
    stream: boolean,
  ): Promise<{ first: OpenAI.Responses.Response; second: OpenAI.Responses.Response }> {
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'Weather in Paris?' }];
    const create = async (items: OpenAI.Responses.ResponseInput) =>
      stream
        ? client.responses.stream({ model: MODEL, input: items, tools: [weatherTool] }).finalResponse()
        : client.responses.create({ model: MODEL, input: items, tools: [weatherTool] });
    const first = await create(input);
    const call = first.output.find((item) => item.type === 'function_call');
    if (call?.type !== 'function_call') throw new Error('no function call in the first response');
    // the client sends back what it received, and the function's output for the call
    const second = await create([
      ...input,
      ...(first.output as OpenAI.Responses.ResponseInputItem[]),
      { type: 'function_call_output', call_id: call.call_id, output: '{"temperature":21}' },
    ]);
    return { first, second };
  }

  it.each([false, true])('carries the thought signature in a reasoning item and back (stream: %p)', async (stream) => {
    const { first, second } = await roundTrip(stream);
    expect(first.output.map((item) => item.type)).toEqual(['reasoning', 'function_call']);
    const call = first.output[1] as OpenAI.Responses.ResponseFunctionToolCall;
    expect(call).toMatchObject({ name: 'get_weather', arguments: JSON.stringify(FAKE_CALL_ARGS), status: 'completed' });
    expect(call.call_id).toMatch(/^call_/);
    const reasoning = first.output[0] as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.encrypted_content).toMatch(/^zr1\./);
    // the fake answers 400, as Gemini 3 does, unless the call comes back with its signature and its id
    expect(second.status).toBe('completed');
    expect(textOf(second)).toBe(`${FAKE_REPLY_TEXT}: tool said {"output":"{\\"temperature\\":21}"}`);
    const history = upstreamBody(1).contents;
    expect(history[1]).toEqual({
      role: 'model',
      parts: [
        {
          functionCall: { name: 'get_weather', args: FAKE_CALL_ARGS, id: FAKE_CALL_ID },
          thoughtSignature: FAKE_THOUGHT_SIGNATURE,
        },
      ],
    });
    expect(history[2]).toEqual({
      role: 'user',
      parts: [
        {
          functionResponse: { name: 'get_weather', id: FAKE_CALL_ID, response: { output: '{"temperature":21}' } },
        },
      ],
    });
  });

  it('declares the function with its full JSON Schema', async () => {
    await client.responses.create({ model: MODEL, input: 'Weather?', tools: [weatherTool] });
    expect(upstreamBody().tools).toEqual([
      {
        functionDeclarations: [
          { name: 'get_weather', description: 'The weather in a city.', parametersJsonSchema: weatherTool.parameters },
        ],
      },
    ]);
  });
});

describe('JSON-schema output', () => {
  const schema = {
    type: 'object',
    properties: { city: { type: 'string' }, sunny: { type: 'boolean' } },
    required: ['city', 'sunny'],
    additionalProperties: false,
  };

  it('asks Gemini for JSON by schema, and the SDK parses the answer', async () => {
    scripted = (model, action, body) => {
      const config = body.generationConfig as { responseMimeType?: string } | undefined;
      if (config?.responseMimeType !== 'application/json') return undefined;
      const reply = {
        candidates: [
          { content: { role: 'model', parts: [{ text: '{"city":"Paris","sunny":true}' }] }, finishReason: 'STOP' },
        ],
        usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 7 },
        modelVersion: model,
      };
      return action === 'streamGenerateContent' ? [reply] : reply;
    };
    const parsed = await client.responses.parse({
      model: MODEL,
      input: 'Weather in Paris as JSON',
      text: { format: { type: 'json_schema', name: 'weather', schema, strict: true } },
    });
    expect(parsed.output_parsed).toEqual({ city: 'Paris', sunny: true });
    expect(upstreamBody().generationConfig).toEqual({
      responseMimeType: 'application/json',
      responseJsonSchema: schema,
    });
  });
});

describe('errors, as the SDK raises them', () => {
  it('401 for a wrong password, before anything goes upstream', async () => {
    const wrong = new OpenAI({ apiKey: 'nope', baseURL: `${h.url}/v1`, maxRetries: 0 });
    await expect(wrong.responses.create({ model: MODEL, input: 'hi' })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
    expect(fake.calls).toHaveLength(0);
  });

  it('404 for a model that is not Gemini, naming one that is', async () => {
    const error = await client.responses.create({ model: 'gpt-5', input: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((error as Error).message).toContain('gemini-3.8-flash');
    expect(fake.calls).toHaveLength(0);
  });

  it("404 for a Gemini model Google does not serve, with Google's message", async () => {
    const error = await client.responses.create({ model: 'gemini-0-nothing', input: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as Error).message).toContain('models/gemini-0-nothing is not found');
  });

  it.each([
    ['previous_response_id', { previous_response_id: 'resp_123' }, 'previous_response_not_found'],
    ['store: true', { store: true }, 'store_not_supported'],
    ['background', { background: true }, 'background_not_supported'],
  ])('400 for %s, which needs state: resend the input with store: false', async (_label, extra, code) => {
    const error = await client.responses.create({ model: MODEL, input: 'hi', ...extra }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe(code);
    expect((error as Error).message).toContain('store: false');
    expect(fake.calls).toHaveLength(0);
  });

  it('404 for a stored response, saying none is stored', async () => {
    const error = await client.responses.retrieve('resp_abc').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as Error).message).toContain('stores no responses');
    await expect(client.responses.delete('resp_abc')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('400 naming the field the gateway cannot honour', async () => {
    const error = await client.responses
      .create({ model: MODEL, input: 'hi', tools: [{ type: 'file_search', vector_store_ids: ['vs_1'] }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('tools[0].type');
    expect((error as Error).message).toContain('"file_search" is a tool OpenAI runs itself');
  });

  it("redacts the key from Google's error, and never logs a key or the password", async () => {
    fake.setDefaultBehaviour('denied-quoting-key');
    const error = await client.responses.create({ model: MODEL, input: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const text = JSON.stringify((error as InstanceType<typeof OpenAI.APIError>).error);
    for (const secret of [...KEYS, PASS]) {
      expect(text).not.toContain(secret);
      expect(h.logs.map((l) => l.message).join('\n')).not.toContain(secret);
    }
  });

  it('ends a stream Gemini breaks off with response.failed, which the SDK hands over', async () => {
    fake.setDefaultBehaviour('malformed-json');
    const stream = await client.responses.create({ model: MODEL, input: 'hi', stream: true });
    const types: string[] = [];
    let failed: OpenAI.Responses.ResponseFailedEvent | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.failed') failed = event;
    }
    expect(types.slice(-2)).toEqual(['error', 'response.failed']);
    expect(failed?.response).toMatchObject({ status: 'failed', error: { code: 'server_error' } });
    // the line is written once the stream has ended, which the client may see first
    await h.waitForLog((l) => l.event === 'stream_error' && l.route === 'responses.create');
  });
});

describe("the key pool's refusals", () => {
  const POOL_KEYS = ['responses-pool-one', 'responses-pool-two'];
  let pool: ShardWorkerHarness;
  let poolClient: OpenAI;
  beforeAll(async () => {
    pool = await startShardWorker({ keys: POOL_KEYS, pass: PASS, fake });
    poolClient = new OpenAI({ apiKey: PASS, baseURL: `${pool.url}/v1`, maxRetries: 0 });
  });
  afterAll(() => pool.close());

  it('429 with retry-after once every key is rate limited', async () => {
    for (const key of POOL_KEYS) fake.setKeyBehaviour(key, 'quota-minute');
    const error = await poolClient.responses.create({ model: MODEL, input: 'hi' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(Number((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get('retry-after'))).toBeGreaterThan(
      0,
    );
  });

  it('503 once every key is rejected by Google', async () => {
    for (const key of POOL_KEYS) fake.setKeyBehaviour(key, 'invalid-key');
    // another model than the one the keys cool for above
    const error = await poolClient.responses
      .create({ model: 'gemini-3.5-flash', input: 'hi' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
  });
});

describe('413', () => {
  let small: ShardWorkerHarness;
  beforeAll(async () => {
    small = await startShardWorker({ keys: KEYS, pass: PASS, fake, bindings: { MAX_BODY_BYTES: '1000' } });
  });
  afterAll(() => small.close());

  it('refuses a body over MAX_BODY_BYTES before anything goes upstream', async () => {
    const tight = new OpenAI({ apiKey: PASS, baseURL: `${small.url}/v1`, maxRetries: 0 });
    const error = await tight.responses.create({ model: MODEL, input: 'x'.repeat(2000) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect(fake.calls).toHaveLength(0);
  });
});
