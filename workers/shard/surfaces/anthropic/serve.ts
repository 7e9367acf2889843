/**
 * The Anthropic Messages surface (`POST /v1/messages`, `POST /v1/messages/count_tokens`): the adapter
 * (`./anthropic/adapter`) plans a call to Gemini's native API, the key core makes it like any other route's (pool,
 * failover, cooldowns scoped to the Gemini model, MAX_WAIT_MS, deadlines), and the adapter translates Google's
 * answer: a stream event by event as Gemini's chunks arrive, a whole reply at once. Every error here is in
 * Anthropic's shape with Anthropic's type for its status, keeping `retry-after` and `x-zen-pool`.
 */
import { ANTHROPIC_MODEL_MAP_BINDING, REPLAY_MAX_BYTES } from '../../../shared/contract';
import { jsonResponse } from '../../../shared/http';
import {
  type AnthropicFailure,
  type AnthropicModelMap,
  type AnthropicUpstreamPlan,
  anthropicErrorResponse,
  anthropicFailureFromBody,
  anthropicMessageFromGemini,
  anthropicStreamFromGemini,
  countTokensFromGemini,
  newMessageId,
  parseAnthropicModelMap,
  planCountTokens,
  planMessages,
} from './adapter';
import type { ShardEnv } from '../../edge/bindings';
import { bodyConversationId } from '../../core/conversation';
import { misconfigured, Refusal, refusalOutcome } from '../../edge/refusal';
import { StreamMeter, wholeUsage } from '../../core/stream-meter';
import { readTranslatedBody, sendTranslated } from '../../core/translated-call';
import { replyTokens } from '../../core/usage-tokens';
import type { AnthropicRoute } from './routes';
import { type Admitted, type HandlerDeps, type LineFacts, type Outcome, secretsOf } from '../contract';
import {
  answerFacts,
  type GoogleAnswer,
  noKeysConfigured,
  readWholeReply,
  streamCutReporter,
} from '../../core/upstream-plan';

/** The optional plain-text binding mapping Claude model lines to Gemini models (see `parseAnthropicModelMap`). */
export { ANTHROPIC_MODEL_MAP_BINDING } from '../../../shared/contract';

/** The binding's map; absent or empty means the adapter's defaults. */
function modelMapOf(env: ShardEnv): { readonly ok: true; readonly map: AnthropicModelMap } | Refusal {
  const value = env[ANTHROPIC_MODEL_MAP_BINDING];
  if (value !== undefined && typeof value !== 'string') {
    return misconfigured(`${ANTHROPIC_MODEL_MAP_BINDING} must be a plain-text binding holding JSON`);
  }
  const parsed = parseAnthropicModelMap(value, ANTHROPIC_MODEL_MAP_BINDING);
  return parsed.ok ? parsed : misconfigured(parsed.problem);
}

/**
 * An error in Anthropic's shape, with the request id: the adapter's refusal of the request, its verdict on a reply it
 * cannot use, or Google's error passed on. `code` goes in the log line for the worker's own errors; Google's have none.
 */
function failureOutcome(
  failure: AnthropicFailure,
  a: Admitted,
  code: string | undefined,
  facts: Partial<LineFacts> = {},
): Outcome {
  return {
    response: anthropicErrorResponse({ ...failure, body: { ...failure.body, request_id: a.requestId } }),
    line: { attempts: 0, ...facts, status: failure.status, ...(code !== undefined ? { error: code } : {}) },
  };
}

const ANTHROPIC_TOO_LARGE = new Refusal(
  413,
  'request_too_large',
  `Request body exceeds ${REPLAY_MAX_BYTES} bytes, the most the Anthropic routes read whole (they parse the body to translate it for Gemini); send images by URL, or less context.`,
);

/** Log codes of the adapter's refusals: a model no line maps (404), else a request it cannot translate (400). */
const planFailureCode = (failure: AnthropicFailure): string =>
  failure.status === 404 ? 'unknown_model' : 'invalid_request';

/** Log code of a Gemini reply the adapter cannot give as a message (no candidate, an unusable finish reason, …). */
const UNUSABLE_REPLY = 'upstream_unusable_reply';

type Planned =
  | {
      readonly ok: true;
      readonly plan: AnthropicUpstreamPlan;
      /** Claude Code's session id from `metadata.user_id` (see `../../core/conversation`) */
      readonly conversation?: string;
    }
  | { readonly ok: false; readonly outcome: Outcome };

/** Reads and plans the request: the upstream plan, or the outcome that refuses it before anything goes upstream. */
async function planOf(route: AnthropicRoute, a: Admitted): Promise<Planned> {
  const refuse = (r: Refusal): Planned => ({ ok: false, outcome: refusalOutcome(r, 'anthropic', a.requestId) });
  const models = modelMapOf(a.env);
  if (models instanceof Refusal) return refuse(models);
  if (a.config.keys.length === 0) return refuse(noKeysConfigured());
  // the request is translated, so it must be parsed whole: the replay bound is this route's limit
  const read = await readTranslatedBody(a, ANTHROPIC_TOO_LARGE);
  if (read instanceof Refusal) return refuse(read);
  const planned =
    route.name === 'anthropic.countTokens'
      ? planCountTokens(read.json, models.map)
      : planMessages(read.json, models.map);
  if (!planned.ok) return { ok: false, outcome: failureOutcome(planned, a, planFailureCode(planned)) };
  const conversation = bodyConversationId(read.json);
  return { ok: true, plan: planned.plan, ...(conversation !== undefined ? { conversation } : {}) };
}

/** Serves an Anthropic route through the key core. */
export async function serveAnthropicRoute(route: AnthropicRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const planned = await planOf(route, a);
  if (!planned.ok) return planned.outcome;
  const { plan, conversation } = planned;
  const sent = await sendTranslated(plan, conversation, 'anthropic', a, deps);
  if (!sent.ok) return sent.outcome;
  const outcome = await translate(sent.answer, route, plan, a, deps);
  return { ...outcome, line: { ...sent.line, ...outcome.line } };
}

/** Google's answer in Anthropic's terms: its error, the token count, the message whole or as a stream. */
async function translate(
  answer: GoogleAnswer,
  route: AnthropicRoute,
  plan: AnthropicUpstreamPlan,
  a: Admitted,
  deps: HandlerDeps,
): Promise<Outcome> {
  const upstream = answer.response;
  const line = answerFacts(answer);
  const secrets = secretsOf(a.config);
  if (!upstream.ok) {
    const text = answer.errorText ?? (await upstream.text().catch(() => ''));
    return failureOutcome(anthropicFailureFromBody(upstream.status, text, secrets), a, undefined, line);
  }
  const options = { messageId: newMessageId(deps.randomUUID()), model: plan.requestedModel, secrets };
  if (plan.stream && upstream.body) {
    const onError = streamCutReporter(answer, a, route.name, deps);
    const meter = new StreamMeter();
    const body = anthropicStreamFromGemini(upstream.body, { ...options, onError, meter });
    return {
      response: new Response(body, {
        status: 200,
        headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' },
      }),
      line,
      usage: meter.usage,
    };
  }
  const reply = await readWholeReply(upstream);
  if (reply instanceof Refusal) return refusalOutcome(reply, 'anthropic', a.requestId, line);
  if (route.name === 'anthropic.countTokens') {
    const counted = countTokensFromGemini(reply.json);
    return counted.ok
      ? { response: jsonResponse(200, counted.body), line }
      : failureOutcome(counted, a, UNUSABLE_REPLY, line);
  }
  const translated = anthropicMessageFromGemini(reply.json, options);
  return translated.ok
    ? { response: jsonResponse(200, translated.message), line, usage: wholeUsage(replyTokens(reply.json)) }
    : failureOutcome(translated, a, UNUSABLE_REPLY, line);
}
