/**
 * Requests that name an owned resource (a file, a cached content, a batch, an interaction, an upload session): only
 * the shard whose key created it can serve them. The orchestrator learns the owner from the URL alone
 * (`shardRouteOf`), or, for a resource named in the body, from the shard that read the body and answered with a
 * misdirect (421 and `x-zen-owner`); it never parses a request body (of replies, only a merged listing's pages, see
 * `./listing`). A conversation named only in the body is misdirected the same way, to its home shard (421 and
 * `x-zen-home-shard`, with the conversation's fingerprint in `x-zen-affinity`).
 *
 * @module
 */
import { AFFINITY_PATTERN } from '../shared/affinity';
import { AFFINITY_HEADER, HOME_SHARD_HEADER, MISDIRECTED_STATUS, OWNER_HEADER } from '../shared/contract';
import { type ErrorReply, replyError } from '../shared/error-shapes';
import { shardRouteOf } from '../shared/owner-tag';
import type { BoundBackend } from './backends';

/** Where the URL sends a request: any shard (a weighted draw), the owning shard, or nowhere (the 404 below). */
export type UrlRoute =
  | { readonly kind: 'any' }
  | { readonly kind: 'owned'; readonly owner: number; readonly target: BoundBackend }
  | { readonly kind: 'unknown-owner'; readonly owner?: number; readonly id?: string };

/** The URL's route over the bound backends: a tag naming a shard that is not bound is as unknown as a malformed one. */
export function urlRoute(method: string, url: URL, backends: readonly BoundBackend[]): UrlRoute {
  const route = shardRouteOf(method, url);
  if (route.kind === 'any') return route;
  if (route.kind === 'unknown-owner') return { kind: 'unknown-owner', id: route.id };
  const target = backends.find((b) => b.index === route.shard);
  return target === undefined
    ? { kind: 'unknown-owner', owner: route.shard }
    : { kind: 'owned', owner: route.shard, target };
}

/** A shard index as `x-zen-owner` carries it: the digits of 0..999999, nothing else. */
const OWNER_VALUE = /^(0|[1-9][0-9]{0,5})$/;

/**
 * The owning shard a shard's misdirect names: its 421 with `x-zen-owner: <n>`. Undefined for any other answer,
 * including a 421 without a well-formed owner, which then reaches the client as the shard sent it.
 */
export function misdirectOwner(response: Pick<Response, 'status' | 'headers'>): number | undefined {
  if (response.status !== MISDIRECTED_STATUS) return undefined;
  const value = response.headers.get(OWNER_HEADER)?.trim();
  return value !== undefined && OWNER_VALUE.test(value) ? Number(value) : undefined;
}

/**
 * Where a shard's home misdirect sends a conversation: its home shard when the shard could tell it (it knows the
 * layout), and its fingerprint when well-formed. At least one of the two is there.
 */
export type HomeMisdirect =
  | { readonly home: number; readonly affinity?: string }
  | { readonly home?: undefined; readonly affinity: string };

/**
 * The conversation a shard's home misdirect names: its 421 with `x-zen-home-shard: <n>` and the fingerprint in
 * `x-zen-affinity`, or the fingerprint alone (a shard that cannot place the conversation leaves its home to the
 * orchestrator). Undefined for any other answer, including a 421 with neither well-formed, or an owner misdirect.
 */
export function misdirectHome(response: Pick<Response, 'status' | 'headers'>): HomeMisdirect | undefined {
  if (response.status !== MISDIRECTED_STATUS || response.headers.has(OWNER_HEADER)) return undefined;
  const value = response.headers.get(HOME_SHARD_HEADER)?.trim();
  const home = value !== undefined && OWNER_VALUE.test(value) ? Number(value) : undefined;
  const given = response.headers.get(AFFINITY_HEADER)?.trim();
  const affinity = given !== undefined && AFFINITY_PATTERN.test(given) ? given : undefined;
  if (home === undefined) return affinity === undefined ? undefined : { affinity };
  return affinity === undefined ? { home } : { home, affinity };
}

/** An id safe to quote back: what a tagged id may hold, short enough to read. */
const QUOTABLE_ID = /^[A-Za-z0-9._~-]{1,64}$/;

/**
 * The orchestrator's own 404 for a resource it cannot place: its name carries no owner tag, a malformed one, or one
 * naming a shard this gateway does not have. The id is quoted only when it is short and plain.
 */
export function unknownOwnerError(route: { readonly id?: string }, reply: ErrorReply): Response {
  const quoted = route.id !== undefined && QUOTABLE_ID.test(route.id) ? ` ("${route.id}")` : '';
  const message =
    `The resource name${quoted} does not lead to a shard of this gateway: its owner tag (the "z…k…-" prefix, ` +
    'e.g. files/z0k1abcd-…) is missing, malformed or names no shard of this gateway. Resource names are only valid ' +
    'exactly as this gateway handed them out; use the name from its response, or create the resource again.';
  return replyError(reply, 404, 'unknown_resource_owner', message);
}
