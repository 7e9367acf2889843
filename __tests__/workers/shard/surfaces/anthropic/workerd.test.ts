/**
 * The adapter in workerd, read by the real `@anthropic-ai/sdk`: a test worker bundles the adapter and does what the
 * route will do (plan, call Google, translate), against a stand-in for Gemini on 127.0.0.1 that answers with
 * recorded replies. This shows what only the runtime can: workerd's streams carry each translated event out while
 * Gemini is still writing, a connection Gemini drops becomes the SDK's error, and secrets in Google's errors stay out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Anthropic, { type APIError } from '@anthropic-ai/sdk';
import { Miniflare } from 'miniflare';
import { bundleModuleText } from '../../../../../bundler/worker-bundles';
import { DEFAULT_COMPATIBILITY_DATE } from '../../../../../workers/shared/contract';
import {
  COUNT_TOKENS_REPLY,
  geminiSse,
  SIGNATURE_CALL,
  THINKING_CALL_REPLY,
  THINKING_TEXT_CHUNKS,
  THINKING_TEXT_REPLY,
} from './recordings';

const KEY = 'AIzaSy-workerd-canary-key';
const SCENARIO = 'x-test-scenario';

/** What the route will do, minus keys and failover: plan, call Google, translate the answer or the error. */
const ENTRY = `
import {
  anthropicErrorResponse, anthropicMessageFromGemini, anthropicStreamFromGemini, countTokensFromGemini,
  DEFAULT_ANTHROPIC_MODEL_MAP, newMessageId, planCountTokens, planMessages, toAnthropicErrorResponse,
} from './adapter';

export default {
  async fetch(request: Request, env: { GEMINI: string; KEY: string }): Promise<Response> {
    const count = new URL(request.url).pathname === '/v1/messages/count_tokens';
    const body: unknown = await request.json();
    const planned = count ? planCountTokens(body, DEFAULT_ANTHROPIC_MODEL_MAP) : planMessages(body, DEFAULT_ANTHROPIC_MODEL_MAP);
    if (!planned.ok) return anthropicErrorResponse(planned);
    const { plan } = planned;
    const upstream = await fetch(env.GEMINI + plan.upstreamPath + plan.upstreamSearch, {
      method: 'POST',
      body: plan.body,
      headers: { 'content-type': 'application/json', 'x-goog-api-key': env.KEY, '${SCENARIO}': request.headers.get('${SCENARIO}') ?? '' },
    });
    if (!upstream.ok) return toAnthropicErrorResponse(upstream, [env.KEY]);
    const options = { messageId: newMessageId(crypto.randomUUID()), model: plan.requestedModel, secrets: [env.KEY] };
    if (count) {
      const counted = countTokensFromGemini(await upstream.json());
      return counted.ok ? Response.json(counted.body) : anthropicErrorResponse(counted);
    }
    if (plan.stream && upstream.body) {
      return new Response(anthropicStreamFromGemini(upstream.body, options), { headers: { 'content-type': 'text/event-stream' } });
    }
    const translated = anthropicMessageFromGemini(await upstream.json(), options);
    return translated.ok ? Response.json(translated.message) : anthropicErrorResponse(translated);
  },
};`;

function bundle(): string {
  return bundleModuleText(
    ENTRY,
    join(__dirname, '..', '..', '..', '..', '..', 'workers', 'shard', 'surfaces', 'anthropic'),
  );
}

interface GeminiCall {
  readonly path: string;
  readonly body: { contents?: { role: string; parts: unknown[] }[] };
}

const calls: GeminiCall[] = [];
/** Resolved by the test to let the stand-in write the rest of a 'held' stream. */
let release: () => void = () => undefined;

async function gemini(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const path = req.url ?? '';
  calls.push({ path, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as GeminiCall['body'] });
  const scenario = req.headers[SCENARIO];
  const json = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(body));
  };
  if (scenario === 'invalid-key') {
    return json(400, { error: { code: 400, message: `API key not valid: ${KEY}`, status: 'INVALID_ARGUMENT' } });
  }
  if (path.includes(':countTokens')) return json(200, COUNT_TOKENS_REPLY);
  if (path.includes(':generateContent'))
    return json(200, scenario === 'call' ? THINKING_CALL_REPLY : THINKING_TEXT_REPLY);
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.flushHeaders();
  const [first, ...rest] = THINKING_TEXT_CHUNKS.map((c) => geminiSse([c]));
  // the first chunk is on its way before anything else happens, as with a real mid-stream failure
  await new Promise<void>((resolve) => res.write(first, () => resolve()));
  if (scenario === 'cut') {
    res.socket?.destroy();
    return;
  }
  if (scenario === 'held') await new Promise<void>((resolve) => (release = resolve));
  for (const piece of rest) res.write(piece);
  res.end();
}

let server: Server;
let mf: Miniflare;
let client: Anthropic;

beforeAll(async () => {
  server = createServer((req, res) => {
    gemini(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  mf = new Miniflare({
    modules: true,
    script: bundle(),
    compatibilityDate: DEFAULT_COMPATIBILITY_DATE,
    bindings: { GEMINI: `http://127.0.0.1:${port}`, KEY },
  });
  const url = (await mf.ready).toString().replace(/\/$/, '');
  client = new Anthropic({ apiKey: 'workerd-test', baseURL: url, maxRetries: 0 });
});
afterAll(async () => {
  await mf.dispose();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  calls.length = 0;
});

const scenario = (name: string) => ({ headers: { [SCENARIO]: name } });
const question: Anthropic.MessageParam = { role: 'user', content: 'Say hello in German.' };
const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  input_schema: { type: 'object', properties: { city: { type: 'string' } } },
};

describe('the adapter in workerd, read by @anthropic-ai/sdk', () => {
  it('streams each event out while Gemini is still writing', async () => {
    const stream = await client.messages.create(
      { model: 'claude-sonnet-4-6', max_tokens: 256, messages: [question], stream: true },
      scenario('held'),
    );
    const types: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      // Gemini has sent only its first chunk; this event could not arrive if the reply were buffered
      if (event.type === 'content_block_delta' && types.filter((t) => t === 'content_block_delta').length === 1)
        release();
    }
    expect(types.at(-1)).toBe('message_stop');
    expect(calls.map((c) => c.path)).toEqual(['/v1beta/models/gemini-3.5-flash:streamGenerateContent?alt=sse']);
  });

  it('assembles the streamed thinking and text in MessageStream', async () => {
    const final = await client.messages
      .stream({ model: 'claude-opus-4-8', max_tokens: 256, messages: [question], thinking: { type: 'adaptive' } })
      .finalMessage();
    expect(final.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    expect(final.content[1]).toEqual({ type: 'text', text: 'Grüße aus Köln 👋' });
  });

  it('turns a connection Gemini drops mid-stream into an APIError', async () => {
    const stream = client.messages.stream(
      { model: 'claude-sonnet-4-6', max_tokens: 256, messages: [question] },
      scenario('cut'),
    );
    await expect(stream.finalMessage()).rejects.toMatchObject({
      type: 'api_error',
      apiMessage: 'The connection to Gemini broke before the reply was complete; retry the request.',
    });
  });

  it('carries the thought signature of a tool call to Gemini on the next turn', async () => {
    const first = await client.messages.create(
      { model: 'claude-opus-4-8', max_tokens: 256, tools: [weatherTool], messages: [question] },
      scenario('call'),
    );
    const toolUse = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    if (!toolUse) throw new Error('no tool_use');
    await client.messages.create({
      model: 'claude-opus-4-8',
      max_tokens: 256,
      tools: [weatherTool],
      messages: [
        question,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '18 °C' }] },
      ],
    });
    expect(calls[1]?.body.contents?.[1]?.parts).toContainEqual({
      functionCall: { name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } },
      thoughtSignature: SIGNATURE_CALL,
    });
  });

  it('counts tokens', async () => {
    expect(await client.messages.countTokens({ model: 'claude-haiku-4-5', messages: [question] })).toEqual({
      input_tokens: 31,
    });
    expect(calls[0]?.path).toBe('/v1beta/models/gemini-3.5-flash-lite:countTokens');
  });

  it("raises Google's error as a BadRequestError without the key it quoted", async () => {
    let error: unknown;
    try {
      await client.messages.create(
        { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [question] },
        scenario('invalid-key'),
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as APIError).apiMessage).toBe('Gemini INVALID_ARGUMENT: API key not valid: [redacted]');
    expect(JSON.stringify((error as APIError).error)).not.toContain(KEY);
  });
});
