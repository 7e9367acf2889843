/**
 * The shard worker's request handling, free of Workers-only types so it can be reasoned about (and type-checked) as
 * plain web-platform code. The edge (this file) answers CORS preflights, checks the URL, matches the route, reads
 * the configuration and identifies the client; then the route's surface (`surfaces/google/forward.ts` for the
 * OpenAI-compatible and native routes, `surfaces/anthropic/serve.ts` for Anthropic's) reads the body, plans the upstream
 * call, has the key core (`upstream.ts`) make it, and shapes the answer. Each step that refuses a request does so
 * before anything is sent upstream, and no byte of the body is read before the URL, the route, the credential and
 * the declared size have passed.
 */
import { corsHeaders } from '../../shared/cors';
import { jsonResponse } from '../../shared/http';
import { REQUEST_ID_HEADER, requestIdOf } from '../../shared/request-id';
import { serveAnthropicRoute } from '../surfaces/anthropic/serve';
import { identifyClient, missingCredentialMessage, presentedCredential, type CredentialPlaces } from './auth';
import { PASS_CLIENT_NAME } from './client-tokens';
import { readConfig, type ShardConfig, type ShardEnv } from './bindings';
import { preflightHeaders } from './preflight';
import { serveGoogleRoute } from '../surfaces/google/forward';
import { serveLiveRoute } from '../surfaces/live/serve';
import { serveResourceRoute } from '../surfaces/resources/serve';
import { type ErrorShape, misconfigured, Refusal, refusalOutcome } from './refusal';
import { matchRoute, type Route } from './routes';
import { STATUS_PATH, STATUS_ROUTE, workerStatus } from '../core/status';
import type { Admitted, HandlerDeps, Outcome } from '../surfaces/contract';

export type { HandlerDeps } from '../surfaces/contract';

/** Longer URLs are refused before routing; no legitimate call to this API comes near it. */
export const MAX_URL_LENGTH = 8192;

/** The route name of `GET /` and `HEAD /` in log lines. */
export const ROOT_ROUTE = 'root';

/** The route name of requests that matched no route. */
const UNMATCHED = 'unmatched';

const ROUTES_HINT =
  'Unknown path. Routes: /v1/chat/completions, /v1/embeddings, /v1/images/generations, /v1/models[/{model}], /v1beta/models[/{model}[:{action}]], /upload/v1beta/files, /v1beta/files[/{file}[:download]], /v1beta/cachedContents[/{id}], /v1beta/batches[/{id}[:cancel]], /v1beta/interactions[/{id}[/cancel]], /v1/files[/{id}[/content]], /v1/batches[/{id}[/cancel]], /v1/messages[/count_tokens], /ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent (WebSocket), /zen/status.';

/** Where the edge sends a request whose credential it has checked. */
type Target = { readonly kind: 'status' } | { readonly kind: 'route'; readonly route: Route };

/** A request handled to its end: its outcome and what the log line says about it. */
interface Settled {
  /** route name for the log line */
  readonly route: string;
  /** the name of the credential the client presented: `pass`, or a client token's name */
  readonly client?: string;
  readonly shape: ErrorShape;
  readonly outcome: Outcome;
}

type Admission =
  | ({ readonly kind: 'settled' } & Settled)
  | {
      readonly kind: 'admitted';
      readonly route: string;
      readonly client: string;
      readonly shape: ErrorShape;
      readonly target: Target;
      readonly admitted: Admitted;
    };

type EdgeMatch =
  | { readonly kind: 'root' }
  | { readonly kind: 'target'; readonly target: Target }
  | { readonly kind: 'refused'; readonly route: string; readonly shape: ErrorShape; readonly refusal: Refusal };

/** `GET /` and `HEAD /`: a 200 with no credential, for clients that check the base URL first (Claude Code sends `HEAD /`). */
function rootOutcome(method: string): Outcome {
  const headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  const body = method === 'HEAD' ? null : JSON.stringify({ ok: true });
  return { response: new Response(body, { status: 200, headers }), line: { attempts: 0, status: 200 } };
}

/** Which handling the method and path ask for, or the refusal of a path or method this worker does not serve. */
function matchEdge(method: string, url: URL): EdgeMatch {
  if (url.pathname === '/' && (method === 'GET' || method === 'HEAD')) return { kind: 'root' };
  if (url.pathname === STATUS_PATH) {
    if (method === 'GET') return { kind: 'target', target: { kind: 'status' } };
    const refusal = new Refusal(405, 'method_not_allowed', 'This path only accepts GET.', { allow: 'GET, OPTIONS' });
    return { kind: 'refused', route: STATUS_ROUTE, shape: 'openai', refusal };
  }
  const match = matchRoute(method, url.pathname, url.searchParams);
  switch (match.kind) {
    case 'route':
      return { kind: 'target', target: { kind: 'route', route: match.route } };
    case 'not-found':
      return { kind: 'refused', route: UNMATCHED, shape: match.surface ?? 'openai', refusal: notFound(match.surface) };
    case 'method-not-allowed': {
      const refusal = new Refusal(405, 'method_not_allowed', `This path only accepts ${match.allow}.`, {
        allow: `${match.allow}, OPTIONS`,
      });
      return { kind: 'refused', route: UNMATCHED, shape: match.surface ?? 'openai', refusal };
    }
    case 'bad-query':
      return {
        kind: 'refused',
        route: UNMATCHED,
        shape: 'openai',
        refusal: new Refusal(400, 'invalid_query', match.message),
      };
  }
}

function notFound(surface: 'anthropic' | undefined): Refusal {
  return surface === 'anthropic'
    ? new Refusal(
        404,
        'unknown_url',
        'Unknown path. Anthropic routes: POST /v1/messages, POST /v1/messages/count_tokens.',
      )
    : new Refusal(404, 'unknown_url', ROUTES_HINT);
}

/** Checks the client's credential against `PASS` and every client token: the name of the one it matched, or a Refusal. */
async function authenticate(
  places: CredentialPlaces,
  request: Request,
  url: URL,
  config: ShardConfig,
): Promise<string | Refusal> {
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
  return client ?? new Refusal(401, 'invalid_api_key', 'Incorrect password.');
}

/** The edge: URL length → route → configuration → credential. Nothing of the body is read here. */
async function admit(request: Request, env: ShardEnv, requestId: string): Promise<Admission> {
  const settle = (route: string, shape: ErrorShape, refusal: Refusal): Admission => ({
    kind: 'settled',
    route,
    shape,
    outcome: refusalOutcome(refusal, shape, requestId),
  });
  if (request.url.length > MAX_URL_LENGTH)
    return settle(UNMATCHED, 'openai', new Refusal(414, 'url_too_long', `URL exceeds ${MAX_URL_LENGTH} characters.`));
  const url = new URL(request.url);
  const edge = matchEdge(request.method, url);
  if (edge.kind === 'root')
    return { kind: 'settled', route: ROOT_ROUTE, shape: 'openai', outcome: rootOutcome(request.method) };
  if (edge.kind === 'refused') return settle(edge.route, edge.shape, edge.refusal);
  const { target } = edge;
  const [route, places, shape]: [string, CredentialPlaces, ErrorShape] =
    target.kind === 'status'
      ? [STATUS_ROUTE, 'headers', 'openai']
      : [target.route.name, target.route.surface, target.route.surface === 'anthropic' ? 'anthropic' : 'openai'];
  const configResult = readConfig(env);
  if (!configResult.ok) return settle(route, shape, misconfigured(configResult.problem));
  const { config } = configResult;
  const client = await authenticate(places, request, url, config);
  if (client instanceof Refusal) return settle(route, shape, client);
  return { kind: 'admitted', route, client, shape, target, admitted: { request, url, env, config, requestId } };
}

/** `GET /zen/status`: this isolate's view of its keys, behind the same password as every other route. */
function statusOutcome(config: ShardConfig, deps: HandlerDeps): Outcome {
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

function serve(target: Target, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  if (target.kind === 'status') return Promise.resolve(statusOutcome(a.config, deps));
  const { route } = target;
  if (route.surface === 'live') return serveLiveRoute(route, a, deps);
  if ('family' in route) return serveResourceRoute(route, a, deps);
  return route.surface === 'anthropic' ? serveAnthropicRoute(route, a, deps) : serveGoogleRoute(route, a, deps);
}

/** The worker failed unexpectedly; the exception text could quote request data, so the client gets a code only. */
function internalError(shape: ErrorShape, requestId: string): Outcome {
  return refusalOutcome(new Refusal(500, 'internal_error', 'The worker failed unexpectedly.'), shape, requestId);
}

/** Runs the edge, then the surface; never throws. */
async function settleRequest(request: Request, env: ShardEnv, deps: HandlerDeps, requestId: string): Promise<Settled> {
  let admission: Admission;
  try {
    admission = await admit(request, env, requestId);
  } catch {
    return { route: UNMATCHED, shape: 'openai', outcome: internalError('openai', requestId) };
  }
  if (admission.kind === 'settled') return admission;
  const { route, client, shape, target, admitted } = admission;
  try {
    return { route, client, shape, outcome: await serve(target, admitted, deps) };
  } catch {
    return { route, client, shape, outcome: internalError(shape, requestId) };
  }
}

function preflight(request: Request, requestId: string): Response {
  return new Response(null, {
    status: 204,
    headers: {
      ...preflightHeaders(request.headers.get('access-control-request-headers')),
      [REQUEST_ID_HEADER]: requestId,
    },
  });
}

/** Handles one request; never throws (an unexpected fault becomes a 500 and a log line). */
export async function handleRequest(request: Request, env: ShardEnv, deps: HandlerDeps): Promise<Response> {
  const started = deps.now();
  const requestId = requestIdOf(request.headers, deps.randomUUID);
  if (request.method === 'OPTIONS') return preflight(request, requestId);
  const { route, client, shape, outcome } = await settleRequest(request, env, deps, requestId);
  // the status view counts the requests clients make, not the operators' looks at it
  if (route !== STATUS_ROUTE) deps.pool.countRequest(started);
  const headers = new Headers(outcome.response.headers);
  for (const [name, value] of Object.entries(corsHeaders())) headers.set(name, value);
  headers.set(REQUEST_ID_HEADER, requestId);
  // where Anthropic's SDKs read the request id (`APIError.requestID`, a message's `_request_id`)
  if (shape === 'anthropic') headers.set('request-id', requestId);
  deps.log({
    event: 'request',
    requestId,
    route,
    ...(client !== undefined ? { client } : {}),
    ...outcome.line,
    ms: deps.now() - started,
  });
  // a Live API session's 101 carries the client's socket, which a rebuilt response would drop; it holds its id already
  if (outcome.response.status === 101) return outcome.response;
  return new Response(outcome.response.body, { status: outcome.response.status, headers });
}
