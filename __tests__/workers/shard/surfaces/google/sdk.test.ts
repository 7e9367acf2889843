/**
 * The shard worker in workerd, driven by the real client libraries people point at it: the `openai` SDK and
 * `@google/genai`, against the fake Gemini on 127.0.0.1.
 */
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import {
  FAKE_IMAGE_B64,
  FAKE_IMAGE_MODEL,
  FAKE_REPLY_TEXT,
  FAKE_THOUGHT_SIGNATURE,
  fakeEmbeddingValues,
} from '../../../../../dev/fake-gemini';
import { defined } from '../../../../helpers/guards';
import { startShardWorker, type ShardWorkerHarness } from '../../../../helpers/shard-worker';

const PASS = 'sdk-test-password';
const KEYS = ['sdk-key-one', 'sdk-key-two'];

let h: ShardWorkerHarness;
let openai: OpenAI;
let genai: GoogleGenAI;

beforeAll(async () => {
  h = await startShardWorker({ keys: KEYS, pass: PASS });
  openai = new OpenAI({ apiKey: PASS, baseURL: `${h.url}/v1`, maxRetries: 0 });
  genai = new GoogleGenAI({ apiKey: PASS, httpOptions: { baseUrl: h.url } });
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Say hello' }];
const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

describe('openai SDK', () => {
  it('completes a chat, sending a pool key (never the password) as Bearer to the compat endpoint', async () => {
    const completion = await openai.chat.completions.create({ model: 'gemini-3.8-flash', messages });
    expect(completion.choices[0]?.message.content).toBe(FAKE_REPLY_TEXT);
    expect(h.fake.calls).toHaveLength(1);
    const call = defined(h.fake.calls[0], 'the upstream call');
    expect(call.path).toBe('/v1beta/openai/chat/completions');
    expect(KEYS).toContain(call.apiKey);
    expect(JSON.stringify(call.headers)).not.toContain(PASS);
  });

  it('streams chunks as they arrive (for await)', async () => {
    h.fake.configure({ streamChunks: 5, chunkDelayMs: 10 });
    const stream = await openai.chat.completions.create({ model: 'gemini-3.8-flash', messages, stream: true });
    const pieces: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      pieces.push(chunk.choices[0]?.delta.content ?? '');
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(pieces.filter(Boolean)).toHaveLength(5);
    expect(pieces.join('')).toBe(FAKE_REPLY_TEXT);
    expect(finish).toBe('stop');
  });

  it('gives the .stream() helper a complete final message', async () => {
    const stream = openai.chat.completions.stream({ model: 'gemini-3.8-flash', messages });
    const final = await stream.finalChatCompletion();
    const choice = defined(final.choices[0], 'a choice');
    expect(choice.message).toMatchObject({ role: 'assistant', content: FAKE_REPLY_TEXT });
    expect(choice.finish_reason).toBe('stop');
  });

  it('round-trips a tool call with its extra_content thought signature intact', async () => {
    const first = await openai.chat.completions.create({ model: 'gemini-3.8-flash', messages, tools: [weatherTool] });
    const assistant = defined(first.choices[0], 'a choice').message;
    const call = defined(assistant.tool_calls?.[0], 'a tool call') as OpenAI.ChatCompletionMessageToolCall & {
      extra_content?: { google?: { thought_signature?: string } };
    };
    expect(call.extra_content?.google?.thought_signature).toBe(FAKE_THOUGHT_SIGNATURE);
    // the fake answers 400 (as Gemini 3 does) if the signature did not survive the trip back
    const second = await openai.chat.completions.create({
      model: 'gemini-3.8-flash',
      tools: [weatherTool],
      messages: [...messages, assistant, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
    });
    expect(second.choices[0]?.message.content).toBe(`${FAKE_REPLY_TEXT}: tool said sunny`);
    expect(
      JSON.parse(defined(h.fake.calls[1], 'the second call').body).messages[1].tool_calls[0].extra_content.google
        .thought_signature,
    ).toBe(FAKE_THOUGHT_SIGNATURE);
  });

  it('streams a tool call the .stream() helper can assemble', async () => {
    const final = await openai.chat.completions
      .stream({ model: 'gemini-3.8-flash', messages, tools: [weatherTool] })
      .finalChatCompletion();
    expect(final.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      id: 'call_fake_0001',
      type: 'function',
      function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
    });
  });

  it('returns exact embeddings with the SDK default (base64 on the wire), asking Google for floats', async () => {
    const wire: unknown[] = [];
    const recording = new OpenAI({
      apiKey: PASS,
      baseURL: `${h.url}/v1`,
      maxRetries: 0,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        wire.push(await response.clone().json());
        return response;
      },
    });
    const res = await recording.embeddings.create({ model: 'gemini-embedding-001', input: ['a', 'b'] });
    expect(res.data.map((d) => d.embedding)).toEqual([fakeEmbeddingValues(0), fakeEmbeddingValues(1)]);
    // the SDK asked for base64 itself and decoded the strings the worker sent
    expect(wire).toMatchObject([{ data: [{ embedding: expect.any(String) }, { embedding: expect.any(String) }] }]);
    const upstream = JSON.parse(defined(h.fake.calls[0], 'the upstream call').body) as Record<string, unknown>;
    expect(upstream).not.toHaveProperty('encoding_format');
  });

  it('answers floats to a client that sends no encoding_format (curl, hand-written clients), as OpenAI does', async () => {
    const res = await fetch(`${h.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-embedding-001', input: ['a', 'b'] }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: { embedding: unknown }[] };
    expect(body.data.map((d) => d.embedding)).toEqual([fakeEmbeddingValues(0), fakeEmbeddingValues(1)]);
  });

  it('returns exact embeddings with encoding_format float', async () => {
    const res = await openai.embeddings.create({
      model: 'gemini-embedding-001',
      input: 'a',
      encoding_format: 'float',
      dimensions: 6,
    });
    expect(res.data[0]?.embedding).toEqual(fakeEmbeddingValues(0, 6));
  });

  it('lists and retrieves models', async () => {
    const ids: string[] = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids).toContain('models/gemini-3.8-flash');
    expect((await openai.models.retrieve('gemini-3.1-pro-preview')).id).toBe('models/gemini-3.1-pro-preview');
  });

  it('generates images (Imagen) through the compat endpoint, the body forwarded as sent', async () => {
    const res = await openai.images.generate({
      model: FAKE_IMAGE_MODEL,
      prompt: 'a sheepadoodle in a cape',
      response_format: 'b64_json',
      n: 2,
    });
    expect(res.data?.map((d) => d.b64_json)).toEqual([FAKE_IMAGE_B64, FAKE_IMAGE_B64]);
    expect(Buffer.from(defined(res.data?.[0]?.b64_json, 'an image'), 'base64').subarray(1, 4).toString()).toBe('PNG');
    const call = defined(h.fake.calls[0], 'the upstream call');
    expect(call.path).toBe('/v1beta/openai/images/generations');
    expect(KEYS).toContain(call.apiKey);
    expect(JSON.parse(call.body)).toEqual({
      model: FAKE_IMAGE_MODEL,
      prompt: 'a sheepadoodle in a cape',
      response_format: 'b64_json',
      n: 2,
    });
  });

  it('fails an image generation over from a rate-limited key, cooling that key for the image model only', async () => {
    const [limited, healthy] = KEYS;
    h.fake.setKeyBehaviour(defined(limited, 'a key'), 'quota-minute');
    // the first pick is random: generate until the limited key has been tried
    for (let i = 0; i < 40 && !h.fake.calls.some((c) => c.apiKey === limited); i++) {
      const res = await openai.images.generate(
        { model: FAKE_IMAGE_MODEL, prompt: 'a cat' },
        { headers: { 'x-request-id': `sdk-images-${i}` } },
      );
      expect(res.data?.[0]?.b64_json).toBe(FAKE_IMAGE_B64);
    }
    const keysCalled = h.fake.calls.map((c) => c.apiKey);
    expect(keysCalled.filter((k) => k === limited)).toHaveLength(1);
    // the refused call was retried at once on the other key
    expect(keysCalled[keysCalled.indexOf(limited) + 1]).toBe(healthy);
    expect(h.fake.calls.every((c) => c.path === '/v1beta/openai/images/generations')).toBe(true);
    const cooldown = h.jsonLogs().find((l) => l.event === 'key_cooldown');
    expect(cooldown).toMatchObject({ model: FAKE_IMAGE_MODEL });
  });

  it("raises an OpenAI error carrying Google's message when Google refuses an image request", async () => {
    h.fake.setDefaultBehaviour('bad-request-400');
    const err = await openai.images.generate({ model: FAKE_IMAGE_MODEL, prompt: 'a cat' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', type: 'invalid_request_error' });
    expect(h.fake.calls).toHaveLength(1);
  });

  it('raises AuthenticationError for a wrong password, without calling Google', async () => {
    const wrong = new OpenAI({ apiKey: 'not-the-password', baseURL: `${h.url}/v1`, maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toMatchObject({
      status: 401,
      code: 'invalid_api_key',
      type: 'authentication_error',
    });
    expect(h.fake.calls).toHaveLength(0);
  });

  it('raises NotFoundError for an unknown path', async () => {
    await expect(openai.get('/assistants')).rejects.toMatchObject({ status: 404, code: 'unknown_url' });
    expect(h.fake.calls).toHaveLength(0);
  });

  it("raises BadRequestError carrying Google's message when Google rejects the request", async () => {
    h.fake.setDefaultBehaviour('bad-request-400');
    const err = await openai.chat.completions.create({ model: 'gemini-3.8-flash', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', type: 'invalid_request_error' });
    expect((err as Error).message).toMatch(/the fake was told to reject this request/);
  });

  it('raises RateLimitError with retry-after once every key is cooling (scoped to that model)', async () => {
    h.fake.setDefaultBehaviour('quota-minute');
    const err = await openai.chat.completions
      .create({ model: 'gemini-3.1-pro-preview', messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err).toMatchObject({ status: 429, code: 'all_keys_cooling' });
    expect(
      Number((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')),
    ).toBeGreaterThanOrEqual(16);
    expect(h.fake.calls).toHaveLength(2);
    // both keys still serve the other model
    h.fake.setDefaultBehaviour('ok');
    const flashKeys = new Set<string | undefined>();
    for (let i = 0; i < 40 && flashKeys.size < KEYS.length; i++) {
      const reply = await openai.chat.completions.create({ model: 'gemini-3.8-flash', messages });
      expect(reply.choices[0]?.message.content).toBe(FAKE_REPLY_TEXT);
      flashKeys.add(h.fake.calls.at(-1)?.apiKey);
    }
    expect(flashKeys).toEqual(new Set(KEYS));
  });

  it('stops the SDK from retrying when every key is out for the day (x-should-retry: false)', async () => {
    h.fake.setDefaultBehaviour('quota-day');
    const retrying = new OpenAI({ apiKey: PASS, baseURL: `${h.url}/v1`, maxRetries: 2 });
    const err = await retrying.chat.completions
      .create({ model: 'gemini-2.0-flash', messages })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, code: 'daily_quota_exhausted' });
    const headers = (err as InstanceType<typeof OpenAI.RateLimitError>).headers;
    expect(headers.get('x-should-retry')).toBe('false');
    expect(Number(headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(headers.get('retry-after'))).toBeLessThanOrEqual(25 * 3600);
    // one call per key, and no SDK retries on top
    expect(h.fake.calls).toHaveLength(KEYS.length);
  });
});

describe('@google/genai', () => {
  it('generateContent with the password in x-goog-api-key, forwarded with a pool key', async () => {
    const res = await genai.models.generateContent({ model: 'gemini-3.8-flash', contents: 'Say hello' });
    expect(res.text).toBe(FAKE_REPLY_TEXT);
    const call = defined(h.fake.calls[0], 'the upstream call');
    expect(call.path).toBe('/v1beta/models/gemini-3.8-flash:generateContent');
    expect(call.headers['x-goog-api-key']).toBeDefined();
    expect(KEYS).toContain(call.headers['x-goog-api-key']);
    expect(call.search).toBe('');
  });

  it('generateContentStream yields the chunks in order', async () => {
    h.fake.configure({ streamChunks: 4 });
    const pieces: string[] = [];
    for await (const chunk of await genai.models.generateContentStream({
      model: 'gemini-3.8-flash',
      contents: 'Say hello',
    })) {
      pieces.push(chunk.text ?? '');
    }
    expect(pieces).toHaveLength(4);
    expect(pieces.join('')).toBe(FAKE_REPLY_TEXT);
    expect(h.fake.calls[0]?.search).toBe('?alt=sse');
  });

  it('countTokens', async () => {
    const res = await genai.models.countTokens({ model: 'gemini-3.8-flash', contents: 'one two three' });
    expect(res.totalTokens).toBe(3);
  });

  it('embedContent returns the exact values', async () => {
    const res = await genai.models.embedContent({ model: 'gemini-embedding-001', contents: 'hello' });
    expect(res.embeddings?.[0]?.values).toEqual(fakeEmbeddingValues(0));
  });

  it('a wrong password is an ApiError 401 and reaches nobody', async () => {
    const wrong = new GoogleGenAI({ apiKey: 'nope', httpOptions: { baseUrl: h.url } });
    await expect(wrong.models.generateContent({ model: 'gemini-3.8-flash', contents: 'x' })).rejects.toMatchObject({
      status: 401,
    });
    expect(h.fake.calls).toHaveLength(0);
  });
});
