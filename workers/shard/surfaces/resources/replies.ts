/**
 * What every resource route shares: the headers a call forwards, and Google's answer passed on with its names tagged
 * (`./names.ts`) and its errors as the native routes pass them (status and body as Google sent them, secrets
 * redacted). Which key a resource belongs to is `./owner-keys`' to say.
 */
import { isJsonObject } from '../../../shared/json';
import type { PoolKey } from '../../edge/bindings';
import { redactJsonText } from '../../core/redaction';
import { ANY_MODEL } from '../../core/key-pool';
import { Refusal, refusalOutcome } from '../../edge/refusal';
import { type StreamedBody, tooLargeRefusal } from '../../edge/request-body';
import { type Tagger, tagEventStream, tagNamesInText, type TagOptions } from './names';
import { type Admitted, type HandlerDeps, type LineFacts, type Outcome, secretsOf } from '../contract';
import {
  answerFacts,
  attemptFacts,
  type GoogleAnswer,
  type NoAnswer,
  noAnswerRefusal,
  readWholeReply,
  sendPlan,
} from '../../core/upstream-plan';
import type { UpstreamResult } from '../../core/upstream';

const FORWARDED_REQUEST_HEADERS = ['accept', 'user-agent', 'x-goog-api-client'] as const;

/** The client's headers a resource call forwards (plus `extra`, when the client sent them), never a credential. */
export function forwardedHeaders(request: Request, extra: readonly string[] = []): Headers {
  const headers = new Headers();
  for (const name of [...FORWARDED_REQUEST_HEADERS, ...extra]) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return headers;
}

/** The gateway's own refusal on a resource route, in its surface's error shape (Google's; OpenAI's on `/v1/files`). */
export function refused(r: Refusal, a: Admitted, facts: Partial<LineFacts> = {}): Outcome {
  return refusalOutcome(r, a.errors, a.requestId, facts);
}

/** No answer from Google to pass on: the key core's refusal, for the owning key when there is one. */
export function noAnswer(
  result: NoAnswer,
  a: Admitted,
  deps: HandlerDeps,
  secrets: readonly string[],
  owner?: PoolKey,
  model = ANY_MODEL,
): Outcome {
  const { refusal, facts } = noAnswerRefusal(result, a, deps, model, secrets, owner);
  return refused(refusal, a, { ...attemptFacts(result), ...facts });
}

/** Google's error, as the native routes pass it: its status and body, secrets redacted. */
export async function googleError(answer: GoogleAnswer, secrets: readonly string[]): Promise<Outcome> {
  const upstream = answer.response;
  const text = answer.errorText ?? (await upstream.text().catch(() => ''));
  const response = new Response(redactJsonText(text, secrets), {
    status: upstream.status,
    headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json; charset=UTF-8' },
  });
  return { response, line: answerFacts(answer) };
}

/**
 * Google's answer with every name in it tagged by `tagger` (its owner's tag, sealed for the client the resource is):
 * a stream event by event, anything else read whole (Google's resource replies are small metadata). `extraHeaders`
 * are set on the reply (the upload headers).
 */
export async function deliverTagged(
  answer: GoogleAnswer,
  tagger: Tagger,
  options: TagOptions,
  a: Admitted,
  secrets: readonly string[],
  extraHeaders: Readonly<Record<string, string>> = {},
): Promise<Outcome> {
  const upstream = answer.response;
  if (!upstream.ok) return googleError(answer, secrets);
  const line = answerFacts(answer);
  const contentType = upstream.headers.get('content-type') ?? 'application/json; charset=UTF-8';
  if (contentType.startsWith('text/event-stream') && upstream.body) {
    const body = tagEventStream(upstream.body, tagger, options);
    return {
      response: new Response(body, {
        status: upstream.status,
        headers: { 'content-type': contentType, 'cache-control': 'no-cache', ...extraHeaders },
      }),
      line,
    };
  }
  let text: string;
  try {
    text = await upstream.text();
  } catch {
    return refused(
      new Refusal(502, 'upstream_interrupted', 'The connection to Gemini broke before the reply was complete.'),
      a,
      line,
    );
  }
  const headers: Record<string, string> = { ...extraHeaders };
  if (text !== '') headers['content-type'] = contentType;
  return {
    response: new Response(text === '' ? null : await tagNamesInText(text, tagger, options), {
      status: upstream.status,
      headers,
    }),
    line,
  };
}

/** One key's call of a merged listing: Google's reply as a JSON object, or the outcome to answer instead. */
export type ListingCall =
  | { readonly kind: 'json'; readonly json: Readonly<Record<string, unknown>>; readonly attempts: number }
  | { readonly kind: 'failed'; readonly failure: Outcome; readonly attempts: number };

/**
 * Asks Google for one page of `key`'s listing at `path` (with its query), on that key alone. `errorOf` shapes
 * Google's own error for the surface (native or OpenAI); a reply that is not a JSON object counts as an empty one.
 */
export async function listingCall(
  key: PoolKey,
  path: string,
  keyStyle: 'bearer' | 'goog-header',
  a: Admitted,
  deps: HandlerDeps,
  errorOf: (answer: GoogleAnswer, secrets: readonly string[]) => Promise<Outcome>,
): Promise<ListingCall> {
  const secrets = secretsOf(a.config);
  const headers = forwardedHeaders(a.request);
  const result = await sendPlan({ path, method: 'GET', headers, keyStyle, model: ANY_MODEL, owner: key }, a, deps);
  const { attempts } = result;
  if (result.kind !== 'response') return { kind: 'failed', failure: noAnswer(result, a, deps, secrets, key), attempts };
  if (!result.response.ok) return { kind: 'failed', failure: await errorOf(result, secrets), attempts };
  const reply = await readWholeReply(result.response);
  if (reply instanceof Refusal) return { kind: 'failed', failure: refused(reply, a, attemptFacts(result)), attempts };
  return { kind: 'json', json: isJsonObject(reply.json) ? reply.json : {}, attempts };
}

/**
 * Google's answer to deliver, or what the call ends in instead: a 413 when the client's upload ran past
 * `MAX_BODY_BYTES` while it streamed to Google (that, not Google, is why the call failed), or the key core's refusal
 * when Google gave no answer, the rest of the upload then dropped. `streamed` is the body when it streamed from the
 * client; `owner` the owning key when the call could use no other.
 */
export async function settleCall(
  result: UpstreamResult,
  streamed: StreamedBody | undefined,
  a: Admitted,
  deps: HandlerDeps,
  owner?: PoolKey,
): Promise<
  { readonly kind: 'answer'; readonly answer: GoogleAnswer } | { readonly kind: 'outcome'; readonly outcome: Outcome }
> {
  if (streamed?.exceeded()) {
    if (result.kind === 'response') await result.response.body?.cancel().catch(() => undefined);
    return { kind: 'outcome', outcome: refused(tooLargeRefusal(a.config.maxBodyBytes), a, attemptFacts(result)) };
  }
  if (result.kind === 'response') return { kind: 'answer', answer: result };
  await streamed?.body.cancel().catch(() => undefined);
  return { kind: 'outcome', outcome: noAnswer(result, a, deps, secretsOf(a.config), owner) };
}
