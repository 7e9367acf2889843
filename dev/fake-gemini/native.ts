/**
 * The native surface under `/v1beta/models`: `:generateContent`, `:streamGenerateContent`, `:countTokens`,
 * `:embedContent`, `:batchEmbedContents`, and the model list and lookup.
 *
 * @module
 */
import { parseJsonObject, type Ctx } from './call';
import { FAKE_MODEL_VERSION, FAKE_MODELS, FAKE_REPLY_TEXT, fakeEmbeddingValues, fakeReplyPieces } from './replies';
import { notFound, sendInvalidJson, sendJson, sendReply, sendStream } from './respond';

function nativeModel(name: string): Record<string, unknown> {
  return {
    name: `models/${name}`,
    version: '001',
    displayName: name,
    inputTokenLimit: 1_048_576,
    outputTokenLimit: 65_536,
    supportedGenerationMethods: name.includes('embedding')
      ? ['embedContent', 'batchEmbedContents']
      : ['generateContent', 'countTokens', 'streamGenerateContent'],
  };
}

function countWords(value: unknown): number {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean).length;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countWords(v), 0);
  if (value && typeof value === 'object') {
    return Object.entries(value).reduce(
      (n, [k, v]) => n + (k === 'text' || typeof v === 'object' ? countWords(v) : 0),
      0,
    );
  }
  return 0;
}

/** Answers `/v1beta/<rest>`: the model list, one model, or an action on a model. */
export async function handleNative(ctx: Ctx, rest: string): Promise<void> {
  const { req, res } = ctx;
  if (rest === 'models' && req.method === 'GET') {
    sendJson(res, 200, { models: FAKE_MODELS.map(nativeModel) });
    return;
  }
  const match = /^models\/([^/:]+)(?::([A-Za-z]+))?$/.exec(rest);
  if (!match) return notFound(res, 'native', `Unknown path /v1beta/${rest}`);
  const [, model = '', action] = match;
  if (!FAKE_MODELS.includes(model)) {
    return notFound(res, 'native', `models/${model} is not found for API version v1beta, or is not supported.`);
  }
  if (action === undefined) {
    if (req.method !== 'GET') return notFound(res, 'native', `Unknown method ${req.method ?? ''} on models/${model}`);
    sendJson(res, 200, nativeModel(model));
    return;
  }
  if (req.method !== 'POST') return notFound(res, 'native', `${action} requires POST`);
  const body = parseJsonObject(ctx.body);
  if (!body) return sendInvalidJson(res, 'native');
  return nativeAction(ctx, action, body);
}

/** One `generateContent` reply, or one chunk of a stream (only the last, `finish`, carries the end and usage). */
export function generateContentReply(
  body: Record<string, unknown>,
  text: string,
  finish: boolean,
): Record<string, unknown> {
  const usageMetadata = {
    promptTokenCount: countWords(body.contents),
    candidatesTokenCount: 4,
    totalTokenCount: countWords(body.contents) + 4,
  };
  return {
    candidates: [
      { content: { parts: [{ text }], role: 'model' }, ...(finish ? { finishReason: 'STOP' } : {}), index: 0 },
    ],
    ...(finish ? { usageMetadata } : {}),
    modelVersion: FAKE_MODEL_VERSION,
    responseId: 'fake-response-0001',
  };
}

async function streamGenerateContent(ctx: Ctx, body: Record<string, unknown>): Promise<void> {
  const pieces = fakeReplyPieces(ctx.settings.streamChunks);
  const events = pieces.map((piece, i) => JSON.stringify(generateContentReply(body, piece, i === pieces.length - 1)));
  if (ctx.url.searchParams.get('alt') !== 'sse') {
    // without alt=sse Google streams one JSON array; tests only need its final shape
    return sendReply(
      ctx,
      events.map((e) => JSON.parse(e) as unknown),
    );
  }
  if (ctx.behaviour === 'malformed-json') events.splice(1, 0, '{"candidates": [');
  // Google separates native SSE events with CRLF pairs
  return sendStream(ctx, events, '\r\n\r\n');
}

async function nativeAction(ctx: Ctx, action: string, body: Record<string, unknown>): Promise<void> {
  switch (action) {
    case 'generateContent':
      return sendReply(ctx, generateContentReply(body, FAKE_REPLY_TEXT, true));
    case 'streamGenerateContent':
      return streamGenerateContent(ctx, body);
    case 'countTokens':
      return sendReply(ctx, { totalTokens: countWords(body.contents ?? body.generateContentRequest) });
    case 'embedContent': {
      const dims = typeof body.outputDimensionality === 'number' ? body.outputDimensionality : undefined;
      return sendReply(ctx, { embedding: { values: fakeEmbeddingValues(0, dims) } });
    }
    case 'batchEmbedContents': {
      const requests = Array.isArray(body.requests) ? body.requests : [];
      return sendReply(ctx, { embeddings: requests.map((_, i) => ({ values: fakeEmbeddingValues(i) })) });
    }
    default:
      return notFound(ctx.res, 'native', `Unknown action ${action}`);
  }
}
