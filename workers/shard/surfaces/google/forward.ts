/**
 * The OpenAI-compatible and native surfaces: each route is forwarded to the Google endpoint of the same shape, the
 * body byte for byte (re-serialising could alter what Google signed, thought signatures, and costs CPU), with thin
 * fix-ups where Google's compat endpoint differs from OpenAI (see `../openai/embeddings.ts`). Google's errors reach OpenAI clients
 * as OpenAI errors and native clients as Google sent them, secrets redacted. A body that names an owned resource (a
 * file, a cached content: see `../resources/references.ts`), which must be the client's own, goes, stripped of its
 * owner tags, to a key of the project that owns it; a chat completion's conversation id (`prompt_cache_key`, `user`)
 * keeps its turns on one project (see `../../core/conversation`).
 */
import { parseJsonObject } from '../../../shared/json';
import { REPLAY_MAX_BYTES } from '../../../shared/contract';
import { errorBody, jsonResponse } from '../../../shared/http';
import { formatOwnerTag } from '../../../shared/owner-tag';
import { redactJsonText } from '../../core/redaction';
import { sseWithErrorEvent } from '../../core/sse-framing';
import { StreamMeter, tailTap, tappedStream, wholeUsage } from '../../core/stream-meter';
import { replyTokens } from '../../core/usage-tokens';
import { embeddingsRequest, embeddingsResponse } from '../openai/embeddings';
import { toOpenAIError } from '../openai/errors';
import { bodyConversationId } from '../../core/conversation';
import { ANY_MODEL } from '../../core/key-pool';
import { keyOfOwner, ownedReferenceInLargeBody, referencedOwner, unknownOwner } from '../resources/owner-keys';
import { Refusal, refusalOutcome } from '../../edge/refusal';
import { NOT_A_JSON_OBJECT, readBodyOrStream, type StreamedBody, tooLargeRefusal } from '../../edge/request-body';
import { type OwnedReference, scanReferences, watchForReferences } from '../resources/references';
import { tenantOf } from '../resources/tenancy';
import { normaliseModel } from '../route-matching';
import type { GoogleRoute } from './routes';
import { type Admitted, type HandlerDeps, type LineFacts, type Outcome, secretsOf } from '../contract';
import {
  answerFacts,
  attemptFacts,
  type GoogleAnswer,
  noAnswerRefusal,
  noKeysConfigured,
  readWholeReply,
  sendPlan,
  streamCutReporter,
} from '../../core/upstream-plan';

const FORWARDED_REQUEST_HEADERS = ['accept', 'user-agent', 'x-goog-api-client'] as const;

interface Prepared {
  readonly body?: Uint8Array | string;
  /** a body over the replay bound, forwarded unparsed, once */
  readonly stream?: StreamedBody;
  readonly model?: string;
  /** 'by-reply': the body was not parsed, so the reply's content-type tells whether it streams */
  readonly streaming: boolean | 'by-reply';
  /** embeddings only: whether the client wants base64 */
  readonly base64?: boolean;
  /** the owned resources the body names all belong to this reference's owner (`body` is stripped of the tags) */
  readonly owned?: OwnedReference;
  /** a streamed body: the reference whose tag stopped the upload, if one appeared */
  readonly referenceSeen?: () => string | undefined;
  /** chat completions: the conversation id the body holds (see `../../core/conversation`) */
  readonly conversation?: string;
}

const EMBEDDINGS_TOO_LARGE = new Refusal(
  413,
  'request_too_large',
  `Request body exceeds ${REPLAY_MAX_BYTES} bytes, the most the embeddings route reads whole (it parses the body to rewrite it); send fewer or shorter inputs per request.`,
);

/** Validates the client's body for the route and derives what the call needs from it. */
async function prepare(route: GoogleRoute, a: Admitted): Promise<Prepared | Refusal> {
  const { request, config } = a;
  if (route.method === 'GET') return { ...(route.model ? { model: route.model } : {}), streaming: false };
  // embeddings are rewritten (encoding_format), so their body must be parsed, which needs it whole
  const wholeOnly = route.name === 'embeddings' && REPLAY_MAX_BYTES < config.maxBodyBytes;
  const read = wholeOnly
    ? await readBodyOrStream(request, REPLAY_MAX_BYTES, REPLAY_MAX_BYTES, EMBEDDINGS_TOO_LARGE)
    : await readBodyOrStream(request, config.maxBodyBytes, REPLAY_MAX_BYTES);
  if (read instanceof Refusal) return read;
  if (read.kind === 'stream') {
    // sent once, unparsed: a native route's model is in its path; a chat or image body's model is not known, so a
    // key fault cools the key for every model (ANY_MODEL) and the reply's content-type says whether it streams.
    // Nor can its owned references be found before the key is chosen: one that shows up stops the upload.
    const watched = watchForReferences(read.body);
    return {
      stream: { ...read, body: watched.body },
      referenceSeen: watched.seen,
      ...(route.model ? { model: route.model } : {}),
      streaming: route.surface === 'native' ? route.name === 'native.streamGenerateContent' : 'by-reply',
    };
  }
  const { bytes } = read;
  const json = parseJsonObject(bytes);
  if (json === undefined) return NOT_A_JSON_OBJECT;
  const scan = scanReferences(json);
  if (scan.untagged[0] !== undefined) return unknownOwner(scan.untagged[0]);
  // each file or cached content named must be the client's own, and all of one project
  const owned = await referencedOwner(scan.references, tenantOf(a), config);
  if (owned instanceof Refusal) return owned;
  const ownedField = owned !== undefined ? { owned } : {};
  // a body that names nothing owned is the very object parsed: `stripped` is `json` then
  const upstreamJson = scan.stripped as Record<string, unknown>;
  if (route.name === 'embeddings') {
    const prepared = embeddingsRequest(upstreamJson);
    if (!prepared.ok) return new Refusal(400, 'invalid_encoding_format', prepared.message);
    const model = normaliseModel(json.model);
    return {
      body: prepared.upstreamBody,
      ...(model ? { model } : {}),
      streaming: false,
      base64: prepared.base64,
      ...ownedField,
    };
  }
  const model = route.model ?? normaliseModel(json.model);
  const streaming =
    route.name === 'native.streamGenerateContent' || (route.name === 'chat.completions' && json.stream === true);
  // the bytes as sent when nothing is owned; else the tags must go, and re-serialising is the price of that
  const body = owned === undefined ? bytes : JSON.stringify(upstreamJson);
  const conversation = route.name === 'chat.completions' ? bodyConversationId(json, { user: true }) : undefined;
  return {
    body,
    ...(model ? { model } : {}),
    streaming,
    ...ownedField,
    ...(conversation !== undefined ? { conversation } : {}),
  };
}

function forwardedHeaders(request: Request, route: GoogleRoute): Headers {
  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  if (route.method === 'POST') headers.set('content-type', 'application/json');
  return headers;
}

/** Serves an OpenAI-compatible or native route through the key core. */
export async function serveGoogleRoute(route: GoogleRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  if (a.config.keys.length === 0) return refusalOutcome(noKeysConfigured(), a.errors, a.requestId);
  const prepared = await prepare(route, a);
  if (prepared instanceof Refusal) return refusalOutcome(prepared, a.errors, a.requestId);
  const model = prepared.model ?? ANY_MODEL;
  // the owner's tag, never its key, says in the log line that the request could use that key only
  const modelField = {
    ...(prepared.model ? { model: prepared.model } : {}),
    ...(prepared.owned ? { owner: formatOwnerTag(prepared.owned.owner) } : {}),
  };
  const owner =
    prepared.owned === undefined
      ? undefined
      : await keyOfOwner(prepared.owned.owner, prepared.owned.reference, a.config);
  if (owner instanceof Refusal) return refusalOutcome(owner, a.errors, a.requestId, modelField);
  const result = await sendPlan(
    {
      path: `${route.upstreamPath}${route.upstreamSearch}`,
      method: route.method,
      headers: forwardedHeaders(a.request, route),
      ...(prepared.stream !== undefined
        ? { body: prepared.stream.body }
        : prepared.body !== undefined
          ? { body: prepared.body }
          : {}),
      keyStyle: route.surface === 'openai' ? 'bearer' : 'goog-header',
      model,
      ...(owner !== undefined ? { owner } : {}),
      ...(prepared.conversation !== undefined ? { conversation: prepared.conversation } : {}),
    },
    a,
    deps,
  );
  const secrets = secretsOf(a.config);
  if (prepared.stream?.exceeded()) {
    // a chunked upload ran past MAX_BODY_BYTES while it streamed to Google: that, not Google, is why the call failed
    if (result.kind === 'response') await result.response.body?.cancel().catch(() => undefined);
    return refusalOutcome(tooLargeRefusal(a.config.maxBodyBytes), a.errors, a.requestId, {
      ...modelField,
      ...attemptFacts(result),
    });
  }
  const seen = prepared.referenceSeen?.();
  if (seen !== undefined) {
    if (result.kind === 'response') await result.response.body?.cancel().catch(() => undefined);
    return refusalOutcome(ownedReferenceInLargeBody(seen, REPLAY_MAX_BYTES), a.errors, a.requestId, {
      ...modelField,
      ...attemptFacts(result),
    });
  }
  if (result.kind !== 'response') {
    await prepared.stream?.body.cancel().catch(() => undefined);
    const { refusal, facts } = noAnswerRefusal(result, a, deps, model, secrets, owner);
    return refusalOutcome(refusal, a.errors, a.requestId, { ...modelField, ...attemptFacts(result), ...facts });
  }
  const outcome = await deliver(result, route, prepared, a, secrets, streamCutReporter(result, a, route.name, deps));
  return { ...outcome, line: { ...modelField, ...outcome.line } };
}

/** The error event that ends a stream Google cut off, in the surface's own error shape. */
function streamErrorEvent(route: GoogleRoute): string {
  const message = 'The connection to Gemini broke before the reply was complete.';
  return JSON.stringify(
    route.surface === 'openai'
      ? errorBody(message, 'server_error', 'upstream_stream_interrupted')
      : { error: { code: 502, message, status: 'UNAVAILABLE' } },
  );
}

/** Google's error, as OpenAI's error object on the OpenAI surface, as Google sent it on the native one. */
async function deliverError(answer: GoogleAnswer, route: GoogleRoute, secrets: readonly string[]): Promise<Outcome> {
  const upstream = answer.response;
  const text = answer.errorText ?? (await upstream.text().catch(() => ''));
  const response =
    route.surface === 'openai'
      ? jsonResponse(upstream.status, toOpenAIError(upstream.status, text, secrets))
      : new Response(redactJsonText(text, secrets), {
          status: upstream.status,
          headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json; charset=UTF-8' },
        });
  return { response, line: answerFacts(answer) };
}

/** Shapes Google's answer for the client: errors, streams event by event, whole replies checked. */
async function deliver(
  answer: GoogleAnswer,
  route: GoogleRoute,
  prepared: Prepared,
  a: Admitted,
  secrets: readonly string[],
  onStreamError: () => void,
): Promise<Outcome> {
  const upstream = answer.response;
  if (!upstream.ok) return deliverError(answer, route, secrets);
  const line = answerFacts(answer);
  const contentType = upstream.headers.get('content-type') ?? 'application/json; charset=UTF-8';
  const streaming =
    prepared.streaming === 'by-reply' ? contentType.startsWith('text/event-stream') : prepared.streaming;
  if (streaming && upstream.body) {
    // the usage is in the stream's last chunk: the tap keeps its tail, read once at the end
    const meter = new StreamMeter();
    const tap = tailTap(meter);
    const body = contentType.startsWith('text/event-stream')
      ? sseWithErrorEvent(upstream.body, streamErrorEvent(route), onStreamError, tap)
      : tappedStream(upstream.body, tap);
    return {
      response: new Response(body, {
        status: upstream.status,
        headers: { 'content-type': contentType, 'cache-control': 'no-cache' },
      }),
      line,
      usage: meter.usage,
    };
  }
  const reply = await readWholeReply(upstream);
  const failed = (r: Refusal, facts: Partial<LineFacts>): Outcome => refusalOutcome(r, a.errors, a.requestId, facts);
  if (reply instanceof Refusal) return failed(reply, line);
  if (route.name === 'embeddings') {
    const fixed = embeddingsResponse(reply.json, prepared.base64 ?? true);
    if (fixed === undefined)
      return failed(
        new Refusal(502, 'upstream_invalid_response', 'Gemini answered embeddings in an unexpected shape.'),
        line,
      );
    return { response: jsonResponse(upstream.status, fixed), line, usage: wholeUsage(replyTokens(reply.json)) };
  }
  return {
    response: new Response(reply.text, { status: upstream.status, headers: { 'content-type': contentType } }),
    line,
    usage: wholeUsage(replyTokens(reply.json)),
  };
}
