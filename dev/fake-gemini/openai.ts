/**
 * The OpenAI-compatible surface under `/v1beta/openai/`: chat completions (SSE too), tools carrying
 * `extra_content.google.thought_signature`, embeddings as float arrays, Imagen's `images/generations` (images inline
 * as `b64_json`), models list and retrieve. As natively, a model the fake does not serve is Google's 404, a chat
 * without messages Google's 400 (`./request-errors.ts`), and a prompt repeating a long prefix its project sent lately
 * reports the hit in `usage.prompt_tokens_details.cached_tokens` (`./implicit-cache.ts`).
 *
 * @module
 */
import { parseJsonObject, type Ctx } from './call';
import type { GoogleErrorObject } from './google-errors';
import {
  DEFAULT_EMBEDDING_DIMENSIONS,
  FAKE_IMAGE_B64,
  FAKE_MODELS,
  FAKE_REPLY_TEXT,
  FAKE_THOUGHT_SIGNATURE,
  fakeEmbeddingValues,
  fakeReplyPieces,
} from './replies';
import { emptyMessagesError, modelError } from './request-errors';
import { notFound, sendError, sendInvalidJson, sendJson, sendReply, sendStream } from './respond';
import { chatPrompt } from './tokens';

interface ToolCallMessage {
  role?: unknown;
  tool_calls?: Array<{ extra_content?: { google?: { thought_signature?: unknown } } }>;
}

const CHAT_ID = 'chatcmpl-fake-0001';
const CREATED = 1_760_000_000;
/** tokens of every reply, as in the native replies */
const COMPLETION_TOKENS = 4;

/** What a method of the compat surface is natively, for the 404 of a model that does not serve it. */
const NATIVE_METHOD: Readonly<Record<string, string>> = {
  'chat/completions': 'generateContent',
  embeddings: 'embedContent',
  'images/generations': 'predict',
};

/** Answers `/v1beta/openai/<rest>`. */
export async function handleOpenAI(ctx: Ctx, rest: string): Promise<void> {
  const { req, res } = ctx;
  if (rest === 'models' && req.method === 'GET') {
    sendJson(res, 200, {
      object: 'list',
      data: FAKE_MODELS.map((m) => ({ id: `models/${m}`, object: 'model', created: 0, owned_by: 'google' })),
    });
    return;
  }
  if (rest.startsWith('models/') && req.method === 'GET') {
    const id = rest.slice('models/'.length).replace(/^models\//, '');
    if (!FAKE_MODELS.includes(id)) return notFound(res, 'openai', `Model "${id}" not found.`);
    sendJson(res, 200, { id: `models/${id}`, object: 'model', created: 0, owned_by: 'google' });
    return;
  }
  if (req.method !== 'POST' || !['chat/completions', 'embeddings', 'images/generations'].includes(rest)) {
    return notFound(res, 'openai', `Unknown path /v1beta/openai/${rest}`);
  }
  const body = parseJsonObject(ctx.body);
  if (!body) return sendInvalidJson(res, 'openai');
  const model = typeof body.model === 'string' ? body.model : '';
  const unserved = modelError(model, NATIVE_METHOD[rest] ?? rest);
  if (unserved) return sendError(res, 'openai', unserved);
  if (rest === 'embeddings') return openAIEmbeddings(ctx, body, model);
  if (rest === 'images/generations') return openAIImages(ctx, body);
  return openAIChat(ctx, body, model);
}

function openAIEmbeddings(ctx: Ctx, body: Record<string, unknown>, model: string): void {
  // Google answers floats only; a client (or gateway) asking it for base64 is told so
  if (body.encoding_format !== undefined && body.encoding_format !== 'float') {
    sendError(ctx.res, 'openai', {
      code: 400,
      message: `Invalid value for encoding_format: ${String(body.encoding_format)}. Only "float" is supported.`,
      status: 'INVALID_ARGUMENT',
    });
    return;
  }
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const dims = typeof body.dimensions === 'number' ? body.dimensions : DEFAULT_EMBEDDING_DIMENSIONS;
  sendReply(ctx, {
    object: 'list',
    data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: fakeEmbeddingValues(index, dims) })),
    model,
    usage: { prompt_tokens: inputs.length, total_tokens: inputs.length },
  });
}

/** `n` images inline as base64 PNG, the shape Google documents (with `response_format: "b64_json"`); no URLs. */
function openAIImages(ctx: Ctx, body: Record<string, unknown>): void {
  const n = typeof body.n === 'number' && Number.isInteger(body.n) && body.n > 0 ? body.n : 1;
  sendReply(ctx, { created: CREATED, data: Array.from({ length: n }, () => ({ b64_json: FAKE_IMAGE_B64 })) });
}

/** Gemini 3 rejects a replayed tool call whose thought signature was dropped; proves a gateway kept it intact. */
function missingThoughtSignature(messages: readonly ToolCallMessage[]): GoogleErrorObject | undefined {
  for (const [i, m] of messages.entries()) {
    for (const call of m.role === 'assistant' ? (m.tool_calls ?? []) : []) {
      if (call.extra_content?.google?.thought_signature !== FAKE_THOUGHT_SIGNATURE) {
        return {
          code: 400,
          message: `Function call is missing a thought_signature in functionCall parts. messages[${i}]`,
          status: 'INVALID_ARGUMENT',
        };
      }
    }
  }
  return undefined;
}

/** What the chat answers, streamed or not: a tool call when tools are offered and no tool has answered yet. */
interface ChatAnswer {
  readonly model: string;
  readonly wantsTool: boolean;
  /** the last message is a tool's answer, which the reply quotes */
  readonly afterTool: boolean;
  readonly text: string;
  readonly toolCall: Record<string, unknown>;
  /** token counts, with the implicit cache hit when there is one */
  readonly usage: Record<string, unknown>;
}

/** The `usage` of a chat reply: the prompt's tokens as the fake counts them, and what of them hit the cache. */
function chatUsage(prompt: number, cached: number): Record<string, unknown> {
  return {
    prompt_tokens: prompt,
    completion_tokens: COMPLETION_TOKENS,
    total_tokens: prompt + COMPLETION_TOKENS,
    ...(cached > 0 ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
  };
}

function chatAnswer(
  ctx: Ctx,
  body: Record<string, unknown>,
  messages: readonly ToolCallMessage[],
  model: string,
): ChatAnswer {
  const last = messages.at(-1) as { role?: unknown; content?: unknown } | undefined;
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ function?: { name?: unknown } }>) : [];
  const toolName = String(tools[0]?.function?.name ?? 'tool');
  const prompt = chatPrompt(body);
  return {
    model,
    wantsTool: tools.length > 0 && last?.role !== 'tool',
    afterTool: last?.role === 'tool',
    text: last?.role === 'tool' ? `${FAKE_REPLY_TEXT}: tool said ${String(last.content)}` : FAKE_REPLY_TEXT,
    toolCall: {
      id: 'call_fake_0001',
      type: 'function',
      function: { name: toolName, arguments: '{"city":"Paris"}' },
      extra_content: { google: { thought_signature: FAKE_THOUGHT_SIGNATURE } },
    },
    usage: chatUsage(prompt.length, ctx.implicitCache.use(ctx.project, model.replace(/^models\//, ''), prompt)),
  };
}

/** The SSE events of a streamed chat reply, `[DONE]` included. */
function chatStreamEvents(ctx: Ctx, body: Record<string, unknown>, answer: ChatAnswer): string[] {
  const { model } = answer;
  const chunk = (delta: unknown, finish: string | null): string =>
    JSON.stringify({
      id: CHAT_ID,
      object: 'chat.completion.chunk',
      created: CREATED,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
  const events: string[] = [];
  if (answer.wantsTool) {
    events.push(chunk({ role: 'assistant', tool_calls: [{ index: 0, ...answer.toolCall }] }, 'tool_calls'));
  } else {
    const pieces = answer.afterTool ? [answer.text] : fakeReplyPieces(ctx.settings.streamChunks);
    for (const [i, piece] of pieces.entries())
      events.push(chunk(i === 0 ? { role: 'assistant', content: piece } : { content: piece }, null));
    events.push(chunk({}, 'stop'));
  }
  const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
  if (streamOptions?.include_usage === true) {
    events.push(
      JSON.stringify({
        id: CHAT_ID,
        object: 'chat.completion.chunk',
        created: CREATED,
        model,
        choices: [],
        usage: answer.usage,
      }),
    );
  }
  if (ctx.behaviour === 'malformed-json') events.splice(1, 0, '{"id": "chatcmpl-fake-0001", "choices": [');
  events.push('[DONE]');
  return events;
}

async function openAIChat(ctx: Ctx, body: Record<string, unknown>, model: string): Promise<void> {
  const messages = Array.isArray(body.messages) ? (body.messages as ToolCallMessage[]) : [];
  const invalid = emptyMessagesError(body.messages) ?? missingThoughtSignature(messages);
  if (invalid) return sendError(ctx.res, 'openai', invalid);
  const answer = chatAnswer(ctx, body, messages, model);
  if (body.stream === true) return sendStream(ctx, chatStreamEvents(ctx, body, answer), '\n\n');

  const message = answer.wantsTool
    ? { role: 'assistant', content: null, tool_calls: [answer.toolCall] }
    : { role: 'assistant', content: answer.text };
  sendReply(ctx, {
    id: CHAT_ID,
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [{ index: 0, message, finish_reason: answer.wantsTool ? 'tool_calls' : 'stop' }],
    usage: answer.usage,
  });
}
