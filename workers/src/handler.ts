/**
 * The src worker's request pipeline, free of Workers-only types so it can be reasoned about (and type-checked)
 * as plain web-platform code: CORS → URL checks → route → config → password → body → key pool → Google → fix-ups.
 * Each step that refuses a request does so before anything is sent upstream, and no byte of the body is read
 * before the URL, the route, the password and the declared size have passed.
 */
import { corsHeaders } from '../shared/cors';
import { errorBody, jsonError, jsonResponse, openAIErrorType } from '../shared/http';
import { parseJson } from '../shared/json';
import { POOL_EXHAUSTED, POOL_HEADER } from '../shared/pool-refusal';
import { requestIdOf } from '../shared/request-id';
import { identifyClient, missingCredentialMessage, presentedCredential, type CredentialPlaces } from './auth';
import { PASS_CLIENT_NAME } from './client-tokens';
import { readConfig, type SrcConfig, type SrcEnv } from './bindings';
import { preflightHeaders } from './preflight';
import {
  embeddingsRequest,
  embeddingsResponse,
  redact,
  redactJsonText,
  sseWithErrorEvent,
  toOpenAIError,
} from './fixups';
import { ANY_MODEL } from './key-pool';
import type { RequestLine } from './log';
import { matchRoute, normaliseModel, type Route } from './routes';
import { STATUS_PATH, STATUS_ROUTE, workerStatus } from './status';
import { sendUpstream, type UpstreamDeps, type UpstreamResult } from './upstream';

/** Longer URLs are refused before routing; no legitimate call to this API comes near it. */
export const MAX_URL_LENGTH = 8192;

export interface HandlerDeps extends UpstreamDeps {
  readonly randomUUID: () => string;
}

/** A refusal: status, OpenAI error code and message, plus extra headers. */
class Refusal {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly headers: Record<string, string> = {},
  ) {}
}

const FORWARDED_REQUEST_HEADERS = ['accept', 'user-agent', 'x-goog-api-client'] as const;

/**
 * Reads the body up to `limit` bytes; a Refusal beyond it (by the declared `content-length` before reading a byte,
 * or counted while reading a chunked body), without reading the rest. A body that cannot be read (the client cut
 * its upload, or sent chunked encoding the runtime rejects) is the client's fault: a 400, not a 500.
 */
async function readBoundedBody(request: Request, limit: number): Promise<Uint8Array | Refusal> {
  const tooLarge = new Refusal(413, 'request_too_large', `Request body exceeds the limit of ${limit} bytes.`);
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) return tooLarge;
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let read: Awaited<ReturnType<typeof reader.read>>;
    try {
      read = await reader.read();
    } catch {
      return new Refusal(
        400,
        'body_read_error',
        'The request body could not be read: the upload was cut off, or its chunked transfer encoding is malformed (chunk extensions are not supported). Send the body again, whole.',
      );
    }
    const { done, value } = read;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return tooLarge;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  const value = parseJson(bytes);
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

interface Prepared {
  readonly body?: Uint8Array | string;
  readonly model?: string;
  readonly streaming: boolean;
  /** embeddings only: whether the client wants base64 */
  readonly base64?: boolean;
}

/** Validates the client's body for the route and derives what the pipeline needs from it. */
async function prepare(request: Request, route: Route, config: SrcConfig): Promise<Prepared | Refusal> {
  if (route.method === 'GET') return { ...(route.model ? { model: route.model } : {}), streaming: false };
  const bytes = await readBoundedBody(request, config.maxBodyBytes);
  if (bytes instanceof Refusal) return bytes;
  const json = parseJsonObject(bytes);
  if (!json) return new Refusal(400, 'invalid_json', 'Request body must be a JSON object.');
  if (route.name === 'embeddings') {
    const prepared = embeddingsRequest(json);
    if (!prepared.ok) return new Refusal(400, 'invalid_encoding_format', prepared.message);
    const model = normaliseModel(json.model);
    return { body: prepared.upstreamBody, ...(model ? { model } : {}), streaming: false, base64: prepared.base64 };
  }
  const model = route.model ?? normaliseModel(json.model);
  const streaming =
    route.name === 'native.streamGenerateContent' || (route.name === 'chat.completions' && json.stream === true);
  // forwarded byte for byte: re-serialising could alter what Google signed (thought signatures) and costs CPU
  return { body: bytes, ...(model ? { model } : {}), streaming };
}

/** Marks a refusal that spent no billable upstream work, so the orchestrator may try another shard's keys. */
const POOL_REFUSAL = { [POOL_HEADER]: POOL_EXHAUSTED } as const;

function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/**
 * The answer when no key could serve the request: cooling (429 with retry-after) or gone (503). By then the request
 * has waited for a cooling key whenever MAX_WAIT_MS allowed it (see `sendUpstream`).
 */
function keysUnavailable(deps: HandlerDeps, config: SrcConfig, model: string): Refusal {
  const status = deps.pool.status(
    config.keys.map((k) => k.index),
    model,
    deps.now(),
  );
  switch (status.kind) {
    case 'cooling':
      return new Refusal(
        429,
        status.allDay ? 'daily_quota_exhausted' : 'all_keys_cooling',
        status.allDay
          ? 'Every Gemini API key of this worker has used its daily quota for this model; quotas reset at midnight Pacific time.'
          : 'Every Gemini API key of this worker is rate limited for this model; retry after the retry-after delay.',
        {
          'retry-after': retryAfterSeconds(status.retryAfterMs),
          ...(status.allDay ? { 'x-should-retry': 'false' } : {}),
          ...POOL_REFUSAL,
        },
      );
    case 'exhausted':
      return new Refusal(
        503,
        'no_usable_keys',
        'Every Gemini API key of this worker was rejected by Google as invalid, suspended or leaked.',
        POOL_REFUSAL,
      );
    case 'available':
      // keys remain, but every attempt of this request met a key fault (a 429 or a rejected key), which Google does
      // not bill: so this is a pool refusal too, and another shard may serve the request at once. Many isolates of
      // one shard each learn a cooldown separately, so this is how a request survives landing on one that learns late.
      return new Refusal(429, 'rate_limited', 'Gemini rate limited every key this request tried; retry shortly.', {
        'retry-after': '1',
        ...POOL_REFUSAL,
      });
  }
}

/** The error event that ends a stream Google cut off, in the surface's own error shape. */
function streamErrorEvent(route: Route): string {
  const message = 'The connection to Gemini broke before the reply was complete.';
  return JSON.stringify(
    route.surface === 'openai'
      ? errorBody(message, 'server_error', 'upstream_stream_interrupted')
      : { error: { code: 502, message, status: 'UNAVAILABLE' } },
  );
}

/** Why Google's refusal of the Worker's region is not the client's to fix, and what the operator can do. */
function unsupportedLocationMessage(googleMessage: string | undefined, secrets: readonly string[]): string {
  const quoted = googleMessage === undefined ? '' : ` ("${redact(googleMessage, secrets)}")`;
  return (
    `Gemini refused the request with FAILED_PRECONDITION${quoted}: Google does not serve the region the gateway's Worker ran in. ` +
    'This depends on the Cloudflare location, not on the request or the keys, and retrying from the same place will not help. ' +
    'The operator can enable Smart Placement on the shard workers so they run near Google.'
  );
}

interface Outcome {
  readonly response: Response;
  readonly line: Omit<RequestLine, 'event' | 'requestId' | 'route' | 'ms'>;
}

function refusalOutcome(r: Refusal, extra: Partial<Outcome['line']> = {}): Outcome {
  return {
    response: jsonError(r.status, r.message, openAIErrorType(r.status), r.code, r.headers),
    line: { attempts: 0, ...extra, status: r.status, error: r.code },
  };
}

/** Shapes Google's answer for the client. */
async function deliver(
  result: Extract<UpstreamResult, { kind: 'response' }>,
  route: Route,
  prepared: Prepared,
  secrets: readonly string[],
  onStreamError: () => void,
): Promise<Outcome> {
  const { response: upstream, keyIndex, attempts, waitedMs } = result;
  const base = { keyIndex, attempts, upstreamStatus: upstream.status, ...(waitedMs > 0 ? { waitedMs } : {}) };
  if (!upstream.ok) {
    const text = result.errorText ?? (await upstream.text().catch(() => ''));
    const response =
      route.surface === 'openai'
        ? jsonResponse(upstream.status, toOpenAIError(upstream.status, text, secrets))
        : new Response(redactJsonText(text, secrets), {
            status: upstream.status,
            headers: { 'content-type': upstream.headers.get('content-type') ?? 'application/json; charset=UTF-8' },
          });
    return { response, line: { ...base, status: upstream.status } };
  }
  const contentType = upstream.headers.get('content-type') ?? 'application/json; charset=UTF-8';
  if (prepared.streaming && upstream.body) {
    const body = contentType.startsWith('text/event-stream')
      ? sseWithErrorEvent(upstream.body, streamErrorEvent(route), onStreamError)
      : upstream.body;
    return {
      response: new Response(body, {
        status: upstream.status,
        headers: { 'content-type': contentType, 'cache-control': 'no-cache' },
      }),
      line: { ...base, status: upstream.status },
    };
  }
  // non-streamed replies are small enough to check whole, which turns a cut or garbled body into a clear 502
  let text: string;
  try {
    text = await upstream.text();
  } catch {
    return refusalOutcome(
      new Refusal(502, 'upstream_interrupted', 'The connection to Gemini broke before the reply was complete.'),
      base,
    );
  }
  const parsed = parseJson(text);
  if (parsed === undefined) {
    return refusalOutcome(
      new Refusal(502, 'upstream_invalid_response', 'Gemini answered with a body that is not valid JSON.'),
      base,
    );
  }
  if (route.name === 'embeddings') {
    const fixed = embeddingsResponse(parsed, prepared.base64 ?? true);
    if (fixed === undefined)
      return refusalOutcome(
        new Refusal(502, 'upstream_invalid_response', 'Gemini answered embeddings in an unexpected shape.'),
        base,
      );
    return { response: jsonResponse(upstream.status, fixed), line: { ...base, status: upstream.status } };
  }
  return {
    response: new Response(text, { status: upstream.status, headers: { 'content-type': contentType } }),
    line: { ...base, status: upstream.status },
  };
}

/** What the request's log line says beyond its outcome, filled in as the pipeline learns it. */
interface RequestFacts {
  route: string;
  /** the name of the credential the client presented: `pass`, or a client token's name */
  client?: string;
}

/**
 * Checks the client's credential against `PASS` and every client token; a Refusal, or undefined once it matched
 * (and `facts.client` names it).
 */
async function authenticate(
  places: CredentialPlaces,
  request: Request,
  url: URL,
  config: SrcConfig,
  facts: RequestFacts,
): Promise<Refusal | undefined> {
  const credential = presentedCredential(places, request.headers, url.searchParams);
  if (credential.kind === 'missing') return new Refusal(401, 'missing_api_key', missingCredentialMessage(places));
  if (credential.kind === 'wrong-place') {
    return new Refusal(
      401,
      'wrong_auth_header',
      `Password sent in the wrong place: this route reads it from ${credential.expected}.`,
    );
  }
  const client = await identifyClient(credential.value, [
    { name: PASS_CLIENT_NAME, value: config.pass },
    ...config.clientTokens,
  ]);
  if (client === undefined) return new Refusal(401, 'invalid_api_key', 'Incorrect password.');
  facts.client = client;
  return undefined;
}

/** `GET /zen/status`: this isolate's view of its keys, behind the same password as every other route. */
async function statusOutcome(
  request: Request,
  url: URL,
  env: SrcEnv,
  deps: HandlerDeps,
  facts: RequestFacts,
): Promise<Outcome> {
  facts.route = STATUS_ROUTE;
  if (request.method !== 'GET') {
    return refusalOutcome(
      new Refusal(405, 'method_not_allowed', 'This path only accepts GET.', { allow: 'GET, OPTIONS' }),
    );
  }
  const configResult = readConfig(env);
  if (!configResult.ok)
    return refusalOutcome(
      new Refusal(500, 'server_misconfigured', `The worker is misconfigured: ${configResult.problem}.`),
    );
  const config = configResult.config;
  const refused = await authenticate('headers', request, url, config, facts);
  if (refused) return refusalOutcome(refused);
  const now = deps.now();
  const body = workerStatus(
    deps.pool.snapshot(
      config.keys.map((k) => k.index),
      now,
    ),
    deps.pool.requests(),
    now,
  );
  return { response: jsonResponse(200, body, { 'cache-control': 'no-store' }), line: { attempts: 0, status: 200 } };
}

async function pipeline(
  request: Request,
  env: SrcEnv,
  deps: HandlerDeps,
  requestId: string,
  facts: RequestFacts,
): Promise<Outcome> {
  if (request.url.length > MAX_URL_LENGTH)
    return refusalOutcome(new Refusal(414, 'url_too_long', `URL exceeds ${MAX_URL_LENGTH} characters.`));
  const url = new URL(request.url);
  if (url.pathname === STATUS_PATH) return statusOutcome(request, url, env, deps, facts);
  const match = matchRoute(request.method, url.pathname, url.searchParams);
  switch (match.kind) {
    case 'not-found':
      return refusalOutcome(
        new Refusal(
          404,
          'unknown_url',
          'Unknown path. Routes: /v1/chat/completions, /v1/embeddings, /v1/models[/{model}], /v1beta/models[/{model}[:{action}]], /zen/status.',
        ),
      );
    case 'method-not-allowed':
      return refusalOutcome(
        new Refusal(405, 'method_not_allowed', `This path only accepts ${match.allow}.`, {
          allow: `${match.allow}, OPTIONS`,
        }),
      );
    case 'bad-query':
      return refusalOutcome(new Refusal(400, 'invalid_query', match.message));
    case 'route':
      break;
  }
  const { route } = match;
  facts.route = route.name;

  const configResult = readConfig(env);
  if (!configResult.ok)
    return refusalOutcome(
      new Refusal(500, 'server_misconfigured', `The worker is misconfigured: ${configResult.problem}.`),
    );
  const config = configResult.config;

  const refused = await authenticate(route.surface, request, url, config, facts);
  if (refused) return refusalOutcome(refused);

  if (config.keys.length === 0) {
    return refusalOutcome(
      new Refusal(
        503,
        'no_keys_configured',
        'This worker has no Gemini API keys (KEY1, KEY2, ... bindings).',
        POOL_REFUSAL,
      ),
    );
  }

  const prepared = await prepare(request, route, config);
  if (prepared instanceof Refusal) return refusalOutcome(prepared);
  const model = prepared.model ?? ANY_MODEL;
  const modelField = prepared.model ? { model: prepared.model } : {};

  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  if (route.method === 'POST') headers.set('content-type', 'application/json');

  const result = await sendUpstream(
    {
      requestId,
      url: `${config.baseUrl}${route.upstreamPath}${route.upstreamSearch}`,
      probeUrl: `${config.baseUrl}/v1beta/models?pageSize=1`,
      method: route.method,
      headers,
      ...(prepared.body !== undefined ? { body: prepared.body } : {}),
      keyStyle: route.surface === 'openai' ? 'bearer' : 'goog-header',
      model,
      keys: config.keys,
      timeoutMs: config.timeoutMs,
      maxWaitMs: config.maxWaitMs,
      signal: request.signal,
    },
    deps,
  );
  const secrets = [config.pass, ...config.clientTokens.map((t) => t.value), ...config.keys.map((k) => k.value)];
  const attempts = {
    attempts: result.attempts,
    ...(result.keyIndex !== undefined ? { keyIndex: result.keyIndex } : {}),
    ...(result.waitedMs > 0 ? { waitedMs: result.waitedMs } : {}),
  };
  switch (result.kind) {
    case 'timeout':
      return refusalOutcome(
        new Refusal(504, 'upstream_timeout', `Gemini did not answer within ${config.timeoutMs} ms.`),
        { ...modelField, ...attempts },
      );
    case 'unreachable':
      return refusalOutcome(new Refusal(502, 'upstream_unreachable', 'Could not connect to Gemini.'), {
        ...modelField,
        ...attempts,
      });
    case 'redirect':
      return refusalOutcome(
        new Refusal(
          502,
          'upstream_redirect',
          `The upstream answered with a redirect (HTTP ${result.upstreamStatus}), which the gateway never follows so that no key leaves for another host. Google does not redirect API calls: check GEMINI_BASE_URL and any proxy in front of Google.`,
        ),
        { ...modelField, ...attempts, upstreamStatus: result.upstreamStatus },
      );
    case 'unsupported-location':
      // 502: the fault is the gateway's placement, which operators watch for; x-should-retry stops the openai SDK
      // from repeating a request that will be refused from the same place
      return refusalOutcome(
        new Refusal(502, 'unsupported_location', unsupportedLocationMessage(result.googleMessage, secrets), {
          'x-should-retry': 'false',
        }),
        {
          ...modelField,
          ...attempts,
          upstreamStatus: 400,
        },
      );
    case 'client-gone':
      // nobody reads this answer; the status is for the log line (nginx's "client closed request")
      return refusalOutcome(
        new Refusal(499, 'client_disconnected', 'The client went away before the answer was ready.'),
        { ...modelField, ...attempts },
      );
    case 'keys-failed':
      return refusalOutcome(keysUnavailable(deps, config, model), {
        ...modelField,
        ...attempts,
        ...(result.upstreamStatus !== undefined ? { upstreamStatus: result.upstreamStatus } : {}),
      });
    case 'response': {
      const onStreamError = (): void => {
        deps.pool.recordError(result.keyIndex, { code: 'upstream_stream_interrupted', at: deps.now() });
        deps.log({ event: 'stream_error', requestId, route: route.name, keyIndex: result.keyIndex });
      };
      const outcome = await deliver(result, route, prepared, secrets, onStreamError);
      return { ...outcome, line: { ...modelField, ...outcome.line } };
    }
  }
}

/** Handles one request; never throws (an unexpected fault becomes a JSON 500 and a log line). */
export async function handleRequest(request: Request, env: SrcEnv, deps: HandlerDeps): Promise<Response> {
  const started = deps.now();
  const requestId = requestIdOf(request.headers, deps.randomUUID);
  if (request.method === 'OPTIONS') {
    return new Response(null, {
      status: 204,
      headers: {
        ...preflightHeaders(request.headers.get('access-control-request-headers')),
        'x-request-id': requestId,
      },
    });
  }
  const facts: RequestFacts = { route: 'unmatched' };
  let outcome: Outcome;
  try {
    outcome = await pipeline(request, env, deps, requestId, facts);
  } catch {
    // the exception text could quote request data; the log line records that it happened, the client gets a code
    outcome = refusalOutcome(new Refusal(500, 'internal_error', 'The worker failed unexpectedly.'));
  }
  // the status view counts the requests clients make, not the operators' looks at it
  if (facts.route !== STATUS_ROUTE) deps.pool.countRequest(started);
  const headers = new Headers(outcome.response.headers);
  for (const [name, value] of Object.entries(corsHeaders())) headers.set(name, value);
  headers.set('x-request-id', requestId);
  const client = facts.client !== undefined ? { client: facts.client } : {};
  deps.log({
    event: 'request',
    requestId,
    route: facts.route,
    ...client,
    ...outcome.line,
    ms: deps.now() - started,
  });
  return new Response(outcome.response.body, { status: outcome.response.status, headers });
}
