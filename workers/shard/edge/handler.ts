/**
 * The shard worker's request handling, free of Workers-only types so it can be reasoned about (and type-checked) as
 * plain web-platform code. The edge (this file) answers CORS preflights, checks the URL, matches the route against
 * the surfaces' registry (`../surfaces/registry.ts`), reads the configuration and identifies the client where the
 * route's surface says its clients put the credential; then that surface reads the body, plans the upstream call,
 * has the key core (`upstream.ts`) make it, and shapes the answer. Each step that refuses a request does so before
 * anything is sent upstream, in the surface's error shape, and no byte of the body is read before the URL, the
 * route, the credential and the declared size have passed. A path no route takes is named in the log line and in
 * the 404, which says the base URL to use when the path looks like a doubled or missing version
 * (`../surfaces/registry.ts`).
 */
import { corsHeaders } from '../../shared/cors';
import { REQUEST_ID_HEADER, requestIdOf } from '../../shared/request-id';
import { identifyClient, missingCredentialMessage, presentedCredential, type CredentialPlaces } from './auth';
import { PASS_CLIENT_NAME } from './client-tokens';
import { readConfig, type ShardConfig, type ShardEnv } from './bindings';
import { preflightHeaders } from './preflight';
import { type ErrorShape, misconfigured, Refusal, refusalOutcome } from './refusal';
import { baseUrlAdvice, matchSurface, ROUTES_HINT, shownPath, unknownPathMessage } from '../surfaces/registry';
import { type Admitted, type HandlerDeps, type Outcome, secretsOf } from '../surfaces/contract';
import type { RequestLine } from '../core/log';
import { meterRequest } from '../core/metering';
import { redact } from '../core/redaction';
import { redactedParts } from '../core/redaction-stream';
import { chargeClient } from '../fair-share/client-gate';

export type { HandlerDeps } from '../surfaces/contract';

/** Longer URLs are refused before routing; no legitimate call to this API comes near it. */
export const MAX_URL_LENGTH = 8192;

/** The route name of `GET /` and `HEAD /` in log lines. */
export const ROOT_ROUTE = 'root';

/** What the log line and the response's shape say of a request, once its route is known (or known to be none). */
interface Facts {
  /** route name for the log line */
  readonly route: string;
  readonly shape: ErrorShape;
  /** whether the status view counts it as a client's request (operators' looks at `/zen/status` are not) */
  readonly counted: boolean;
  /** the path received, on the line of a request no route took (see {@link quotedPath}) */
  readonly path?: string;
}

/** The request line as the edge writes it: one whose route is `unmatched` names the path it was sent to. */
interface EdgeRequestLine extends RequestLine {
  readonly path?: string;
  /** data points this isolate failed to write so far (see `../core/metering`), when any */
  readonly meterErrors?: number;
}

/** Requests that matched no route. */
const UNMATCHED: Facts = { route: 'unmatched', shape: 'openai', counted: true };

/** A request handled to its end: its outcome and what the log line says about it. */
interface Settled extends Facts {
  /** the name of the credential the client presented: `pass`, or a client token's name */
  readonly client?: string;
  /** the configuration, once it was read (for the usage data point's key and project) */
  readonly config?: ShardConfig;
  readonly outcome: Outcome;
  /** what the response may not show in any byte: none before the configuration is read, which a refusal can precede */
  readonly secrets?: readonly string[];
}

/** A matched route's surface `serve`, bound to the route. */
type Serve = (a: Admitted, deps: HandlerDeps) => Promise<Outcome>;

type Admission =
  | ({ readonly kind: 'settled' } & Settled)
  | ({
      readonly kind: 'admitted';
      /** none for an open route, which takes no credential */
      readonly client: string | undefined;
      readonly serve: Serve;
      readonly admitted: Admitted;
    } & Facts);

type EdgeMatch =
  | { readonly kind: 'root' }
  | {
      readonly kind: 'target';
      readonly facts: Facts;
      /** where to read the credential; none for an open route */
      readonly credential: CredentialPlaces | undefined;
      readonly serve: Serve;
    }
  | { readonly kind: 'refused'; readonly facts: Facts; readonly refusal: Refusal };

/** `GET /` and `HEAD /`: a 200 with no credential, for clients that check the base URL first (Claude Code sends `HEAD /`). */
function rootOutcome(method: string): Outcome {
  const headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  const body = method === 'HEAD' ? null : JSON.stringify({ ok: true });
  return { response: new Response(body, { status: 200, headers }), line: { attempts: 0, status: 200 } };
}

/**
 * The path received as a 404 message or a log line quotes it: escaped and capped (`shownPath`), and without the
 * secrets of the bindings, should a password have been pasted into a base URL.
 */
function quotedPath(url: URL, env: ShardEnv): string {
  const config = readConfig(env);
  return shownPath(redact(url.pathname, config.ok ? secretsOf(config.config) : []));
}

/**
 * The 404 for a path no surface claims: the path named, and the base URL to use when it looks like a doubled or
 * missing version, in the error shape of the surface the client meant to reach.
 */
function unknownPath(method: string, url: URL, shown: string): EdgeMatch {
  const advice = baseUrlAdvice(method, url.pathname, url.searchParams);
  const refusal = notFound(unknownPathMessage(ROUTES_HINT, shown, url.origin, advice));
  return { kind: 'refused', facts: advice ? { ...UNMATCHED, shape: advice.surface.errors } : UNMATCHED, refusal };
}

/**
 * Which handling the method and path ask for, or the refusal of a path or method this worker does not serve; `shown`
 * quotes the path, for a 404.
 */
function matchEdge(method: string, url: URL, shown: () => string): EdgeMatch {
  if (url.pathname === '/' && (method === 'GET' || method === 'HEAD')) return { kind: 'root' };
  const found = matchSurface(method, url.pathname, url.searchParams);
  if (found === undefined) return unknownPath(method, url, shown());
  const { surface, match } = found;
  const facts = (route = UNMATCHED.route): Facts => ({
    route,
    shape: surface.errors,
    counted: surface.uncounted !== true,
  });
  switch (match.kind) {
    case 'route':
      return {
        kind: 'target',
        facts: facts(match.route.name),
        credential: match.open ? undefined : surface.credential,
        serve: match.serve,
      };
    case 'not-found':
      return {
        kind: 'refused',
        facts: facts(),
        refusal: notFound(unknownPathMessage(surface.notFoundHint ?? ROUTES_HINT, shown(), url.origin)),
      };
    case 'method-not-allowed': {
      const refusal = new Refusal(405, 'method_not_allowed', `This path only accepts ${match.allow}.`, {
        allow: `${match.allow}, OPTIONS`,
      });
      return { kind: 'refused', facts: facts(match.route), refusal };
    }
    case 'bad-query':
      return { kind: 'refused', facts: facts(), refusal: new Refusal(400, 'invalid_query', match.message) };
  }
}

function notFound(hint: string): Refusal {
  return new Refusal(404, 'unknown_url', hint);
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

/** The edge: URL length → route → configuration → credential → fair share. Nothing of the body is read here. */
async function admit(request: Request, env: ShardEnv, requestId: string): Promise<Admission> {
  const url = new URL(request.url);
  let quoted: string | undefined;
  const shown = (): string => {
    quoted ??= quotedPath(url, env);
    return quoted;
  };
  const settle = (facts: Facts, refusal: Refusal): Admission => ({
    kind: 'settled',
    ...facts,
    ...(facts.route === UNMATCHED.route ? { path: shown() } : {}),
    outcome: refusalOutcome(refusal, facts.shape, requestId),
  });
  if (request.url.length > MAX_URL_LENGTH)
    return settle(UNMATCHED, new Refusal(414, 'url_too_long', `URL exceeds ${MAX_URL_LENGTH} characters.`));
  const edge = matchEdge(request.method, url, shown);
  if (edge.kind === 'root') {
    return { kind: 'settled', route: ROOT_ROUTE, shape: 'openai', counted: true, outcome: rootOutcome(request.method) };
  }
  if (edge.kind === 'refused') return settle(edge.facts, edge.refusal);
  const { facts } = edge;
  const configResult = readConfig(env);
  if (!configResult.ok) return settle(facts, misconfigured(configResult.problem));
  const { config } = configResult;
  const client = edge.credential === undefined ? undefined : await authenticate(edge.credential, request, url, config);
  if (client instanceof Refusal) return settle(facts, client);
  // the operators' looks at the gateway (the status view, refused to clients anyway) cost no client any of its limit
  const charged = facts.counted && client !== undefined;
  const serve = charged ? await chargeClient(client, env, edge.serve) : edge.serve;
  if (serve instanceof Refusal)
    return { ...facts, kind: 'settled', client, outcome: refusalOutcome(serve, facts.shape, requestId) };
  return {
    kind: 'admitted',
    ...facts,
    client,
    serve,
    admitted: { request, url, env, config, requestId, errors: facts.shape, client },
  };
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
    return { ...UNMATCHED, outcome: internalError('openai', requestId) };
  }
  if (admission.kind === 'settled') return admission;
  const { route, client, shape, counted, serve, admitted } = admission;
  const { config } = admitted;
  const secrets = secretsOf(config);
  try {
    return { route, client, shape, counted, config, secrets, outcome: await serve(admitted, deps) };
  } catch {
    return { route, client, shape, counted, config, secrets, outcome: internalError(shape, requestId) };
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
  const settled = await settleRequest(request, env, deps, requestId);
  const { route, client, shape, counted, path, outcome, secrets } = settled;
  // the status view counts the requests clients make, not the operators' looks at it
  if (counted) deps.pool.countRequest(started);
  const ms = deps.now() - started;
  // a data point per client request; the operators' looks at the status view (a page polls it) would drown them
  const metered = { ...settled, line: outcome.line, ms, usage: outcome.usage };
  const meterErrors = counted ? meterRequest(env, metered, () => deps.now(), started) : 0;
  const line: EdgeRequestLine = {
    event: 'request',
    requestId,
    route,
    ...(path !== undefined ? { path } : {}),
    ...(client !== undefined ? { client } : {}),
    ...outcome.line,
    // the model is the one field a client writes: a client's own token sent as a model name stays out of the logs
    ...(outcome.line.model !== undefined ? { model: redact(outcome.line.model, secrets ?? []) } : {}),
    ms,
    ...(meterErrors > 0 ? { meterErrors } : {}),
  };
  deps.log(line);
  // a Live API session's 101 carries the client's socket, which a rebuilt response would drop; it holds its id already
  if (outcome.response.status === 101) return outcome.response;
  // every answer passes here: no secret leaves in any byte of a body or a header, whichever surface built it
  const { headers, body } = redactedParts(outcome.response, secrets ?? []);
  for (const [name, value] of Object.entries(corsHeaders())) headers.set(name, value);
  headers.set(REQUEST_ID_HEADER, requestId);
  // where Anthropic's SDKs read the request id (`APIError.requestID`, a message's `_request_id`)
  if (shape === 'anthropic') headers.set('request-id', requestId);
  return new Response(body, { status: outcome.response.status, headers });
}
