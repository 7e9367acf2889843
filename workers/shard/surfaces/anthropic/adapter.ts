/**
 * The Anthropic Messages surface as one adapter: a client request becomes an upstream plan (Gemini model, path,
 * body), and Google's answer, whole or streamed, becomes the client's format, errors included. The adapter knows
 * formats, not keys: the route hands the plan to the key core, which picks keys, calls Google and fails over, and
 * hands Google's answer back here.
 *
 *   POST /v1/messages               planMessages → (key core) → anthropicMessageFromGemini / anthropicStreamFromGemini
 *   POST /v1/messages/count_tokens  planCountTokens → (key core) → countTokensFromGemini
 *   any error response              toAnthropicErrorResponse
 */
import type { TranslatedPlan } from '../../core/translated-call';
import type { AnthropicFailure } from './anthropic-types';
import { anthropicFailure } from './errors';
import { type AnthropicModelMap, resolveModel } from './model-map';
import { translateMessagesRequest } from './request-translation';

export type { AnthropicErrorBody, AnthropicFailure, AnthropicMessage, AnthropicStreamEvent } from './anthropic-types';
export {
  anthropicErrorEvent,
  anthropicErrorResponse,
  anthropicErrorType,
  anthropicFailure,
  anthropicFailureFromBody,
  toAnthropicErrorResponse,
} from './errors';
export { type AnthropicModelMap, DEFAULT_ANTHROPIC_MODEL_MAP, parseAnthropicModelMap } from './model-map';
export { anthropicMessageFromGemini, type ReplyTranslationOptions } from './reply-translation';
export { anthropicStreamFromGemini, type StreamTranslationOptions, UpstreamStreamCut } from './stream-translation';

/** What the key core needs to call Google for an Anthropic request: a translated call, nothing more. */
export type AnthropicUpstreamPlan = TranslatedPlan;

export type PlanResult = { readonly ok: true; readonly plan: AnthropicUpstreamPlan } | AnthropicFailure;

/**
 * Whether function calls that lost their thought signature get Google's documented placeholder. Gemini 3 and later
 * refuse a function call turn without a signature; Gemini 1.x/2.x and Gemma never check, so they get none. Aliases
 * such as `gemini-flash-latest` point at current models, which check.
 */
export function needsPlaceholderSignatures(geminiModel: string): boolean {
  if (!geminiModel.startsWith('gemini-')) return false;
  const major = /^gemini-(\d+)[.-]/.exec(geminiModel)?.[1];
  return major === undefined || Number(major) >= 3;
}

/** An Anthropic message id for a fresh UUID (the route's `randomUUID`): `msg_` and 32 hex digits. */
export function newMessageId(uuid: string): string {
  return `msg_${uuid.replace(/[^A-Za-z0-9]/g, '')}`;
}

function plan(body: unknown, models: AnthropicModelMap, countTokens: boolean): PlanResult {
  const model = resolveModel(
    body && typeof body === 'object' ? (body as { model?: unknown }).model : undefined,
    models,
  );
  if (!model.ok) return model;
  const translated = translateMessagesRequest(body, {
    forCountTokens: countTokens,
    placeholderSignatures: needsPlaceholderSignatures(model.gemini),
  });
  if (!translated.ok) return translated;
  const action = countTokens ? 'countTokens' : translated.stream ? 'streamGenerateContent' : 'generateContent';
  const upstreamBody = countTokens
    ? { generateContentRequest: { model: `models/${model.gemini}`, ...translated.request } }
    : translated.request;
  return {
    ok: true,
    plan: {
      geminiModel: model.gemini,
      requestedModel: model.requested,
      stream: !countTokens && translated.stream,
      upstreamPath: `/v1beta/models/${encodeURIComponent(model.gemini)}:${action}`,
      upstreamSearch: action === 'streamGenerateContent' ? '?alt=sse' : '',
      body: JSON.stringify(upstreamBody),
    },
  };
}

/** Plans `POST /v1/messages` from the parsed JSON body. */
export function planMessages(body: unknown, models: AnthropicModelMap): PlanResult {
  return plan(body, models, false);
}

/** Plans `POST /v1/messages/count_tokens` from the parsed JSON body (Gemini's `countTokens`). */
export function planCountTokens(body: unknown, models: AnthropicModelMap): PlanResult {
  return plan(body, models, true);
}

export type CountTokensTranslation =
  | { readonly ok: true; readonly body: { readonly input_tokens: number } }
  | AnthropicFailure;

/** Gemini's `countTokens` answer (`{"totalTokens": n, …}`) as Anthropic's (`{"input_tokens": n}`). */
export function countTokensFromGemini(reply: unknown): CountTokensTranslation {
  const total = reply && typeof reply === 'object' ? (reply as { totalTokens?: unknown }).totalTokens : undefined;
  // Google leaves zero counts out of its JSON
  if (total === undefined) return { ok: true, body: { input_tokens: 0 } };
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 0) {
    return anthropicFailure(502, 'Gemini answered countTokens without a token count.');
  }
  return { ok: true, body: { input_tokens: total } };
}
