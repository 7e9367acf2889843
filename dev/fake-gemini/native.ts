/**
 * The native surface under `/v1beta/models`: `:generateContent`, `:streamGenerateContent`, `:countTokens`,
 * `:embedContent`, `:batchEmbedContents`, and the model list and lookup. A model the fake does not serve (unknown or
 * shut down) or a method the model does not support is Google's 404; a generation request without contents is
 * Google's 400 (`./request-errors.ts`); a JSON-mode request is answered in JSON (`./json-mode.ts`); a prompt that
 * repeats a long prefix its project sent lately counts the hit in `usageMetadata.cachedContentTokenCount`
 * (`./implicit-cache.ts`).
 *
 * @module
 */
import { parseJsonObject, type Ctx } from './call';
import { FAKE_MODEL_VERSION, FAKE_MODELS, FAKE_REPLY_TEXT, fakeEmbeddingValues, fakeReplyPieces } from './replies';
import { jsonModeText } from './json-mode';
import { emptyContentsError, modelError, modelNotFound, supportedMethods } from './request-errors';
import { pageOf } from './resources';
import { notFound, sendError, sendInvalidJson, sendJson, sendReply, sendStream } from './respond';
import { nativePrompt, nativeWords } from './tokens';

function nativeModel(name: string): Record<string, unknown> {
  return {
    name: `models/${name}`,
    version: '001',
    displayName: name,
    inputTokenLimit: 1_048_576,
    outputTokenLimit: 65_536,
    supportedGenerationMethods: supportedMethods(name),
  };
}

/** models.list pages: 50 by default, at most 1000 (ai.google.dev/api/models#method:-models.list). */
const MODEL_PAGES = { defaultSize: 50, maxSize: 1000 } as const;

function listModels(ctx: Ctx): void {
  const paged = pageOf(FAKE_MODELS, ctx.url.searchParams, MODEL_PAGES.defaultSize, MODEL_PAGES.maxSize);
  if ('code' in paged) {
    sendError(ctx.res, 'native', paged);
    return;
  }
  sendJson(ctx.res, 200, {
    models: paged.page.map(nativeModel),
    ...(paged.nextPageToken === undefined ? {} : { nextPageToken: paged.nextPageToken }),
  });
}

/** Answers `/v1beta/<rest>`: the model list, one model, or an action on a model. */
export async function handleNative(ctx: Ctx, rest: string): Promise<void> {
  const { req, res } = ctx;
  if (rest === 'models' && req.method === 'GET') return listModels(ctx);
  const match = /^models\/([^/:]+)(?::([A-Za-z]+))?$/.exec(rest);
  if (!match) return notFound(res, 'native', `Unknown path /v1beta/${rest}`);
  const [, model = '', action] = match;
  if (action === undefined) {
    if (!FAKE_MODELS.includes(model)) return sendError(res, 'native', modelNotFound(model, 'get'));
    if (req.method !== 'GET') return notFound(res, 'native', `Unknown method ${req.method ?? ''} on models/${model}`);
    sendJson(res, 200, nativeModel(model));
    return;
  }
  const unserved = modelError(model, action);
  if (unserved) return sendError(res, 'native', unserved);
  if (req.method !== 'POST') return notFound(res, 'native', `${action} requires POST`);
  const body = parseJsonObject(ctx.body);
  if (!body) return sendInvalidJson(res, 'native');
  const invalid = action.endsWith('enerateContent') ? emptyContentsError(body.contents) : undefined;
  if (invalid) return sendError(res, 'native', invalid);
  return nativeAction(ctx, model, action, body);
}

/**
 * One `generateContent` reply, or one chunk of a stream (only the last, `finish`, carries the end and usage);
 * `cached` is the prompt's implicit cache hit, in tokens.
 */
export function generateContentReply(
  body: Record<string, unknown>,
  text: string,
  finish: boolean,
  cached = 0,
): Record<string, unknown> {
  const prompt = nativePrompt(body).length;
  const usageMetadata = {
    promptTokenCount: prompt,
    candidatesTokenCount: 4,
    totalTokenCount: prompt + 4,
    ...(cached > 0 ? { cachedContentTokenCount: cached } : {}),
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

async function streamGenerateContent(ctx: Ctx, body: Record<string, unknown>, cached: number): Promise<void> {
  const pieces = fakeReplyPieces(ctx.settings.streamChunks, jsonModeText(body));
  const events = pieces.map((piece, i) =>
    JSON.stringify(generateContentReply(body, piece, i === pieces.length - 1, cached)),
  );
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

/** The tokens of a generation request's prompt that hit its project's implicit cache for `model`. */
function cachedTokens(ctx: Ctx, model: string, body: Record<string, unknown>): number {
  return ctx.implicitCache.use(ctx.project, model, nativePrompt(body));
}

async function nativeAction(ctx: Ctx, model: string, action: string, body: Record<string, unknown>): Promise<void> {
  switch (action) {
    case 'generateContent':
      return sendReply(
        ctx,
        generateContentReply(body, jsonModeText(body) ?? FAKE_REPLY_TEXT, true, cachedTokens(ctx, model, body)),
      );
    case 'streamGenerateContent':
      return streamGenerateContent(ctx, body, cachedTokens(ctx, model, body));
    case 'countTokens':
      return sendReply(ctx, { totalTokens: nativeWords(body.contents ?? body.generateContentRequest).length });
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
