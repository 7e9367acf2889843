/**
 * The orchestrator's whole behaviour as one function over injected backends, randomness, time and logging, so it
 * runs unchanged in workerd (behind `index.ts`) and in unit tests.
 *
 * @module
 */
import { conversationIdOf, fingerprintOf } from '../shared/affinity';
import { AFFINITY_HEADER, REPLAY_MAX_BYTES, SHARD_COUNT_HEADER } from '../shared/contract';
import { corsHeaders } from '../shared/cors';
import { type ErrorReply, replyError } from '../shared/error-shapes';
import { listedCollectionOf } from '../shared/owner-tag';
import { isPoolRefusal, REROUTE_AVAILABLE, REROUTE_HEADER } from '../shared/pool-refusal';
import { REQUEST_ID_HEADER, requestIdOf } from '../shared/request-id';
import type { BoundBackend } from './backends';
import { copyBody, release, type BodyCopy } from './body-copy';
import { serveListing } from './listing';
import { misdirectHome, misdirectOwner, unknownOwnerError, urlRoute, type HomeMisdirect } from './owner-route';
import { conversationOrder, shardOrder } from './pick';
import { discard, preferred, settled, type Refused } from './refusals';
import type { Forwarding, LogFields, RouteDeps } from './route-context';
import { callShard, shardFailure, withBody } from './shard-call';
import { STATUS_PATH, statusRequest } from './status';
import { isStatusPageRequest, serveStatusPage } from './status-page';
import { poolWeights } from './weights';

// routeRequest's callers (the handler, tests) take the type of its deps from here, beside it
export type { RouteDeps } from './route-context';

/** Where one request stands between its sends. */
interface Trip {
  /** the shards still to try, in order */
  queue: BoundBackend[];
  /** what the next send reads: the client's body, or the copy kept of it */
  body: ReadableStream<Uint8Array> | null;
  /** the pool refusal held back while other shards are tried */
  refused: Refused | undefined;
  /** shards called so far */
  tried: number;
  /** set once the owner is known (from the URL or a misdirect): its answer is final, no other shard is tried */
  owner: number | undefined;
  misdirectedBy: number | undefined;
  /** the conversation's fingerprint and home shard, once known (from the headers or a home misdirect) */
  conversation: Conversation | undefined;
}

/** A conversation the request belongs to: its fingerprint (absent when a misdirect did not give it) and home. */
interface Conversation {
  readonly affinity?: string;
  readonly home: number;
}

/** The log fields that describe the trip as a whole. */
function tripFields(trip: Trip): Pick<LogFields, 'attempts' | 'owner' | 'misdirectedBy' | 'affinity' | 'home'> {
  const { conversation } = trip;
  return {
    ...(trip.tried > 1 ? { attempts: trip.tried } : {}),
    ...(trip.owner === undefined ? {} : { owner: trip.owner }),
    ...(trip.misdirectedBy === undefined ? {} : { misdirectedBy: trip.misdirectedBy }),
    ...(conversation?.affinity === undefined ? {} : { affinity: conversation.affinity }),
    ...(conversation === undefined ? {} : { home: conversation.home }),
  };
}

function dropRefused(trip: Trip): void {
  if (trip.refused !== undefined) discard(trip.refused.response);
  trip.refused = undefined;
}

/** A shard that threw or hung: it may have spent a key's quota, so its failure is the answer even after a refusal. */
function failed(ctx: Forwarding, trip: Trip, shard: number, kind: 'threw' | 'timeout'): Response {
  dropRefused(trip);
  const error = kind === 'timeout' ? 'shard_timeout' : 'shard_error';
  ctx.log({ shard, status: kind === 'timeout' ? 504 : 502, error, ...tripFields(trip) });
  return shardFailure(kind, ctx.reply);
}

/**
 * Sends the request on, after a misdirect, to `queue` from the kept copy of the body: the misdirecting shard's answer
 * is read to its end first, so the shard lets go of its branch of the body and the copy can flow.
 */
async function sendOn(trip: Trip, queue: BoundBackend[], copy: BodyCopy, response: Response): Promise<undefined> {
  await response.arrayBuffer().catch(() => undefined);
  dropRefused(trip);
  trip.queue = queue;
  trip.body = copy.take();
  return undefined;
}

/** A misdirect that cannot be followed: the copy is let go, and the shard's 421 goes to the client as it sent it. */
function passOn(ctx: Forwarding, trip: Trip, shard: number, copy: BodyCopy, response: Response): Response {
  copy.release();
  dropRefused(trip);
  ctx.log({ shard, status: response.status, ...tripFields(trip) });
  return response;
}

/**
 * A shard's misdirect: the body names a resource of shard `owner`, and nothing went to Google. The request goes on to
 * that shard once, from the copy of the body (undefined: send on); an unbound owner is the 404; without the copy
 * (the body was past the replay bound) the 421 goes to the client as the shard sent it.
 */
async function misdirected(
  ctx: Forwarding,
  trip: Trip,
  shard: number,
  owner: number,
  copy: BodyCopy,
  response: Response,
): Promise<Response | undefined> {
  trip.owner = owner;
  trip.misdirectedBy = shard;
  const target = ctx.backends.find((b) => b.index === owner);
  if (target !== undefined && copy.replayable()) return sendOn(trip, [target], copy, response);
  if (target !== undefined) return passOn(ctx, trip, shard, copy, response);
  copy.release();
  dropRefused(trip);
  discard(response);
  ctx.log({ shard, status: 404, error: 'unknown_resource_owner', ...tripFields(trip) });
  return unknownOwnerError({}, ctx.reply);
}

/**
 * The shards a conversation goes to after a home misdirect: the home the shard named, then the rest of the
 * conversation's order (when the fingerprint came with the misdirect; without a named home its order alone), up to
 * the attempts allowed; only bound shards.
 */
function homeQueue(ctx: Forwarding, misdirect: HomeMisdirect): BoundBackend[] {
  const { backends, weights, deps } = ctx;
  const home = backends.filter((b) => b.index === misdirect.home);
  const order =
    misdirect.affinity === undefined
      ? []
      : conversationOrder(
          misdirect.affinity,
          weights,
          backends.map((b) => b.index),
          deps.attempts,
        );
  const rest = order.flatMap((position) => backends[position] ?? []).filter((b) => b.index !== misdirect.home);
  return [...home, ...rest].slice(0, Math.max(1, deps.attempts));
}

/**
 * A shard's home misdirect: the body names a conversation whose home is another shard (or one the shard could not
 * place), and nothing went to Google. The request goes on once, from the copy of the body, to the home and then
 * along the conversation's order, with its fingerprint in `x-zen-affinity` (a shard never misdirects a request that
 * carries one). Without the copy (the body was past the replay bound), or with no bound shard to go to, the 421 goes
 * to the client as the shard sent it.
 */
async function homed(
  ctx: Forwarding,
  trip: Trip,
  shard: number,
  misdirect: HomeMisdirect,
  copy: BodyCopy,
  response: Response,
): Promise<Response | undefined> {
  trip.misdirectedBy = shard;
  const queue = homeQueue(ctx, misdirect);
  const home = misdirect.home ?? queue[0]?.index ?? shard;
  trip.conversation = misdirect.affinity === undefined ? { home } : { home, affinity: misdirect.affinity };
  if (queue.length === 0 || !copy.replayable()) return passOn(ctx, trip, shard, copy, response);
  if (misdirect.affinity !== undefined) ctx.headers.set(AFFINITY_HEADER, misdirect.affinity);
  return sendOn(trip, queue, copy, response);
}

/** What a shard's answer means for the trip: the client's response, or undefined to send the request on. */
async function answered(
  ctx: Forwarding,
  trip: Trip,
  shard: number,
  copy: BodyCopy,
  shardResponse: Response,
): Promise<Response | undefined> {
  if (shardResponse.status === 101) {
    // a WebSocket upgrade (a Live API session): a rebuilt response would drop its socket, and an upgrade has no
    // body to replay; the shard set x-request-id from the header forwarded to it
    copy.release();
    dropRefused(trip);
    ctx.log({ shard, status: 101, ...tripFields(trip) });
    return shardResponse;
  }
  const response = new Response(shardResponse.body, shardResponse);
  response.headers.set(REQUEST_ID_HEADER, ctx.requestId);
  // a misdirect is followed once, and only for a request the URL did not already send to its owner
  const owner = trip.owner === undefined ? misdirectOwner(response) : undefined;
  if (owner !== undefined && owner !== shard) return misdirected(ctx, trip, shard, owner, copy, response);
  // so is a home misdirect, and only for a request that is not yet routed by its conversation
  const home = trip.owner === undefined && trip.conversation === undefined ? misdirectHome(response) : undefined;
  if (home !== undefined && home.home !== shard) return homed(ctx, trip, shard, home, copy, response);
  if (isPoolRefusal(response) && trip.queue.length > 0 && copy.replayable()) {
    trip.refused = preferred(trip.refused, { shard, response: await settled(response) });
    trip.body = copy.take();
    return undefined;
  }
  copy.release();
  if (isPoolRefusal(response)) {
    // the last shard tried refused too: pass on whichever refusal frees soonest
    const chosen = preferred(trip.refused, { shard, response });
    ctx.log({ shard: chosen.shard, status: chosen.response.status, ...tripFields(trip) });
    return chosen.response;
  }
  dropRefused(trip);
  ctx.log({ shard, status: response.status, ...tripFields(trip) });
  return response;
}

/**
 * Whether a pool refusal to the next send would go on to another shard: one is left to try, and the body is the copy
 * or no body, or the client's own with a length the copy can hold (an unknown length might outgrow it).
 */
function rerouteAvailable(ctx: Forwarding, trip: Trip): boolean {
  if (trip.queue.length === 0) return false;
  if (trip.body === null || trip.body !== ctx.request.body) return true;
  const length = ctx.request.headers.get('content-length');
  return length !== null && /^[0-9]{1,15}$/.test(length) && Number(length) <= REPLAY_MAX_BYTES;
}

/**
 * Sends the request to `targets` in order while they refuse from their own pool, or to the one owner a misdirect
 * names, and returns the answer. `owner` is set when the URL named it: then `targets` is that one shard.
 * `conversation` is set when the headers named one: then `targets` is its order.
 */
async function forward(
  ctx: Forwarding,
  targets: readonly BoundBackend[],
  owner?: number,
  conversation?: Conversation,
): Promise<Response> {
  const trip: Trip = {
    queue: [...targets],
    body: ctx.request.body,
    refused: undefined,
    tried: 0,
    owner,
    misdirectedBy: undefined,
    conversation,
  };
  for (let target = trip.queue.shift(); target !== undefined; target = trip.queue.shift()) {
    trip.tried += 1;
    // a copy is kept while another pool can still be tried, or a shard may still misdirect the request
    const copy = copyBody(trip.body, trip.queue.length > 0 || trip.owner === undefined, REPLAY_MAX_BYTES);
    if (rerouteAvailable(ctx, trip)) ctx.headers.set(REROUTE_HEADER, REROUTE_AVAILABLE);
    else ctx.headers.delete(REROUTE_HEADER);
    const outcome = await callShard(target.backend, withBody(ctx.request, ctx.headers, copy.sent), ctx.deps);
    if (outcome.kind !== 'response') {
      copy.release();
      return failed(ctx, trip, target.index, outcome.kind);
    }
    const response = await answered(ctx, trip, target.index, copy, outcome.response);
    if (response !== undefined) return response;
  }
  // only with attempts < 1: shardWeights always leaves a positive weight, so any other order holds a shard
  ctx.log({ status: 503, error: 'no_backend' });
  return noBackend(ctx.reply);
}

/**
 * A request for any shard: a conversation (named in the headers) goes along its order, home first; any other request
 * to shards drawn at random in proportion to their weights.
 */
function forwardAny(ctx: Forwarding, affinity: string | undefined): Promise<Response> {
  const { backends, weights, deps } = ctx;
  const order =
    affinity === undefined
      ? shardOrder(weights, deps.attempts, deps.random)
      : conversationOrder(
          affinity,
          weights,
          backends.map((b) => b.index),
          deps.attempts,
        );
  // both draw positions among `weights`, one per backend, so this holds unless that contract breaks
  const targets = order.map((position) => {
    const target = backends[position];
    if (target === undefined) throw new Error(`shard position ${position} is outside the ${backends.length} backends`);
    return target;
  });
  const home = targets[0]?.index;
  return forward(
    ctx,
    targets,
    undefined,
    affinity === undefined || home === undefined ? undefined : { affinity, home },
  );
}

/**
 * The client's headers as the shards get them: with this request's id, the shard count, and the conversation's
 * fingerprint when its headers name one (a client's own `x-zen-affinity` never reaches a shard).
 */
function forwardedHeaders(request: Request, requestId: string, shards: number, affinity: string | undefined): Headers {
  const headers = new Headers(request.headers);
  headers.set(REQUEST_ID_HEADER, requestId);
  // the shards go on to the next shard of a merged listing by this count, so a client's value never reaches them
  headers.set(SHARD_COUNT_HEADER, String(shards));
  headers.delete(AFFINITY_HEADER);
  if (affinity !== undefined) headers.set(AFFINITY_HEADER, affinity);
  // set per send by `forward`; a client's own never reaches a shard
  headers.delete(REROUTE_HEADER);
  return headers;
}

function noBackend(reply: ErrorReply): Response {
  return replyError(reply, 503, 'no_backend', 'No backend shard is configured for this gateway');
}

/**
 * Forwards `request` to one shard and returns the shard's response untouched except for `x-request-id`. `GET
 * /zen/status` is the exception: it asks every shard (see `./status`); and `GET /zen`, the status page, asks none
 * (see `./status-page`).
 *
 * A URL that names an owned resource (by its owner tag, see `shardRouteOf`) goes to the owning shard alone, whatever
 * it answers; a tag that is malformed or names no bound shard is answered here with 404 `unknown_resource_owner`.
 * A merged listing's page may take more than one shard, so that no page is empty (see `./listing`).
 * A request whose headers name a conversation (`x-claude-code-session-id`, `session-id`) goes along that
 * conversation's order of shards, the same in every isolate (its home first: a weighted rendezvous hash of its
 * fingerprint), with the fingerprint in `x-zen-affinity`; any other request goes to a shard drawn at random in
 * proportion to its share of the pool's quota (its key count, when every key is its own project). A home misdirect
 * (421 with `x-zen-home-shard: <n>`: the body names a conversation whose home is shard n) sends the request once
 * along that conversation's order from shard n, like an owner misdirect below. Only a pool refusal (a 429/503
 * marked `x-zen-pool: exhausted`: the shard did no billable work) sends it on to another shard not tried yet, up to
 * `attempts` shards; when every shard tried refuses, the refusal with the smallest `retry-after` goes to the client
 * as the shard sent it. A misdirect (421 with `x-zen-owner: <n>`: the body names a resource of shard n, and nothing
 * went to Google) sends the request to shard n once, outside that count, and shard n's answer is final. Anything
 * else is the answer: a shard's own status, or, when the shard threw or hung past the deadline, a failure that is
 * logged and answered with 502 / 504 and never retried, because that shard may already have had Gemini do (and
 * bill) the work.
 *
 * The request body streams through, teed whenever it may be sent again: the shard reads one branch and the other
 * keeps a copy of only what the shard consumed. A shard checks the credential and `content-length` before reading,
 * so an unauthenticated or oversized upload is refused while this worker holds nothing, and the copy is released as
 * soon as the answer is final. The copy is also dropped once the shard has read more than `REPLAY_MAX_BYTES`: such a
 * request goes to that shard alone, and its pool refusal or misdirect reaches the client as the shard sent it.
 */
export async function routeRequest(
  request: Request,
  backends: readonly BoundBackend[],
  deps: RouteDeps,
): Promise<Response> {
  // parsed once: the routes below and the owner tag read it
  const url = new URL(request.url);
  if (request.method === 'GET' && url.pathname === STATUS_PATH) {
    return statusRequest(request, backends, deps);
  }
  if (isStatusPageRequest(request.method, url)) return serveStatusPage(request, deps);
  const started = deps.now();
  const requestId = requestIdOf(request.headers, deps.randomUUID);
  const reply: ErrorReply = {
    url,
    requestId,
    headers: { ...corsHeaders(), [REQUEST_ID_HEADER]: requestId },
  };
  const { weights, fallback, layoutFallback } = poolWeights(deps, backends);
  const noted = {
    ...(fallback === undefined ? {} : { shardKeyCounts: fallback }),
    ...(layoutFallback === undefined ? {} : { layout: layoutFallback }),
  };
  const log = (line: LogFields): void =>
    deps.log(JSON.stringify({ event: 'orchestrator_request', requestId, ...line, ...noted, ms: deps.now() - started }));

  if (backends.length === 0) {
    log({ status: 503, error: 'no_backend' });
    return noBackend(reply);
  }
  const conversationId = conversationIdOf(request.headers);
  const affinity = conversationId === undefined ? undefined : fingerprintOf(conversationId);
  const headers = forwardedHeaders(request, requestId, backends.length, affinity);
  const ctx: Forwarding = { request, headers, backends, weights, deps, requestId, reply, log };

  const route = urlRoute(request.method, url, backends);
  if (route.kind === 'owned') {
    const listed = listedCollectionOf(request.method, url);
    if (listed !== undefined) return serveListing(ctx, route.target, listed, route.owner);
    return forward(ctx, [route.target], route.owner);
  }
  if (route.kind === 'unknown-owner') {
    release(request.body);
    log({ status: 404, error: 'unknown_resource_owner', ...(route.owner === undefined ? {} : { owner: route.owner }) });
    return unknownOwnerError(route, reply);
  }
  return forwardAny(ctx, affinity);
}
