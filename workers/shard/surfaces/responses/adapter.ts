/**
 * The Responses surface as one adapter: a client request becomes an upstream plan (Gemini model, path, body), and
 * Google's answer, whole or streamed, becomes the client's format, errors included. The adapter knows formats, not
 * keys: the route hands the plan to the key core, which picks keys, calls Google and fails over, and hands Google's
 * answer back here.
 *
 *   POST /v1/responses   planResponses → (key core) → responseFromGemini / responsesStreamFromGemini
 */
import type { TranslatedPlan } from '../../core/translated-call';
import { normaliseModel } from '../route-matching';
import { responsesFailure } from './errors';
import type { FunctionNames } from './function-names';
import { statefulFieldFailure, translateResponsesRequest } from './request-translation';
import type { EchoedSettings, ResponsesFailure } from './responses-types';

export { failureFromBody, failureResponse } from './errors';
export { newResponseId } from './response-object';
export { responseFromGemini } from './reply-translation';
export { responsesStreamFromGemini } from './stream-translation';

/** A model the examples and errors name: a current Gemini model. */
export const EXAMPLE_MODEL = 'gemini-3.8-flash';

/** Model families Google serves through `generateContent`. */
const GEMINI_FAMILY = /^(?:gemini|gemma|learnlm)-/;

/** The longest `prompt_cache_key` passed on as a conversation id (Codex sends a UUID). */
const MAX_CONVERSATION_ID_LENGTH = 256;

/** What the key core needs to call Google for a Responses request, and what the answer's translation needs. */
export interface ResponsesUpstreamPlan extends TranslatedPlan {
  readonly names: FunctionNames;
  readonly echo: EchoedSettings;
  /**
   * The conversation the request belongs to, as the client named it in `prompt_cache_key` (Codex sends its session
   * id there and in the `session-id` header), for keeping a conversation on one project's keys.
   */
  readonly conversationId?: string;
}

export type PlanResult = { readonly ok: true; readonly plan: ResponsesUpstreamPlan } | ResponsesFailure;

function modelOf(value: unknown): { readonly gemini: string; readonly requested: string } | ResponsesFailure {
  if (typeof value !== 'string' || value === '') {
    return responsesFailure(
      400,
      'invalid_request',
      `model: required; send a Gemini model id such as "${EXAMPLE_MODEL}".`,
      'model',
    );
  }
  const gemini = normaliseModel(value);
  if (gemini === undefined || !GEMINI_FAMILY.test(gemini)) {
    // the name is the client's own text, echoed back to it; JSON encoding keeps control characters visible
    return responsesFailure(
      404,
      'model_not_found',
      `model: ${JSON.stringify(value.slice(0, 200))} is not served here; use a Gemini model id such as "${EXAMPLE_MODEL}".`,
      'model',
    );
  }
  return { gemini, requested: value };
}

function conversationIdOf(value: unknown): { conversationId?: string } {
  return typeof value === 'string' && value !== '' && value.length <= MAX_CONVERSATION_ID_LENGTH
    ? { conversationId: value }
    : {};
}

/** Plans `POST /v1/responses` from the parsed JSON body. */
export function planResponses(body: Record<string, unknown>): PlanResult {
  const stateful = statefulFieldFailure(body);
  if (stateful !== undefined) return stateful;
  const model = modelOf(body.model);
  if ('ok' in model) return model;
  const translated = translateResponsesRequest(body, model.gemini);
  if (!translated.ok) return translated;
  const action = translated.stream ? 'streamGenerateContent' : 'generateContent';
  return {
    ok: true,
    plan: {
      geminiModel: model.gemini,
      requestedModel: model.requested,
      stream: translated.stream,
      upstreamPath: `/v1beta/models/${encodeURIComponent(model.gemini)}:${action}`,
      upstreamSearch: translated.stream ? '?alt=sse' : '',
      body: JSON.stringify(translated.request),
      names: translated.names,
      echo: translated.echo,
      ...conversationIdOf(body.prompt_cache_key),
    },
  };
}
