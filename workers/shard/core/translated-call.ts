/**
 * What the surfaces that translate a client's API into Gemini's native one share (Anthropic's Messages in
 * `../surfaces/anthropic/`, OpenAI's Responses in `../surfaces/responses/`): the client's body read whole within the
 * replay bound, since it is parsed to be translated, and the translated call sent as JSON on a pool key, with the key
 * core's refusal in the surface's own error shape when no key answered.
 */
import { REPLAY_MAX_BYTES } from '../../shared/contract';
import { type ErrorShape, Refusal, refusalOutcome } from '../edge/refusal';
import { readJsonObject, tooLargeRefusal } from '../edge/request-body';
import type { Admitted, HandlerDeps, LineFacts, Outcome } from '../surfaces/contract';
import { secretsOf } from '../surfaces/contract';
import { ownerFact, translatedFiles } from '../surfaces/resources/translated-files';
import { attemptFacts, type GoogleAnswer, noAnswerRefusal, sendPlan } from './upstream-plan';

/** A call to Gemini's native API that a surface translated from its client's request. */
export interface TranslatedPlan {
  /** the Gemini model id: the key pool's cooldown scope and part of the path */
  readonly geminiModel: string;
  /** the model name the client sent, repeated in the answer */
  readonly requestedModel: string;
  /** whether the client asked for a stream (then `upstreamSearch` is `?alt=sse`) */
  readonly stream: boolean;
  /** e.g. `/v1beta/models/gemini-3.8-flash:streamGenerateContent`, built from a validated model id only */
  readonly upstreamPath: string;
  /** `''` or `?alt=sse` */
  readonly upstreamSearch: string;
  /** the native request, serialised: a string, so failover may send it again to another key */
  readonly body: string;
}

/**
 * The client's JSON body, whole: within the replay bound (`tooLarge` says so in the surface's words) or, when the
 * worker's own `MAX_BODY_BYTES` is lower, within that.
 */
export function readTranslatedBody(
  a: Admitted,
  tooLarge: Refusal,
): Promise<{ readonly bytes: Uint8Array; readonly json: Record<string, unknown> } | Refusal> {
  return REPLAY_MAX_BYTES < a.config.maxBodyBytes
    ? readJsonObject(a.request, REPLAY_MAX_BYTES, tooLarge)
    : readJsonObject(a.request, a.config.maxBodyBytes, tooLargeRefusal(a.config.maxBodyBytes));
}

/** Google's answer to a translated call, and the log facts the call settled (the model, the files' owner). */
type Sent =
  | { readonly ok: true; readonly answer: GoogleAnswer; readonly line: Partial<LineFacts> }
  | { readonly ok: false; readonly outcome: Outcome };

/**
 * Sends the translated call through the key core (pool, failover, cooldowns, deadlines; `conversation` keeps it on its
 * home project): Google's answer, or the refusal the client gets in `shape`. The files the call names are held to the
 * native surface's rules first (see `../surfaces/resources/translated-files`), so it goes to their owner's project.
 */
export async function sendTranslated(
  plan: TranslatedPlan,
  conversation: string | undefined,
  shape: ErrorShape,
  a: Admitted,
  deps: HandlerDeps,
): Promise<Sent> {
  const files = await translatedFiles(plan.body, a);
  const named = { model: plan.geminiModel, ...ownerFact(files) };
  if (files instanceof Refusal) return { ok: false, outcome: refusalOutcome(files, shape, a.requestId, named) };
  const result = await sendPlan(
    {
      path: `${plan.upstreamPath}${plan.upstreamSearch}`,
      method: 'POST',
      headers: new Headers({ 'content-type': 'application/json' }),
      body: files.body,
      keyStyle: 'goog-header',
      model: plan.geminiModel,
      ...(conversation !== undefined ? { conversation } : {}),
      ...(files.owner !== undefined ? { owner: files.owner } : {}),
    },
    a,
    deps,
  );
  if (result.kind === 'response') return { ok: true, answer: result, line: named };
  const { refusal, facts } = noAnswerRefusal(result, a, deps, plan.geminiModel, secretsOf(a.config), files.owner);
  const line = { ...named, ...attemptFacts(result), ...facts };
  return { ok: false, outcome: refusalOutcome(refusal, shape, a.requestId, line) };
}
