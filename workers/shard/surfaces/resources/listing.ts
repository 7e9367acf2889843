/**
 * Merged listings (`GET /v1beta/files`, `cachedContents`, `batches`): Google lists a project's resources to any of its
 * keys, so the gateway walks one key per project (each project's first key, see `./owner-keys`' `listingKeys`) in
 * order, shard by shard, and its page token says where the walk goes on
 * (`encodeListCursor`: shard, key, and Google's own page token for that key). A page:
 * - starts at the cursor's key (key 1 on a first page), with Google's page token when the previous page stopped
 *   inside that key's listing;
 * - asks each key in turn for as many items as the page still has room for, so a page may hold the resources of
 *   several keys, each name tagged with its own key's owner;
 * - stops inside a key when Google says that key has more (the next page resumes it with Google's token), or when
 *   the page is full; a full page first checks, one item's worth, that a following key has anything, so that a
 *   `nextPageToken` is only handed out when there is more to list (`@google/genai`'s pager yields `undefined` for an
 *   empty page);
 * - after the shard's last key, hands on to the next shard (key 1) when the orchestrator says there is one
 *   (`x-zen-shard-count`), else ends the listing: no `nextPageToken`;
 * - makes at most `MAX_LIST_CALLS` Google calls; a page that reaches the bound ends there, its token pointing on.
 * Only the absence of `nextPageToken` means the end, as in Google's own listings.
 *
 * A client's listing keeps only its own items (`keep`, by the mark Google stores: `./tenant-marks.ts`), so a Google
 * page may hold fewer of them than it holds items: the walk asks for {@link SCAN_PAGE_SIZE} items at a time and goes
 * on inside the key with Google's token until the page is full or the key ends (a Google page holding more kept items
 * than the room left is asked again for the room only, since a cursor resumes at a Google page token, never inside a
 * page), and a full page looks ahead the same way before it hands out a `nextPageToken`. The filter sits in the shard,
 * under the cursor, so the orchestrator's merging across shards works on kept items only and pages stay correct.
 * Within the bound of calls a filtered page scans 2,400 items; past that it ends with a token, empty or short, and a
 * page after it may be empty (the orchestrator follows an empty page; a worker that stands alone returns it).
 */
import { encodeListCursor, type ListCursor } from '../../../shared/owner-tag';

/**
 * Google calls one page may make. Each call is a subrequest, Workers Free allows 50 per request, and a call that
 * meets a 403 may add a key probe: 24 calls and their probes stay under it. A shard of 8 keys, and a preview worker
 * of up to 24 keys, walks all its keys in one page; a larger worker whose first 24 keys hold nothing returns an empty
 * page with a `nextPageToken` (which `@google/genai`'s pager yields as one `undefined`).
 */
export const MAX_LIST_CALLS = 24;

/**
 * Items a filtered walk asks Google for at a time, whatever room the page has left: the most `files.list` returns
 * (Google caps a larger `pageSize` itself), so a client's items among many of others' are found in few calls.
 */
export const SCAN_PAGE_SIZE = 100;

/** One key's page from Google, or why it could not be had (the caller's own failure value, passed on as is). */
export type KeyPage<F> =
  | { readonly kind: 'page'; readonly items: readonly unknown[]; readonly nextPageToken?: string }
  | { readonly kind: 'failed'; readonly failure: F };

export interface ListingWalk<F> {
  /** this worker's shard index (0 when it stands alone) */
  readonly shard: number;
  /** where the page starts; undefined on the first page */
  readonly cursor?: ListCursor;
  /** the indices of this worker's keys that can list, ascending */
  readonly keys: readonly number[];
  /** the shard that comes after this one, or undefined when this is the last (or the worker stands alone) */
  readonly nextShard?: number;
  /** the most items a page holds */
  readonly pageSize: number;
  /** one Google listing call of one key for up to `pageSize` items, with Google's page token when resuming that key */
  readonly list: (key: number, pageToken: string | undefined, pageSize: number) => Promise<KeyPage<F>>;
  /** @default MAX_LIST_CALLS */
  readonly maxCalls?: number;
  /** which items the page may hold (a client's own); every item when absent */
  readonly keep?: (item: unknown) => boolean;
}

export type MergedPage<F> =
  | {
      readonly kind: 'page';
      /** each item with the key it came from */
      readonly items: readonly { readonly key: number; readonly item: unknown }[];
      readonly nextPageToken?: string;
      /** Google calls made */
      readonly calls: number;
    }
  | { readonly kind: 'failed'; readonly failure: F; readonly calls: number };

/** Walks this shard's keys from the cursor and returns one page of the merged listing. */
export async function walkListing<F>(walk: ListingWalk<F>): Promise<MergedPage<F>> {
  const maxCalls = walk.maxCalls ?? MAX_LIST_CALLS;
  const { keep } = walk;
  const startKey = walk.cursor?.key ?? 1;
  const keys = walk.keys.filter((k) => k >= startKey);
  const items: { key: number; item: unknown }[] = [];
  let calls = 0;
  const page = (nextPageToken: string | undefined): MergedPage<F> => ({
    kind: 'page',
    items,
    ...(nextPageToken !== undefined ? { nextPageToken } : {}),
    calls,
  });
  const at = (key: number, pageToken: string | undefined) =>
    encodeListCursor({ shard: walk.shard, key, ...(pageToken !== undefined ? { pageToken } : {}) });
  let i = 0;
  // Google's page token inside keys[i]: where the walk stands in that key's listing
  let token = keys[0] !== undefined && keys[0] === walk.cursor?.key ? walk.cursor.pageToken : undefined;
  // a filtered walk asked for more than the room left and got more kept items than fit: ask again for the room only
  let exact = false;
  for (let key = keys[i]; key !== undefined; key = keys[i]) {
    if (calls >= maxCalls) return page(at(key, token));
    const room = walk.pageSize - items.length;
    const full = room <= 0;
    calls++;
    // a full page only asks whether more follows, so a next page is announced only when there is one (one item); a
    // filtered walk scans Google's pages a hundred items at a time, most of them perhaps another client's
    const size = keep === undefined ? (full ? 1 : room) : exact ? room : Math.max(room, SCAN_PAGE_SIZE);
    exact = false;
    const answer = await walk.list(key, token, size);
    if (answer.kind === 'failed') return { kind: 'failed', failure: answer.failure, calls };
    const next = answer.nextPageToken !== undefined && answer.nextPageToken !== '' ? answer.nextPageToken : undefined;
    const kept = keep === undefined ? answer.items : answer.items.filter(keep);
    if (full && kept.length > 0) return page(at(key, token));
    if (!full && kept.length > room) {
      exact = true;
      continue;
    }
    if (!full) for (const item of kept) items.push({ key, item });
    if (next !== undefined && keep === undefined && !full) return page(at(key, next));
    if (next !== undefined && keep !== undefined) {
      token = next;
      continue;
    }
    i++;
    token = undefined;
  }
  return page(walk.nextShard === undefined ? undefined : encodeListCursor({ shard: walk.nextShard, key: 1 }));
}
