/**
 * The native merged listing route (`GET /v1beta/files`, `cachedContents`, `batches`): one page of this shard's part of
 * the listing, walked by `./listing.ts` over one key per project, each item's names tagged for its client. A client's
 * page holds only its own items (their stored mark, `./tenant-marks.ts`); the operator's holds every item.
 *
 * @module
 */
import { SHARD_COUNT_HEADER } from '../../../shared/contract';
import { jsonResponse } from '../../../shared/http';
import { LIST_ITEM_FIELDS, type ResourceOwner } from '../../../shared/owner-tag';
import { Refusal } from '../../edge/refusal';
import type { Admitted, HandlerDeps, Outcome } from '../contract';
import { type KeyPage, walkListing } from './listing';
import { tagNames, tagOptionsFor } from './names';
import { listingKeys, misdirected, ownerOf, ownShard } from './owner-keys';
import { googleError, listingCall, refused } from './replies';
import type { ListResourceRoute } from './routes';
import { listedTagger, tenantMark, tenantOf } from './tenancy';
import { listedItemMark } from './tenant-marks';

/** Items per page when the client asks for no size (Google's own default for files). */
const DEFAULT_PAGE_SIZE = 10;

/** The shard after this one, by the orchestrator's `x-zen-shard-count`; none on a worker that stands alone. */
function nextShardOf(a: Admitted): number | undefined {
  if (a.config.shardIndex === undefined) return undefined;
  const count = Number(a.request.headers.get(SHARD_COUNT_HEADER));
  const next = a.config.shardIndex + 1;
  return Number.isSafeInteger(count) && next < count ? next : undefined;
}

/** The refusal of a page token naming another shard: a misdirect behind the orchestrator, else a 400. */
function foreignCursor(shard: number, a: Admitted): Refusal {
  if (a.config.shardIndex !== undefined) return misdirected(shard);
  return new Refusal(
    400,
    'invalid_query',
    `pageToken names shard ${shard} of a gateway with several shards; this worker stands alone. Pass the nextPageToken this worker returned, or omit pageToken for the first page.`,
  );
}

/** One key's page of Google's listing, on that key alone. */
function keyLister(route: ListResourceRoute, a: Admitted, deps: HandlerDeps, count: (attempts: number) => void) {
  const keys = new Map(a.config.keys.map((k) => [k.index, k]));
  const field = LIST_ITEM_FIELDS[route.collection];
  return async (index: number, pageToken: string | undefined, pageSize: number): Promise<KeyPage<Outcome>> => {
    const key = keys.get(index);
    // unreachable: the walk lists the keys it was given
    if (key === undefined) throw new Error(`the listing walk asked for key ${index}, which this worker does not hold`);
    const query = new URLSearchParams({ pageSize: String(pageSize) });
    if (pageToken !== undefined) query.set('pageToken', pageToken);
    const call = await listingCall(key, `/v1beta/${route.collection}?${query}`, 'goog-header', a, deps, googleError);
    count(call.attempts);
    if (call.kind === 'failed') return call;
    const { json } = call;
    const items = json[field];
    const token = json.nextPageToken;
    return {
      kind: 'page',
      items: Array.isArray(items) ? items : [],
      ...(typeof token === 'string' ? { nextPageToken: token } : {}),
    };
  };
}

/** A merged listing page: this shard's keys from the cursor on, names tagged with each key's owner and item's client. */
export async function serveListing(route: ListResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { config } = a;
  const { cursor, collection } = route;
  const shard = ownShard(config);
  if (cursor !== undefined && cursor.shard !== shard) return refused(foreignCursor(cursor.shard, a), a);
  const tenant = tenantOf(a);
  const mark = await tenantMark(tenant);
  const owners = new Map<number, ResourceOwner>();
  for (const key of config.keys) owners.set(key.index, await ownerOf(key, config));
  const nextShard = nextShardOf(a);
  let attempts = 0;
  const page = await walkListing<Outcome>({
    shard,
    ...(cursor !== undefined ? { cursor } : {}),
    // one key per project: each lists the whole project's resources; a project whose keys were all removed is lost
    keys: listingKeys(config, (index) => deps.pool.isRemoved(index)),
    ...(nextShard !== undefined ? { nextShard } : {}),
    pageSize: route.pageSize ?? DEFAULT_PAGE_SIZE,
    list: keyLister(route, a, deps, (n) => {
      attempts += n;
    }),
    ...(mark !== undefined ? { keep: (item: unknown) => listedItemMark(collection, item) === mark } : {}),
  });
  if (page.kind === 'failed') return page.failure;
  const options = tagOptionsFor(collection);
  const items: unknown[] = [];
  for (const { key, item } of page.items) {
    const owner = owners.get(key);
    const tagger = owner && (await listedTagger(tenant, owner, listedItemMark(collection, item)));
    items.push(tagger === undefined ? item : await tagNames(item, tagger, options));
  }
  const body: Record<string, unknown> = { [LIST_ITEM_FIELDS[collection]]: items };
  if (page.nextPageToken !== undefined) body.nextPageToken = page.nextPageToken;
  return { response: jsonResponse(200, body), line: { attempts, status: 200 } };
}
