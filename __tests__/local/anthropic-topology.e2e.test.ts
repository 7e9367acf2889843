/**
 * The Anthropic surface end to end: the stacks `cdktf synth` produces, emulated by `npm start`'s own modules in
 * workerd, driven by the real `@anthropic-ai/sdk` through the prod orchestrator (and on the preview worker), against
 * the fake Gemini. The stacks bind no `ANTHROPIC_MODEL_MAP`, so Claude model names resolve through the adapter's
 * defaults, which are current Gemini models the fake answers through its `nativeReply` hook.
 */
import { rmSync } from 'node:fs';
import Anthropic, { type APIError, type RateLimitError } from '@anthropic-ai/sdk';
import { FAKE_REPLY_TEXT, FAKE_THOUGHT_SIGNATURE, type FakeGemini, startFakeGemini } from '../../dev/fake-gemini';
import { type RunningTopology, startTopology } from '../../scripts/local/start';
import type { Topology } from '../../scripts/local/emulated-topology';
import { DEFAULT_ANTHROPIC_MODEL_MAP } from '../../workers/shard/surfaces/anthropic/adapter';
import { defined } from '../helpers/guards';
import { everyModel, FAKE_CALL_ARGS, FAKE_CALL_ID } from '../helpers/gemini-native-replies';
import { startUpstreamTap, type UpstreamTap } from './upstream-tap';
import { synthesizeToTempDir, synthesizedTopology } from '../helpers/emulated-topology';

const KEY_COUNT = 12;
const PR = '5';
const API_KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `canary-key-${String(i).padStart(2, '0')}-anthropic`);
const PASS = 'canary-pass-anthropic';
const SECRETS = { apiKeys: API_KEYS, pass: PASS };

jest.setTimeout(90_000);

let outDir: string;
let fake: FakeGemini;
const logs: string[] = [];

function topologyFor(stack: string, upstream: string): Topology {
  return synthesizedTopology(outDir, stack, SECRETS, upstream);
}

function start(topology: Topology): Promise<RunningTopology> {
  return startTopology({ topology, port: 0, onLog: (message) => logs.push(message) });
}

function expectNoCanaryIn(text: string): void {
  expect(text).not.toMatch(/canary-(key|pass)/);
}

const question: Anthropic.MessageParam = { role: 'user', content: 'Say hello' };
const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** About as many tools, with schemas about as large, as Claude Code sends with every request. */
function claudeCodeSizedTools(): Anthropic.Tool[] {
  return Array.from({ length: 24 }, (_, i) => ({
    name: `tool_${i}`,
    description: `Tool ${i}. ${'Explains at length when to use it and when not to. '.repeat(40)}`,
    input_schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object' as const,
      properties: Object.fromEntries(
        Array.from({ length: 8 }, (_, p) => [
          `param_${p}`,
          { type: 'string', description: `Parameter ${p} of tool ${i}.`, minLength: 1, maxLength: 4096 },
        ]),
      ),
      required: ['param_0'],
      additionalProperties: false,
    },
  }));
}

beforeAll(async () => {
  outDir = await synthesizeToTempDir('zen-anthropic-e2e-', `preview-${PR}`, { KEY_COUNT: String(KEY_COUNT) });
  fake = await startFakeGemini({ port: 0, nativeReply: everyModel(4) });
});

afterAll(async () => {
  await fake?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.reset();
  logs.length = 0;
});

describe('prod stack, through the orchestrator', () => {
  let tap: UpstreamTap;
  let running: RunningTopology;
  let client: Anthropic;

  beforeAll(async () => {
    tap = await startUpstreamTap(fake.url);
    running = await start(topologyFor('prod', tap.url));
    client = new Anthropic({ apiKey: PASS, baseURL: running.url, maxRetries: 0 });
  });

  afterAll(async () => {
    await running?.dispose();
    await tap?.close();
  });

  it('answers HEAD / and GET / with 200 and no credential', async () => {
    expect((await fetch(`${running.url}/`, { method: 'HEAD' })).status).toBe(200);
    const get = await fetch(`${running.url}/`);
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ ok: true });
    expect(fake.calls).toHaveLength(0);
  });

  it('answers a message on the default model map, with a pool key as x-goog-api-key', async () => {
    const message = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: [question] });
    expect(message).toMatchObject({
      model: 'claude-sonnet-4-6',
      content: [{ type: 'text', text: FAKE_REPLY_TEXT }],
      stop_reason: 'end_turn',
    });
    const call = defined(fake.calls[0], 'the upstream call');
    expect(call.path).toBe(`/v1beta/models/${DEFAULT_ANTHROPIC_MODEL_MAP.sonnet}:generateContent`);
    expect(API_KEYS).toContain(call.headers['x-goog-api-key']);
    expect(JSON.stringify(call.headers)).not.toContain(PASS);
  });

  it("streams a Claude Code-sized request (?beta=true, 24 tools, >70 KB) and delivers events before Gemini's last chunk", async () => {
    fake.configure({ chunkDelayMs: 150 });
    const tools = claudeCodeSizedTools();
    const params = {
      model: 'claude-opus-4-8',
      max_tokens: 32_000,
      messages: [question],
      tools,
      // so that Gemini answers in text, which streams in several chunks
      tool_choice: { type: 'none' as const },
      stream: true as const,
    };
    expect(JSON.stringify(params).length).toBeGreaterThan(70_000);
    const finishedBefore = tap.finishedResponses();
    const stream = await client.beta.messages.create(params);
    const texts: string[] = [];
    let finishedAtFirstDelta: number | undefined;
    for await (const event of stream) {
      if (event.type !== 'content_block_delta' || event.delta.type !== 'text_delta') continue;
      texts.push(event.delta.text);
      // the upstream response this delta came from has not ended: no hop buffered the stream
      finishedAtFirstDelta ??= tap.finishedResponses();
    }
    expect(finishedAtFirstDelta).toBe(finishedBefore);
    expect(texts).toHaveLength(4);
    expect(texts.join('')).toBe(FAKE_REPLY_TEXT);
    const call = defined(fake.calls[0], 'the upstream call');
    expect(`${call.path}${call.search}`).toBe(
      `/v1beta/models/${DEFAULT_ANTHROPIC_MODEL_MAP.opus}:streamGenerateContent?alt=sse`,
    );
    const sent = JSON.parse(call.body) as {
      tools: { functionDeclarations: { name: string }[] }[];
    };
    expect(sent.tools[0]?.functionDeclarations.map((d) => d.name)).toEqual(tools.map((t) => t.name));
  });

  it('round-trips a tool call, whichever shard serves each turn: the thought signature travels in the tool_use id', async () => {
    const ask = (messages: Anthropic.MessageParam[]) =>
      client.messages.create({ model: 'claude-opus-4-8', max_tokens: 256, tools: [weatherTool], messages });
    const first = await ask([question]);
    const toolUse = defined(
      first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use'),
      'a tool_use block',
    );
    expect(toolUse.input).toEqual(FAKE_CALL_ARGS);
    const second = await ask([
      question,
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '21 °C' }] },
    ]);
    expect(second.content).toEqual([{ type: 'text', text: `${FAKE_REPLY_TEXT}: tool said {"output":"21 °C"}` }]);
    const sent = JSON.parse(defined(fake.calls[1], 'the second upstream call').body) as {
      contents: { parts: Record<string, unknown>[] }[];
    };
    expect(sent.contents[1]?.parts[0]).toEqual({
      functionCall: { name: 'get_weather', args: FAKE_CALL_ARGS, id: FAKE_CALL_ID },
      thoughtSignature: FAKE_THOUGHT_SIGNATURE,
    });
  });

  it('counts tokens with Gemini', async () => {
    const counted = await client.messages.countTokens({
      model: 'claude-haiku-4-5',
      messages: [{ role: 'user', content: 'one two three four' }],
    });
    expect(counted).toEqual({ input_tokens: 4 });
    expect(fake.calls.map((c) => c.path)).toEqual([`/v1beta/models/${DEFAULT_ANTHROPIC_MODEL_MAP.haiku}:countTokens`]);
  });

  it('refuses a wrong password with 401 authentication_error before any shard calls Gemini', async () => {
    const wrong = new Anthropic({ apiKey: 'not-the-password', baseURL: running.url, maxRetries: 0 });
    const error = await wrong.messages
      .create({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [question] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((error as APIError).error).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error', message: 'Incorrect password.' },
    });
    expect(fake.calls).toHaveLength(0);
  });

  it('refuses an untranslatable request with 400 invalid_request_error', async () => {
    const error = await client.messages
      .create({ model: 'claude-sonnet-4-6', max_tokens: 0, messages: [question] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as APIError).error).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(fake.calls).toHaveLength(0);
  });

  it('answers RateLimitError with retry-after when the shards tried are all rate limited', async () => {
    fake.setDefaultBehaviour('quota-minute');
    // a model of its own, so the cooldowns stay out of the other tests
    const error = await client.messages
      .create({ model: 'gemini-2.0-flash-lite', max_tokens: 16, messages: [question] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.RateLimitError);
    const limited = error as RateLimitError;
    expect(Number(limited.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    // the orchestrator re-routed the shards' pool refusals: more keys were tried than one shard tries
    expect(fake.calls.length).toBeGreaterThan(3);
    expectNoCanaryIn(JSON.stringify(limited.error));
  });

  it('keeps the canaries out of every log line', async () => {
    await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [question] });
    expect(logs.length).toBeGreaterThan(0);
    expectNoCanaryIn(logs.join('\n'));
  });
});

describe(`preview-${PR} stack`, () => {
  let running: RunningTopology;

  beforeAll(async () => {
    running = await start(topologyFor(`preview-${PR}`, fake.url));
  });
  afterAll(() => running?.dispose());

  it('serves the Anthropic routes on the preview worker', async () => {
    const client = new Anthropic({ apiKey: PASS, baseURL: running.url, maxRetries: 0 });
    expect((await fetch(`${running.url}/`, { method: 'HEAD' })).status).toBe(200);
    const final = await client.messages
      .stream({ model: 'claude-sonnet-4-6', max_tokens: 64, messages: [question] })
      .finalMessage();
    expect(final.content).toEqual([{ type: 'text', text: FAKE_REPLY_TEXT }]);
    expect(fake.calls).toHaveLength(1);
  });
});
