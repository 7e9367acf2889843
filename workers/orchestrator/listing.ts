/**
 * Merged listings across shards (`GET /v1beta/files`, `cachedContents`, `batches`). A shard walks its own keys and,
 * after its last one, hands on to the next shard with a `nextPageToken` naming it (`encodeListCursor`), without
 * knowing whether that shard holds anything. Two pages the client would then see break `@google/genai`'s pager, which
 * yields `undefined` for an empty page: the empty page of a shard whose keys hold nothing, and the empty last page
 * behind a page that handed on to shards that are all empty. So the orchestrator reads these replies (small JSON
 * pages, the one body it parses) and:
 * - follows an empty page whose `nextPageToken` is a cursor: the same request goes on with that token, and the empty
 *   page is dropped;
 * - looks ahead when a page with items hands on to another shard: that shard (and on, while they are empty and hand
 *   on) is asked for one item; when one has it the page goes back unchanged, byte for byte; when the chain ends with
 *   nothing the page goes back without its `nextPageToken`, so the listing ends there;
 * - passes anything else as the shard sent it: another status, a body that is not a listing, a page whose token stays
 *   inside its shard (the shard has already looked ahead there), a page without a token. A look-ahead that fails or
 *   answers anything but a listing leaves the page as it was, token included: the client's next page meets the error.
 * One request calls at most {@link MAX_LISTING_SHARD_CALLS} shards; at the bound the page read last goes back with its
 * token (an empty page only after that many empty shards in a row), and the client's next page goes on from there.
 *
 * @module
 */
import { concatBytes } from '../shared/bytes';
import { isJsonObject } from '../shared/json';
import { decodeListCursor, LIST_ITEM_FIELDS, type ListCursor, type ListedCollection } from '../shared/owner-tag';
import { REQUEST_ID_HEADER } from '../shared/request-id';
import type { BoundBackend } from './backends';
import { discard } from './refusals';
import type { Forwarding, LogFields } from './route-context';
import { callShard, shardFailure, withBody } from './shard-call';

/**
 * Most shards one listing request calls, its first page included. Each call through a service binding is a Worker
 * invocation and a subrequest: Cloudflare allows 32 invocations per request (this worker's own included) and 50
 * subrequests on Workers Free, the bound the status view keeps to as well.
 */
export const MAX_LISTING_SHARD_CALLS = 31;

/**
 * Largest listing reply read whole. A page holds up to a few hundred small resource descriptions; a larger reply goes
 * to the client as the shard sent it, so the orchestrator never holds much of a body.
 */
export const LISTING_READ_MAX_BYTES = 4 * 1024 * 1024;

/** A shard's listing page, read whole. */
interface ListingPage {
  /** the shard's response, its body consumed; status and headers are still good */
  readonly response: Response;
  readonly bytes: Uint8Array;
  readonly json: Readonly<Record<string, unknown>>;
  readonly items: number;
  /** the page's `nextPageToken` as sent */
  readonly token?: string;
  /** that token as a cursor, when it is one the gateway issued */
  readonly next?: ListCursor;
}

type Reading =
  | { readonly kind: 'page'; readonly page: ListingPage }
  | { readonly kind: 'other'; readonly response: Response };

/**
 * The body read whole when it is at most `max` bytes; past that, a stream that gives back what was read and then the
 * rest, so the body can still go to the client as it came.
 */
async function readBounded(
  body: ReadableStream<Uint8Array>,
  max: number,
): Promise<
  | { readonly kind: 'whole'; readonly bytes: Uint8Array }
  | { readonly kind: 'over'; readonly stream: ReadableStream<Uint8Array> }
> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { kind: 'whole', bytes: concatBytes(chunks, size) };
    chunks.push(value);
    size += value.byteLength;
    if (size > max) break;
  }
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const head = chunks.shift();
      if (head !== undefined) return controller.enqueue(head);
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { kind: 'over', stream };
}

/** The shard's answer as a listing page, or as the response to pass on when it is not one. */
async function readPage(response: Response, field: string): Promise<Reading> {
  const type = response.headers.get('content-type') ?? '';
  if (response.status !== 200 || !/^application\/json\b/i.test(type) || response.body === null) {
    return { kind: 'other', response };
  }
  const read = await readBounded(response.body, LISTING_READ_MAX_BYTES);
  if (read.kind === 'over') return { kind: 'other', response: new Response(read.stream, response) };
  const { bytes } = read;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    json = undefined;
  }
  // Google leaves an empty list out of its JSON; a gateway page always has it
  const list = isJsonObject(json) ? (json[field] ?? []) : undefined;
  if (!isJsonObject(json) || !Array.isArray(list)) return { kind: 'other', response: new Response(bytes, response) };
  const token = typeof json.nextPageToken === 'string' && json.nextPageToken !== '' ? json.nextPageToken : undefined;
  const next = token === undefined ? undefined : decodeListCursor(token);
  const page: ListingPage = {
    response,
    bytes,
    json,
    items: list.length,
    ...(token !== undefined ? { token } : {}),
    ...(next !== undefined ? { next } : {}),
  };
  return { kind: 'page', page };
}

/** The page as the shard sent it. */
function unchanged(page: ListingPage): Response {
  return new Response(page.bytes, page.response);
}

/** The page without its `nextPageToken`: the listing ends here. */
function ended(page: ListingPage): Response {
  const { nextPageToken: _, ...rest } = page.json;
  const headers = new Headers(page.response.headers);
  headers.delete('content-length');
  return new Response(JSON.stringify(rest), { status: page.response.status, headers });
}

/** The request as the client sent it, at another page token (and page size, for a look-ahead). */
function requestAt(ctx: Forwarding, token: string, pageSize?: number): Request {
  const url = new URL(ctx.request.url);
  url.searchParams.set('pageToken', token);
  if (pageSize !== undefined) url.searchParams.set('pageSize', String(pageSize));
  return withBody(new Request(url, ctx.request), ctx.headers, null);
}

/** One merged listing request: what each of its shard calls shares. */
interface Listing {
  readonly ctx: Forwarding;
  /** the page's field that holds the items */
  readonly field: string;
  /** shards called so far, in order */
  readonly asked: number[];
  /** the shard the URL named, for the log */
  readonly owner: number;
}

function logListing(l: Listing, fields: LogFields): void {
  l.ctx.log({
    ...fields,
    ...(l.asked.length > 1 ? { attempts: l.asked.length, asked: [...l.asked] } : {}),
    owner: l.owner,
  });
}

function shardOf(l: Listing, cursor: ListCursor): BoundBackend | undefined {
  return l.ctx.backends.find((b) => b.index === cursor.shard);
}

function ask(l: Listing, target: BoundBackend, request: Request) {
  l.asked.push(target.index);
  return callShard(target.backend, request, l.ctx.deps);
}

/**
 * The page `first` answers, following empty pages to where their cursor goes on, within the bound: the page and the
 * shard it came from, or the response for the client when a shard failed or answered anything but a listing.
 */
async function firstPage(l: Listing, first: BoundBackend): Promise<{ page: ListingPage; shard: number } | Response> {
  let target = first;
  let request = withBody(l.ctx.request, l.ctx.headers, null);
  for (;;) {
    const outcome = await ask(l, target, request);
    if (outcome.kind !== 'response') {
      const status = outcome.kind === 'timeout' ? 504 : 502;
      logListing(l, {
        shard: target.index,
        status,
        error: outcome.kind === 'timeout' ? 'shard_timeout' : 'shard_error',
      });
      return shardFailure(outcome.kind, l.ctx.reply);
    }
    const response = new Response(outcome.response.body, outcome.response);
    response.headers.set(REQUEST_ID_HEADER, l.ctx.requestId);
    const reading = await readPage(response, l.field);
    if (reading.kind === 'other') {
      logListing(l, { shard: target.index, status: reading.response.status });
      return reading.response;
    }
    const page = reading.page;
    // an empty page is followed to where its cursor goes on, within the bound
    const onward = page.items === 0 && page.next !== undefined ? shardOf(l, page.next) : undefined;
    if (onward === undefined || page.token === undefined || l.asked.length >= MAX_LISTING_SHARD_CALLS) {
      return { page, shard: target.index };
    }
    target = onward;
    request = requestAt(l.ctx, page.token);
  }
}

/**
 * Whether the shards from `cursor` on may hold anything: each is asked for one item while they are empty and hand
 * on. False only when that chain ends with nothing; a failure, a reply that is no listing, or the bound say maybe.
 */
async function anythingAhead(l: Listing, cursor: ListCursor, token: string | undefined): Promise<boolean> {
  let at = cursor;
  let next = token;
  while (next !== undefined && l.asked.length < MAX_LISTING_SHARD_CALLS) {
    const ahead = shardOf(l, at);
    if (ahead === undefined) break;
    const outcome = await ask(l, ahead, requestAt(l.ctx, next, 1));
    if (outcome.kind !== 'response') break;
    const reading = await readPage(outcome.response, l.field);
    if (reading.kind === 'other') {
      discard(reading.response);
      break;
    }
    const peek = reading.page;
    if (peek.items > 0) break;
    if (peek.token === undefined) return false;
    if (peek.next === undefined) break;
    at = peek.next;
    next = peek.token;
  }
  return true;
}

/**
 * Serves a merged listing of `collection` whose page (by its cursor, or the first page) is `first`'s; `owner` is that
 * shard as the URL named it, for the log.
 */
export async function serveListing(
  ctx: Forwarding,
  first: BoundBackend,
  collection: ListedCollection,
  owner: number,
): Promise<Response> {
  const l: Listing = { ctx, field: LIST_ITEM_FIELDS[collection], asked: [], owner };
  const found = await firstPage(l, first);
  if (found instanceof Response) return found;
  const { page, shard } = found;
  // a page that hands on to another shard ends the listing when nothing lies from there on
  if (page.items > 0 && page.next !== undefined && page.next.shard !== shard) {
    if (!(await anythingAhead(l, page.next, page.token))) {
      logListing(l, { shard, status: page.response.status, nextPageToken: 'dropped' });
      return ended(page);
    }
  }
  logListing(l, { shard, status: page.response.status });
  return unchanged(page);
}
