/**
 * Google's stateful resources through the gateway: files, cached contents, batches and interactions. Google keeps
 * each one per project, so only the key that created it can use it; the gateway names every one it hands out with
 * an owner tag (`files/z0k1qmfa-abc`, see `../shared/owner-tag`) and routes by it, keeping no state:
 * - a creation (`cachedContents`, `:batchGenerateContent`, `interactions`, an upload) goes to the key the resources
 *   its body names belong to (all of one key, or a 400), else to any key of the pool with the usual failover; the
 *   key that served it owns what it created;
 * - a call on one resource (its tagged id in the path) goes to a key of the owning project, the tag stripped;
 * - a listing merges every project's listing (`./listing.ts`), one key asked per project;
 * - every name in Google's answer gets the owner's tag (`./names.ts`), every tag in the request is stripped
 *   (`./references.ts`), so Google only ever sees its own ids.
 * Google's errors pass as on the native routes; the gateway's own refusals have the OpenAI shape, as on the others.
 */
import { parseJsonObject } from '../../../shared/json';
import { REPLAY_MAX_BYTES, SHARD_COUNT_HEADER } from '../../../shared/contract';
import { jsonResponse } from '../../../shared/http';
import type { OwnedCollection, ResourceOwner } from '../../../shared/owner-tag';
import type { PoolKey } from '../../edge/bindings';
import { ANY_MODEL } from '../../core/key-pool';
import { keyOfOwner, keyOfReferences, listingKeys, misdirected, ownerOf, ownShard, unknownOwner } from './owner-keys';
import { Refusal } from '../../edge/refusal';
import { NOT_A_JSON_OBJECT, readBodyOrStream } from '../../edge/request-body';
import { type OwnedReference, scanReferences } from './references';
import { type KeyPage, walkListing } from './listing';
import { tagNames } from './names';
import { deliverTagged, forwardedHeaders, googleError, listingCall, noAnswer, refused } from './replies';
import { serveUploadChunk, serveUploadStart } from './upload';
import { normaliseModel } from '../route-matching';
import type { CreateResourceRoute, ListResourceRoute, OwnedResourceRoute, ResourceRoute } from './routes';
import { type Admitted, type HandlerDeps, type Outcome, secretsOf } from '../contract';
import { attemptFacts, noKeysConfigured, sendPlan } from '../../core/upstream-plan';

/** The field of Google's listing reply that holds the items (a batch listing is a list of operations). */
const LIST_FIELDS: Readonly<Record<ListResourceRoute['collection'], string>> = {
  files: 'files',
  cachedContents: 'cachedContents',
  batches: 'operations',
};

/** Items per page when the client asks for no size (Google's own default for files). */
const DEFAULT_PAGE_SIZE = 10;

const tagOptions = (collection: OwnedCollection) => ({ interactions: collection === 'interactions' });

function tooLarge(what: string): Refusal {
  return new Refusal(
    413,
    'request_too_large',
    `Request body exceeds ${REPLAY_MAX_BYTES} bytes, the most the gateway reads whole for ${what} (it reads the body to find the files and other resources it names); put large content in a file and reference it.`,
  );
}

/** The body read whole (bounded) and scanned for owned references: the bytes to send, and whose key they need. */
async function readScanned(
  a: Admitted,
  what: string,
  pathReference?: OwnedReference,
): Promise<
  | {
      readonly body?: Uint8Array | string;
      readonly json?: Record<string, unknown>;
      readonly references: OwnedReference[];
    }
  | Refusal
> {
  const limit = Math.min(a.config.maxBodyBytes, REPLAY_MAX_BYTES);
  const read = await readBodyOrStream(a.request, limit, limit, tooLarge(what));
  if (read instanceof Refusal) return read;
  if (read.kind === 'stream') {
    await read.body.cancel().catch(() => undefined);
    return tooLarge(what);
  }
  const references = pathReference !== undefined ? [pathReference] : [];
  if (read.bytes.byteLength === 0) return { references };
  const json = parseJsonObject(read.bytes);
  if (json === undefined) return NOT_A_JSON_OBJECT;
  const scan = scanReferences(json);
  if (scan.untagged[0] !== undefined) return unknownOwner(scan.untagged[0]);
  references.push(...scan.references);
  // the bytes as sent when nothing is tagged; else the tags must go, and re-serialising is the price of that
  return { body: scan.references.length === 0 ? read.bytes : JSON.stringify(scan.stripped), json, references };
}

/** A creation: the key of the resources the body names, else any pool key; the key that served it owns the result. */
async function serveCreate(route: CreateResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { config } = a;
  const read = await readScanned(a, route.name);
  if (read instanceof Refusal) return refused(read, a);
  const owned = await keyOfReferences(read.references, config);
  if (owned instanceof Refusal) return refused(owned, a);
  const model = route.model ?? normaliseModel(read.json?.model) ?? ANY_MODEL;
  const headers = forwardedHeaders(a.request);
  headers.set('content-type', 'application/json');
  const secrets = secretsOf(config);
  const result = await sendPlan(
    {
      path: route.upstreamPath,
      method: 'POST',
      headers,
      ...(read.body !== undefined ? { body: read.body } : {}),
      keyStyle: 'goog-header',
      model,
      ...(owned !== undefined ? { owner: owned.key } : {}),
    },
    a,
    deps,
  );
  if (result.kind !== 'response') return noAnswer(result, a, deps, secrets, owned?.key, model);
  if (!result.response.ok) return googleError(result, secrets);
  const owner = owned?.owner ?? (await ownerOfIndex(result.keyIndex, a));
  return deliverTagged(result, owner, tagOptions(route.collection), a, secrets);
}

async function ownerOfIndex(keyIndex: number, a: Admitted): Promise<ResourceOwner> {
  const key = a.config.keys.find((k) => k.index === keyIndex);
  // unreachable: the key core answers with one of the keys it was given
  if (key === undefined) throw new Error(`the key core answered with key ${keyIndex}, which this worker does not hold`);
  return ownerOf(key, a.config);
}

/** A call on one resource: its owning key only, the tag stripped from the path (and from a PATCH body). */
async function serveOwned(route: OwnedResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { config } = a;
  const { target } = route;
  if (target.kind === 'untagged') return refused(unknownOwner(target.reference), a);
  const pathKey = await keyOfOwner(target.owner, target.reference, config);
  if (pathKey instanceof Refusal) return refused(pathKey, a);
  let key: PoolKey = pathKey;
  let body: Uint8Array | string | undefined;
  if (route.method === 'PATCH' || route.method === 'POST') {
    const read = await readScanned(a, route.name, { owner: target.owner, reference: target.reference });
    if (read instanceof Refusal) return refused(read, a);
    const owned = await keyOfReferences(read.references, config);
    if (owned instanceof Refusal) return refused(owned, a);
    if (owned !== undefined) key = owned.key;
    body = read.body;
  }
  const headers = forwardedHeaders(a.request);
  if (body !== undefined) headers.set('content-type', 'application/json');
  const secrets = secretsOf(config);
  const result = await sendPlan(
    {
      path: `${target.upstreamPath}${route.upstreamSearch}`,
      method: route.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      keyStyle: 'goog-header',
      model: ANY_MODEL,
      owner: key,
    },
    a,
    deps,
  );
  if (result.kind !== 'response') return noAnswer(result, a, deps, secrets, key);
  if (route.name === 'files.download' && result.response.ok) return passBytes(result.response, attemptFacts(result));
  // the project's own name for the resource, whichever of its keys the client's tag named
  return deliverTagged(result, await ownerOf(key, config), tagOptions(route.collection), a, secrets);
}

/** A file's bytes (`alt=media`), streamed through as Google sent them. */
function passBytes(upstream: Response, facts: ReturnType<typeof attemptFacts>): Outcome {
  const headers = new Headers();
  for (const name of ['content-type', 'content-length', 'content-disposition']) {
    const value = upstream.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return {
    response: new Response(upstream.body, { status: upstream.status, headers }),
    line: { attempts: 1, ...facts, status: upstream.status, upstreamStatus: upstream.status },
  };
}

/** The shard after this one, by the orchestrator's `x-zen-shard-count`; none on a worker that stands alone. */
function nextShardOf(a: Admitted): number | undefined {
  if (a.config.shardIndex === undefined) return undefined;
  const count = Number(a.request.headers.get(SHARD_COUNT_HEADER));
  const next = a.config.shardIndex + 1;
  return Number.isSafeInteger(count) && next < count ? next : undefined;
}

/** A merged listing page: this shard's keys from the cursor on, names tagged with each key's owner. */
async function serveListing(route: ListResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { config } = a;
  const shard = ownShard(config);
  const { cursor } = route;
  if (cursor !== undefined && cursor.shard !== shard) {
    if (config.shardIndex !== undefined) return refused(misdirected(cursor.shard), a);
    return refused(
      new Refusal(
        400,
        'invalid_query',
        `pageToken names shard ${cursor.shard} of a gateway with several shards; this worker stands alone. Pass the nextPageToken this worker returned, or omit pageToken for the first page.`,
      ),
      a,
    );
  }
  const field = LIST_FIELDS[route.collection];
  const keys = new Map(config.keys.map((k) => [k.index, k]));
  // one key per project: each lists the whole project's resources; a project whose keys were all removed is lost
  const listable = listingKeys(config, (index) => deps.pool.isRemoved(index));
  const owners = new Map<number, ResourceOwner>();
  for (const key of config.keys) owners.set(key.index, await ownerOf(key, config));
  const nextShard = nextShardOf(a);
  let attempts = 0;
  const page = await walkListing<Outcome>({
    shard,
    ...(cursor !== undefined ? { cursor } : {}),
    keys: listable,
    ...(nextShard !== undefined ? { nextShard } : {}),
    pageSize: route.pageSize ?? DEFAULT_PAGE_SIZE,
    list: async (index, pageToken, pageSize): Promise<KeyPage<Outcome>> => {
      const key = keys.get(index);
      // unreachable: the walk lists the keys it was given
      if (key === undefined)
        throw new Error(`the listing walk asked for key ${index}, which this worker does not hold`);
      const query = new URLSearchParams({ pageSize: String(pageSize) });
      if (pageToken !== undefined) query.set('pageToken', pageToken);
      const call = await listingCall(key, `/v1beta/${route.collection}?${query}`, 'goog-header', a, deps, googleError);
      attempts += call.attempts;
      if (call.kind === 'failed') return call;
      const { json } = call;
      const items = json[field];
      const token = json.nextPageToken;
      return {
        kind: 'page',
        items: Array.isArray(items) ? items : [],
        ...(typeof token === 'string' ? { nextPageToken: token } : {}),
      };
    },
  });
  if (page.kind === 'failed') return page.failure;
  const options = tagOptions(route.collection);
  const body: Record<string, unknown> = {
    [field]: page.items.map(({ key, item }) => {
      const owner = owners.get(key);
      return owner === undefined ? item : tagNames(item, owner, options);
    }),
  };
  if (page.nextPageToken !== undefined) body.nextPageToken = page.nextPageToken;
  return { response: jsonResponse(200, body), line: { attempts, status: 200 } };
}

/** Serves a route of Google's stateful resources. */
export async function serveResourceRoute(route: ResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  if (a.config.keys.length === 0) return refused(noKeysConfigured(), a);
  switch (route.kind) {
    case 'list':
      return serveListing(route, a, deps);
    case 'create':
      return route.name === 'files.uploadStart' ? serveUploadStart(route, a, deps) : serveCreate(route, a, deps);
    case 'owned':
      return route.name === 'files.upload' ? serveUploadChunk(route, a, deps) : serveOwned(route, a, deps);
  }
}
