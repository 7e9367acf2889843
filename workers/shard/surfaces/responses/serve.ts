/**
 * The Responses surface (`POST /v1/responses`): the adapter (`./adapter.ts`) plans a call to Gemini's native API, the
 * key core makes it like any other route's (pool, failover, cooldowns scoped to the Gemini model, MAX_WAIT_MS,
 * deadlines), and the adapter translates Google's answer: a stream event by event as Gemini's chunks arrive, a whole
 * reply at once. Every error here is an OpenAI error, keeping `retry-after` and `x-zen-pool`.
 */
import { REPLAY_MAX_BYTES } from '../../../shared/contract';
import { jsonResponse } from '../../../shared/http';
import { Refusal, refusalOutcome } from '../../edge/refusal';
import { StreamMeter, wholeUsage } from '../../core/stream-meter';
import { readTranslatedBody, sendTranslated } from '../../core/translated-call';
import { replyTokens } from '../../core/usage-tokens';
import {
  answerFacts,
  type GoogleAnswer,
  noKeysConfigured,
  readWholeReply,
  streamCutReporter,
} from '../../core/upstream-plan';
import { type Admitted, type HandlerDeps, type LineFacts, type Outcome, secretsOf } from '../contract';
import {
  failureFromBody,
  failureResponse,
  newResponseId,
  planResponses,
  type ResponsesUpstreamPlan,
  responseFromGemini,
  responsesStreamFromGemini,
} from './adapter';
import { responsesFailure } from './errors';
import type { ResponsesFailure } from './responses-types';
import type { ResponsesRoute } from './routes';

const RESPONSES_TOO_LARGE = new Refusal(
  413,
  'request_too_large',
  `Request body exceeds ${REPLAY_MAX_BYTES} bytes, the most the Responses route reads whole (it parses the body to translate it for Gemini); send images by URL, or less context.`,
);

/** The answer to a stored response's routes: nothing is stored here. */
const NOTHING_STORED = responsesFailure(
  404,
  'response_not_found',
  'This gateway stores no responses (every request is translated for Gemini and forgotten), so there is none to get, delete, cancel or list; send the whole conversation in input with store: false.',
);

/** An OpenAI error for the adapter's refusal, its verdict on a reply, or Google's error; `code` for the log line. */
function failureOutcome(
  failure: ResponsesFailure,
  logCode: string | undefined,
  facts: Partial<LineFacts> = {},
): Outcome {
  return {
    response: failureResponse(failure),
    line: { attempts: 0, ...facts, status: failure.status, ...(logCode !== undefined ? { error: logCode } : {}) },
  };
}

type Planned =
  | { readonly ok: true; readonly plan: ResponsesUpstreamPlan }
  | { readonly ok: false; readonly outcome: Outcome };

/** Reads and plans the request: the upstream plan, or the outcome that refuses it before anything goes upstream. */
async function planOf(a: Admitted): Promise<Planned> {
  const refuse = (r: Refusal): Planned => ({ ok: false, outcome: refusalOutcome(r, 'openai', a.requestId) });
  if (a.config.keys.length === 0) return refuse(noKeysConfigured());
  // the request is translated, so it must be parsed whole: the replay bound is this route's limit
  const read = await readTranslatedBody(a, RESPONSES_TOO_LARGE);
  if (read instanceof Refusal) return refuse(read);
  const planned = planResponses(read.json);
  return planned.ok ? planned : { ok: false, outcome: failureOutcome(planned, planned.code) };
}

/** Serves a Responses route through the key core. */
export async function serveResponsesRoute(route: ResponsesRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  if (route.name === 'responses.stored') return failureOutcome(NOTHING_STORED, NOTHING_STORED.code);
  const planned = await planOf(a);
  if (!planned.ok) return planned.outcome;
  const { plan } = planned;
  // Codex's session id: its turns stay on one project, where Gemini's implicit cache holds their shared prefix
  const sent = await sendTranslated(plan, plan.conversationId, 'openai', a, deps);
  if (!sent.ok) return sent.outcome;
  const outcome = await translate(sent.answer, route, plan, a, deps);
  return { ...outcome, line: { ...sent.line, ...outcome.line } };
}

/** Google's answer in the Responses API's terms: its error, the response whole or as a stream. */
async function translate(
  answer: GoogleAnswer,
  route: ResponsesRoute,
  plan: ResponsesUpstreamPlan,
  a: Admitted,
  deps: HandlerDeps,
): Promise<Outcome> {
  const upstream = answer.response;
  const line = answerFacts(answer);
  const secrets = secretsOf(a.config);
  if (!upstream.ok) {
    const text = answer.errorText ?? (await upstream.text().catch(() => ''));
    return failureOutcome(failureFromBody(upstream.status, text, secrets), undefined, line);
  }
  const options = {
    id: newResponseId(deps.randomUUID()),
    model: plan.requestedModel,
    createdAt: Math.floor(deps.now() / 1000),
    echo: plan.echo,
    names: plan.names,
    secrets,
  };
  if (plan.stream && upstream.body) {
    const onError = streamCutReporter(answer, a, route.name, deps);
    const meter = new StreamMeter();
    const body = responsesStreamFromGemini(upstream.body, { ...options, onError, meter });
    const headers = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
    return { response: new Response(body, { status: 200, headers }), line, usage: meter.usage };
  }
  const reply = await readWholeReply(upstream);
  if (reply instanceof Refusal) return refusalOutcome(reply, 'openai', a.requestId, line);
  const translated = responseFromGemini(reply.json, options);
  return translated.ok
    ? { response: jsonResponse(200, translated.response), line, usage: wholeUsage(replyTokens(reply.json)) }
    : failureOutcome(translated, translated.code, line);
}
