/**
 * The Vercel AI SDK (`ai` 6) through the prod stack `cdktf synth` produces, emulated in workerd, with each provider
 * docs/clients.md names configured as it says: the default OpenAI provider `createOpenAI` (`@ai-sdk/openai`, the
 * Responses API), `createOpenAICompatible` (`@ai-sdk/openai-compatible`, chat completions and embeddings) and
 * `createGoogleGenerativeAI` (`@ai-sdk/google`, Gemini's native API). For each: text whole and streamed, a tool loop
 * whose Gemini 3 thought signature survives the trip through the SDK and back, and embeddings where the provider has
 * them. The SDK checks every answer against its own schemas, so a field it expects and does not find fails here. The
 * fake calls a function on request (`scriptedCalls`: a `CALL <function> <JSON>` line in the prompt) on the native
 * routes, and whenever tools are offered on the OpenAI-compatible one.
 */
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { embed, generateText, type LanguageModel, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import {
  FAKE_REPLY_TEXT,
  FAKE_THOUGHT_SIGNATURE,
  fakeEmbeddingValues,
  SCRIPTED_CALL_ID,
  scriptedCalls,
} from '../../dev/fake-gemini';
import { defined } from '../helpers/guards';
import {
  awaitRequestLines,
  expectPoolKeysOnly,
  type ProdTopology,
  withProdTopology,
} from '../helpers/prod-topology-clients';

const PASS = 'canary-pass-ai-sdk';
const MODEL = 'gemini-3.8-flash';
const EMBEDDING_MODEL = 'gemini-embedding-001';
const CALL_PROMPT = 'Weather in Paris?\nCALL get_weather {"city":"Paris"}';

jest.setTimeout(60_000);

let gateway: ProdTopology;

withProdTopology(
  (started) => {
    gateway = started;
  },
  'ai-sdk',
  PASS,
  12,
  { nativeReply: scriptedCalls },
);

/** The one tool every loop offers; it records the cities it was asked about. */
function weatherTool(cities: string[]) {
  return tool({
    description: 'The weather in a city.',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      cities.push(city);
      return { temperature: 21 };
    },
  });
}

async function streamedText(model: LanguageModel): Promise<string[]> {
  const result = streamText({ model, prompt: 'Say hello', maxRetries: 0 });
  const pieces: string[] = [];
  for await (const piece of result.textStream) pieces.push(piece);
  expect(await result.finishReason).toBe('stop');
  return pieces.filter(Boolean);
}

/** What the client sent the gateway, method, path and status, with the header that carried the password. */
function sent(header: 'authorization' | 'x-goog-api-key'): string[] {
  return gateway.requests.map((r) => `${r.method} ${r.path} ${r.status} ${String(r.headers[header])}`);
}

/** The parts of the `index`-th upstream call's contents. */
function upstreamParts(index: number): Record<string, unknown>[] {
  const body = JSON.parse(defined(gateway.fake.calls[index], `upstream call ${index}`).body) as {
    contents: { parts: Record<string, unknown>[] }[];
  };
  return body.contents.flatMap((c) => c.parts);
}

describe('the default openai() provider (Responses API)', () => {
  const openai = () => createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: PASS });

  it('generates and streams text through POST /v1/responses', async () => {
    const { text } = await generateText({ model: openai()(MODEL), prompt: 'Say hello', maxRetries: 0 });
    expect(text).toBe(FAKE_REPLY_TEXT);
    expect((await streamedText(openai()(MODEL))).join('')).toBe(FAKE_REPLY_TEXT);
    expect(sent('authorization')).toEqual([
      `POST /v1/responses 200 Bearer ${PASS}`,
      `POST /v1/responses 200 Bearer ${PASS}`,
    ]);
    expect(gateway.fake.calls.map((c) => c.path)).toEqual([
      `/v1beta/models/${MODEL}:generateContent`,
      `/v1beta/models/${MODEL}:streamGenerateContent`,
    ]);
    expectPoolKeysOnly(gateway, PASS);
    expect((await awaitRequestLines(gateway.logs, 2)).map((l) => l.route)).toEqual([
      'responses.create',
      'responses.create',
    ]);
  });

  it('runs a tool loop with store: false, the thought signature carried through the SDK and back', async () => {
    const cities: string[] = [];
    const result = await generateText({
      model: openai()(MODEL),
      prompt: CALL_PROMPT,
      tools: { get_weather: weatherTool(cities) },
      stopWhen: stepCountIs(3),
      providerOptions: { openai: { store: false } },
      maxRetries: 0,
    });
    expect(cities).toEqual(['Paris']);
    expect(result.text).toContain(`${FAKE_REPLY_TEXT}: get_weather returned`);
    expect(upstreamParts(1).find((p) => p.functionCall !== undefined)).toEqual({
      functionCall: { name: 'get_weather', args: { city: 'Paris' }, id: SCRIPTED_CALL_ID },
      thoughtSignature: FAKE_THOUGHT_SIGNATURE,
    });
    expectPoolKeysOnly(gateway, PASS);
  });
});

describe('createOpenAICompatible (chat completions, embeddings)', () => {
  // named `google`: the provider keeps a call's signature under its own name but sends back only one under `google`
  const compatible = (name = 'google') => createOpenAICompatible({ name, baseURL: `${gateway.url}/v1`, apiKey: PASS });

  it('generates and streams text through POST /v1/chat/completions', async () => {
    const { text } = await generateText({ model: compatible()(MODEL), prompt: 'Say hello', maxRetries: 0 });
    expect(text).toBe(FAKE_REPLY_TEXT);
    expect((await streamedText(compatible()(MODEL))).join('')).toBe(FAKE_REPLY_TEXT);
    expect(sent('authorization')).toEqual([
      `POST /v1/chat/completions 200 Bearer ${PASS}`,
      `POST /v1/chat/completions 200 Bearer ${PASS}`,
    ]);
    expect(gateway.fake.calls.map((c) => c.path)).toEqual([
      '/v1beta/openai/chat/completions',
      '/v1beta/openai/chat/completions',
    ]);
    expectPoolKeysOnly(gateway, PASS);
  });

  it("runs a tool loop, sending the call's extra_content thought signature back", async () => {
    const cities: string[] = [];
    const result = await generateText({
      model: compatible()(MODEL),
      prompt: 'Weather in Paris?',
      tools: { get_weather: weatherTool(cities) },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    expect(cities).toEqual(['Paris']);
    expect(result.text).toBe(`${FAKE_REPLY_TEXT}: tool said {"temperature":21}`);
    const second = JSON.parse(defined(gateway.fake.calls[1], 'the second call').body) as {
      messages: { role: string; tool_calls?: { extra_content?: unknown }[] }[];
    };
    expect(second.messages.find((m) => m.role === 'assistant')?.tool_calls?.[0]?.extra_content).toEqual({
      google: { thought_signature: FAKE_THOUGHT_SIGNATURE },
    });
  });

  it("under another name drops the signature, and Gemini 3's 400 for it reaches the SDK", async () => {
    const result = generateText({
      model: compatible('zen')(MODEL),
      prompt: 'Weather in Paris?',
      tools: { get_weather: weatherTool([]) },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    await expect(result).rejects.toThrow('Function call is missing a thought_signature');
    expect(gateway.requests.map((r) => r.status)).toEqual([200, 400]);
  });

  it('embeds through POST /v1/embeddings', async () => {
    const { embedding } = await embed({
      model: compatible().embeddingModel(EMBEDDING_MODEL),
      value: 'hello',
      maxRetries: 0,
    });
    expect(embedding).toEqual(fakeEmbeddingValues(0));
    expect(sent('authorization')).toEqual([`POST /v1/embeddings 200 Bearer ${PASS}`]);
    expectPoolKeysOnly(gateway, PASS);
  });
});

describe('createGoogleGenerativeAI (native API)', () => {
  const google = () => createGoogleGenerativeAI({ baseURL: `${gateway.url}/v1beta`, apiKey: PASS });

  it('generates and streams text through the native routes, the password in x-goog-api-key', async () => {
    const { text } = await generateText({ model: google()(MODEL), prompt: 'Say hello', maxRetries: 0 });
    expect(text).toBe(FAKE_REPLY_TEXT);
    expect((await streamedText(google()(MODEL))).join('')).toBe(FAKE_REPLY_TEXT);
    expect(sent('x-goog-api-key')).toEqual([
      `POST /v1beta/models/${MODEL}:generateContent 200 ${PASS}`,
      `POST /v1beta/models/${MODEL}:streamGenerateContent?alt=sse 200 ${PASS}`,
    ]);
    expectPoolKeysOnly(gateway, PASS);
    expect((await awaitRequestLines(gateway.logs, 2)).map((l) => l.route)).toEqual([
      'native.generateContent',
      'native.streamGenerateContent',
    ]);
  });

  it('runs a tool loop, the thought signature carried through the SDK and back', async () => {
    const cities: string[] = [];
    const result = await generateText({
      model: google()(MODEL),
      prompt: CALL_PROMPT,
      tools: { get_weather: weatherTool(cities) },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    expect(cities).toEqual(['Paris']);
    expect(result.text).toContain(`${FAKE_REPLY_TEXT}: get_weather returned`);
    expect(upstreamParts(1).find((p) => p.functionCall !== undefined)).toMatchObject({
      functionCall: { name: 'get_weather', args: { city: 'Paris' } },
      thoughtSignature: FAKE_THOUGHT_SIGNATURE,
    });
  });

  it('embeds through the native embedding route', async () => {
    const { embedding } = await embed({
      model: google().embeddingModel(EMBEDDING_MODEL),
      value: 'hello',
      maxRetries: 0,
    });
    expect(embedding).toEqual(fakeEmbeddingValues(0));
    expect(gateway.requests.map((r) => r.path)).toEqual([`/v1beta/models/${EMBEDDING_MODEL}:embedContent`]);
    expectPoolKeysOnly(gateway, PASS);
  });
});
