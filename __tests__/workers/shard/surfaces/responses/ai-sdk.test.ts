/**
 * The Vercel AI SDK's default OpenAI provider (`createOpenAI(...)(model)`, which speaks the Responses API) against
 * the shard worker in workerd: text whole and streamed, a tool loop across steps (the SDK sends the reasoning item
 * back as a reference, so the call goes back with Google's placeholder signature), and structured output. The SDK
 * checks every answer against its own schemas, so a field it expects and does not find fails here.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, Output, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { FAKE_REPLY_TEXT, type FakeGemini, type NativeReply, startFakeGemini } from '../../../../../dev/fake-gemini';
import { SKIP_SIGNATURE_VALIDATOR } from '../../../../../workers/shard/surfaces/anthropic/request-translation';
import { defined } from '../../../../helpers/guards';
import { FAKE_CALL_ARGS, FAKE_CALL_ID, toolCallingGemini } from '../../../../helpers/gemini-native-replies';
import { startShardWorker, type ShardWorkerHarness } from '../../../../helpers/shard-worker';

const PASS = 'responses-ai-sdk-password';
const MODEL = 'gemini-3.8-flash';

let fake: FakeGemini;
let h: ShardWorkerHarness;
let openai: ReturnType<typeof createOpenAI>;
let scripted: NativeReply | undefined;

beforeAll(async () => {
  fake = await startFakeGemini({ nativeReply: (model, action, body) => scripted?.(model, action, body) });
  h = await startShardWorker({ keys: ['ai-sdk-key-one', 'ai-sdk-key-two'], pass: PASS, fake });
  openai = createOpenAI({ baseURL: `${h.url}/v1`, apiKey: PASS });
});
afterAll(async () => {
  await h.close();
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  scripted = undefined;
});

describe('the AI SDK openai() provider', () => {
  it('generates text through POST /v1/responses', async () => {
    const result = await generateText({
      model: openai(MODEL),
      system: 'Be brief.',
      prompt: 'Say hello',
      maxRetries: 0,
    });
    expect(result.text).toBe(FAKE_REPLY_TEXT);
    expect(result.finishReason).toBe('stop');
    // the fake counts a word as a token, system instruction included: "Be brief." and "Say hello"
    expect(result.usage).toMatchObject({ inputTokens: 4, outputTokens: 4 });
    expect(defined(fake.calls[0], 'the upstream call').path).toBe(`/v1beta/models/${MODEL}:generateContent`);
  });

  it('streams text as Gemini streams it', async () => {
    fake.configure({ streamChunks: 5 });
    const result = streamText({ model: openai(MODEL), prompt: 'Say hello', maxRetries: 0 });
    const pieces: string[] = [];
    for await (const piece of result.textStream) pieces.push(piece);
    expect(pieces.filter(Boolean)).toHaveLength(5);
    expect(pieces.join('')).toBe(FAKE_REPLY_TEXT);
    expect(await result.finishReason).toBe('stop');
  });

  it('runs a tool loop across steps', async () => {
    scripted = toolCallingGemini;
    const cities: string[] = [];
    const result = await generateText({
      model: openai(MODEL),
      prompt: 'Weather in Paris?',
      tools: {
        get_weather: tool({
          description: 'The weather in a city.',
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => {
            cities.push(city);
            return { temperature: 21 };
          },
        }),
      },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    expect(cities).toEqual([FAKE_CALL_ARGS.city]);
    expect(result.steps).toHaveLength(2);
    expect(result.text).toBe(`${FAKE_REPLY_TEXT}: tool said {"output":"{\\"temperature\\":21}"}`);
    const second = JSON.parse(defined(fake.calls[1], 'the second call').body) as {
      contents: { parts: { functionCall?: { id?: string }; thoughtSignature?: string }[] }[];
    };
    // the SDK sends the reasoning item back by reference only (it defaults to store: true), so Google's placeholder
    // stands in for the signature; the call id still comes back inside the call_id
    expect(second.contents[1]?.parts[0]).toMatchObject({
      functionCall: { id: FAKE_CALL_ID },
      thoughtSignature: SKIP_SIGNATURE_VALIDATOR,
    });
  });

  it('gives structured output by JSON schema', async () => {
    scripted = (model, action, body) => {
      const config = body.generationConfig as { responseMimeType?: string } | undefined;
      if (config?.responseMimeType !== 'application/json') return undefined;
      const reply = {
        candidates: [
          { content: { role: 'model', parts: [{ text: '{"city":"Paris","sunny":true}' }] }, finishReason: 'STOP' },
        ],
        modelVersion: model,
      };
      return action === 'streamGenerateContent' ? [reply] : reply;
    };
    const result = await generateText({
      model: openai(MODEL),
      prompt: 'Weather in Paris as JSON',
      output: Output.object({ schema: z.object({ city: z.string(), sunny: z.boolean() }) }),
      maxRetries: 0,
    });
    expect(result.output).toEqual({ city: 'Paris', sunny: true });
    const body = JSON.parse(defined(fake.calls[0], 'the call').body) as { generationConfig: Record<string, unknown> };
    expect(body.generationConfig).toMatchObject({ responseMimeType: 'application/json' });
  });
});
