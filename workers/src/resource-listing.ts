/**
 * Merged listings (`GET /v1beta/files`, `cachedContents`, `batches`): Google lists a project's resources, one key's,
 * so the gateway walks its keys in order, shard by shard, and its page token says where the walk goes on
 * (`encodeListCursor`: shard, key, and Google's own page token for that key). A page:
 * - starts at the cursor's key (the first key from index 1 on a first page), with Google's page token when the
 *   previous page of that key was cut by the page size;
 * - takes one Google page of that key; when Google says that key has more, the page ends there and the next one
 *   resumes it; when the key's listing ended with items, the page ends there and the next one starts at the next key;
 *   a key with nothing moves on to the next key at once, up to `MAX_LIST_CALLS` Google calls;
 * - after the shard's last key, hands on to the next shard (key 1) when the orchestrator says there is one
 *   (`x-zen-shard-count`), else ends the listing: no `nextPageToken`.
 * So a page holds one key's resources, at most `pageSize` of them, and may be shorter than `pageSize` (or even
 * empty, when it hands on to the next shard or stops at the call bound); only the absence of `nextPageToken` means
 * the end, as in Google's own listings.
 */
import { encodeListCursor, type ListCursor } from '../shared/owner-tag';

/**
 * Google calls one page may make: empty keys are skipped without answering, and each call is a subrequest (Workers
 * Free allows 50 per request, and a call that meets a 403 may add a key probe).
 */
export const MAX_LIST_CALLS = 8;

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
  /** one Google listing call of one key, with Google's page token when resuming that key */
  readonly list: (key: number, pageToken: string | undefined) => Promise<KeyPage<F>>;
  /** @default MAX_LIST_CALLS */
  readonly maxCalls?: number;
}

export type MergedPage<F> =
  | {
      readonly kind: 'page';
      /** the key whose items these are (undefined when the page is empty) */
      readonly key?: number;
      readonly items: readonly unknown[];
      readonly nextPageToken?: string;
      /** Google calls made */
      readonly calls: number;
    }
  | { readonly kind: 'failed'; readonly failure: F; readonly calls: number };

/** Walks this shard's keys from the cursor and returns one page of the merged listing. */
export async function walkListing<F>(walk: ListingWalk<F>): Promise<MergedPage<F>> {
  const maxCalls = walk.maxCalls ?? MAX_LIST_CALLS;
  const startKey = walk.cursor?.key ?? 1;
  const keys = walk.keys.filter((k) => k >= startKey);
  const handOn = (): string | undefined =>
    walk.nextShard === undefined ? undefined : encodeListCursor({ shard: walk.nextShard, key: 1 });
  let calls = 0;
  for (const [i, key] of keys.entries()) {
    if (calls >= maxCalls) {
      // the bound reached on empty keys: the next page starts where this one stopped
      return { kind: 'page', items: [], nextPageToken: encodeListCursor({ shard: walk.shard, key }), calls };
    }
    const resume = key === walk.cursor?.key ? walk.cursor.pageToken : undefined;
    calls++;
    const page = await walk.list(key, resume);
    if (page.kind === 'failed') return { kind: 'failed', failure: page.failure, calls };
    if (page.nextPageToken !== undefined && page.nextPageToken !== '') {
      const nextPageToken = encodeListCursor({ shard: walk.shard, key, pageToken: page.nextPageToken });
      return { kind: 'page', key, items: page.items, nextPageToken, calls };
    }
    if (page.items.length > 0) {
      const following = keys[i + 1];
      const nextPageToken =
        following === undefined ? handOn() : encodeListCursor({ shard: walk.shard, key: following });
      return { kind: 'page', key, items: page.items, ...(nextPageToken ? { nextPageToken } : {}), calls };
    }
  }
  const nextPageToken = handOn();
  return { kind: 'page', items: [], ...(nextPageToken ? { nextPageToken } : {}), calls };
}
