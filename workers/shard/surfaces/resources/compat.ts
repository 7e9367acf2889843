/**
 * The OpenAI-compatible files and batches (`/v1/files`, `/v1/batches`, Google's `/v1beta/openai/files` and
 * `/batches`), under the same owner-tag rule as the native resources (`./serve.ts`):
 * - `files.create` (multipart, not parsed) goes to a pool key: replayed on another key after a key fault while it fits
 *   the replay bound, else streamed once; `batches.create`'s JSON body is read and its `input_file_id` names the key
 *   (a key of its project; a body naming another shard's file is a misdirect, one naming none a 404);
 * - a call on one file or batch goes to a key of the project its id's tag names, the tag stripped, Google's id sent
 *   on in the shape the client used (`files/<id>`, percent-encoded as the `openai` SDK sends it, or the bare id);
 * - every id in Google's answer is tagged (`tagCompatIds`): a file's or batch's `id`, `input_file_id`,
 *   `output_file_id`, `error_file_id`, and each item of a list;
 * - a listing walks this worker's projects, one key each (`./listing.ts`), with OpenAI's paging: the client's `after`
 *   is the last item's tagged id, whose tag says which project to resume and whose Google id is its `after`; `has_more` is set
 *   only when something follows. Behind an orchestrator with several shards no OpenAI `after` can name the next
 *   shard, so the listing answers 501 and points at the merged native listings.
 * Each file and batch is also its creating client's, as natively (`./tenancy.ts`): ids are sealed for the client,
 * another client's id is the 404 `resource_not_found`, and a client's listing holds its own items only (a file by
 * the mark in its id, a batch by its input file's mark: `./tenant-marks.ts`).
 * Google's errors reach the client as OpenAI errors, as on the other OpenAI routes.
 */
import { parseJsonObject } from '../../../shared/json';
import { isJsonObject } from '../../../shared/json';
import { REPLAY_MAX_BYTES, SHARD_COUNT_HEADER } from '../../../shared/contract';
import { jsonResponse } from '../../../shared/http';
import { type ListCursor, parseTaggedId, type ResourceOwner, tagId } from '../../../shared/owner-tag';
import type { PoolKey } from '../../edge/bindings';
import { toOpenAIError } from '../openai/errors';
import { ANY_MODEL } from '../../core/key-pool';
import { keyOfOwner, keyOfReferences, listingKeys, ownerOf, ownShard, unknownOwner } from './owner-keys';
import { representativeKey } from '../../core/key-projects';
import { Refusal } from '../../edge/refusal';
import { NOT_A_JSON_OBJECT, readBodyOrStream } from '../../edge/request-body';
import { scanReferences } from './references';
import { type KeyPage, walkListing } from './listing';
import { forwardedHeaders, listingCall, noAnswer, refused, settleCall } from './replies';
import type { Tagger } from './names';
import {
  listedTagger,
  nameOwner,
  refuseForeign,
  resourceNotFound,
  type SealedCollection,
  taggerFor,
  tenantMark,
  tenantOf,
} from './tenancy';
import { compatItemMark } from './tenant-marks';
import type { CompatResourceRoute } from './compat-routes';
import { type Admitted, type HandlerDeps, type Outcome, secretsOf } from '../contract';
import { answerFacts, type GoogleAnswer, noKeysConfigured, readWholeReply, sendPlan } from '../../core/upstream-plan';

/** OpenAI's default page size for files and batches listings. */
const DEFAULT_LIMIT = 20;
/** The id fields of a file or batch object that name a Google resource. */
const ID_FIELDS = ['input_file_id', 'output_file_id', 'error_file_id'] as const;
const NAMED = /^(files|batches)\/(.+)$/;

type Route<A extends CompatResourceRoute['action']> = Extract<CompatResourceRoute, { action: A }>;

/** One id tagged, in its own shape (`files/<id>` or bare); unchanged when the tagged form would not read back. */
async function tagOne(tagger: Tagger, collection: SealedCollection, value: string): Promise<string> {
  const named = NAMED.exec(value);
  const id = named?.[2] ?? value;
  const seal = tagger.seal === undefined ? undefined : await tagger.seal(collection, id);
  const tagged = tagId(tagger, id, seal);
  if (parseTaggedId(tagged)?.googleId !== id) return value;
  return named?.[1] !== undefined ? `${named[1]}/${tagged}` : tagged;
}

async function tagObject(item: unknown, tagger: Tagger): Promise<unknown> {
  if (!isJsonObject(item)) return item;
  const out: Record<string, unknown> = { ...item };
  if ((item.object === 'file' || item.object === 'batch') && typeof item.id === 'string')
    out.id = await tagOne(tagger, item.object === 'file' ? 'files' : 'batches', item.id);
  for (const field of ID_FIELDS) {
    const value = item[field];
    if (typeof value === 'string' && value !== '') out[field] = await tagOne(tagger, 'files', value);
  }
  return out;
}

/** Every Google id in an OpenAI file, batch, deletion or list reply, tagged by `tagger`. */
export async function tagCompatIds(body: unknown, tagger: Tagger): Promise<unknown> {
  if (isJsonObject(body) && body.object === 'list' && Array.isArray(body.data)) {
    const data: unknown[] = [];
    for (const item of body.data) data.push(await tagObject(item, tagger));
    return { ...body, data, ...listEnds(data) };
  }
  return tagObject(body, tagger);
}

function listEnds(data: readonly unknown[]): { first_id: unknown; last_id: unknown } {
  const idOf = (item: unknown): unknown => (isJsonObject(item) ? (item.id ?? null) : null);
  return { first_id: data.length > 0 ? idOf(data[0]) : null, last_id: data.length > 0 ? idOf(data.at(-1)) : null };
}

/** Google's error as an OpenAI error, as the other OpenAI routes pass it. */
async function openAIError(answer: GoogleAnswer, secrets: readonly string[]): Promise<Outcome> {
  const upstream = answer.response;
  const text = answer.errorText ?? (await upstream.text().catch(() => ''));
  return {
    response: jsonResponse(upstream.status, toOpenAIError(upstream.status, text, secrets)),
    line: answerFacts(answer),
  };
}

/** Google's JSON answer with its ids tagged; a file's content passes as Google sent it. */
async function deliver(
  answer: GoogleAnswer,
  tagger: Tagger,
  a: Admitted,
  secrets: readonly string[],
  bytes = false,
): Promise<Outcome> {
  const upstream = answer.response;
  if (!upstream.ok) return openAIError(answer, secrets);
  const line = answerFacts(answer);
  if (bytes) {
    const headers = new Headers();
    for (const name of ['content-type', 'content-length', 'content-disposition']) {
      const value = upstream.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    return { response: new Response(upstream.body, { status: upstream.status, headers }), line };
  }
  const reply = await readWholeReply(upstream);
  if (reply instanceof Refusal) return refused(reply, a, line);
  return { response: jsonResponse(upstream.status, await tagCompatIds(reply.json, tagger)), line };
}

async function ownerOfIndex(keyIndex: number, a: Admitted): Promise<ResourceOwner> {
  const key = a.config.keys.find((k) => k.index === keyIndex);
  // unreachable: the key core answers with one of the keys it was given
  if (key === undefined) throw new Error(`the key core answered with key ${keyIndex}, which this worker does not hold`);
  return ownerOf(key, a.config);
}

/** `files.create`: the multipart body unparsed, on a pool key; the key that stored the file owns it. */
async function serveFileCreate(route: Route<'create'>, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { request, config } = a;
  const read = await readBodyOrStream(request, config.maxBodyBytes, REPLAY_MAX_BYTES);
  if (read instanceof Refusal) return refused(read, a);
  const body = read.kind === 'stream' ? read.body : read.bytes;
  const secrets = secretsOf(config);
  const result = await sendPlan(
    {
      path: route.upstreamPath,
      method: 'POST',
      headers: forwardedHeaders(request, ['content-type']),
      body,
      keyStyle: 'bearer',
      model: ANY_MODEL,
    },
    a,
    deps,
  );
  const settled = await settleCall(result, read.kind === 'stream' ? read : undefined, a, deps);
  if (settled.kind === 'outcome') return settled.outcome;
  const { answer } = settled;
  if (!answer.response.ok) return openAIError(answer, secrets);
  const tenant = tenantOf(a);
  return deliver(answer, taggerFor(tenant, await ownerOfIndex(answer.keyIndex, a), tenant.client), a, secrets);
}

const BATCH_TOO_LARGE = new Refusal(
  413,
  'request_too_large',
  `Request body exceeds ${REPLAY_MAX_BYTES} bytes, the most the gateway reads whole for batches.create (it reads input_file_id to find the key that holds the file); the requests belong in the input file.`,
);

/** `batches.create`: the key of the file `input_file_id` names, that key only. */
async function serveBatchCreate(route: Route<'create'>, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { config } = a;
  const limit = Math.min(config.maxBodyBytes, REPLAY_MAX_BYTES);
  const read = await readBodyOrStream(a.request, limit, limit, BATCH_TOO_LARGE);
  if (read instanceof Refusal) return refused(read, a);
  if (read.kind === 'stream') {
    await read.body.cancel().catch(() => undefined);
    return refused(BATCH_TOO_LARGE, a);
  }
  const json = parseJsonObject(read.bytes);
  if (json === undefined) return refused(NOT_A_JSON_OBJECT, a);
  const scan = scanReferences(json);
  const tenant = tenantOf(a);
  const foreign = await refuseForeign(tenant, scan.references);
  if (foreign !== undefined) return refused(foreign, a);
  const owned = await keyOfReferences(scan.references, config);
  if (owned instanceof Refusal) return refused(owned, a);
  if (owned === undefined) {
    // Google keeps the input file per key: without a tag no key of this gateway is known to hold it
    const input = typeof json.input_file_id === 'string' ? json.input_file_id : '(none)';
    return refused(unknownOwner(`input_file_id ${input}`), a);
  }
  const headers = forwardedHeaders(a.request);
  headers.set('content-type', 'application/json');
  const secrets = secretsOf(config);
  const result = await sendPlan(
    {
      path: route.upstreamPath,
      method: 'POST',
      headers,
      body: JSON.stringify(scan.stripped),
      keyStyle: 'bearer',
      model: ANY_MODEL,
      owner: owned.key,
    },
    a,
    deps,
  );
  if (result.kind !== 'response') return noAnswer(result, a, deps, secrets, owned.key);
  return deliver(result, taggerFor(tenant, owned.owner, tenant.client), a, secrets);
}

/** A call on one file or batch: its owning key only, the tag stripped from the path. */
async function serveCompatOwned(route: Route<'owned'>, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { config } = a;
  const { target } = route;
  if (target.kind === 'untagged') return refused(unknownOwner(target.reference), a);
  const tenant = tenantOf(a);
  const client = await nameOwner(tenant, target);
  if (client === undefined) return refused(resourceNotFound(), a);
  const key = await keyOfOwner(target.owner, target.reference, config);
  if (key instanceof Refusal) return refused(key, a);
  const secrets = secretsOf(config);
  const result = await sendPlan(
    {
      path: target.upstreamPath,
      method: route.method,
      headers: forwardedHeaders(a.request),
      keyStyle: 'bearer',
      model: ANY_MODEL,
      owner: key,
    },
    a,
    deps,
  );
  if (result.kind !== 'response') return noAnswer(result, a, deps, secrets, key);
  const tagger = taggerFor(tenant, await ownerOf(key, config), client);
  return deliver(result, tagger, a, secrets, route.name === 'openai.files.content');
}

function notMerged(collection: 'files' | 'batches'): Refusal {
  return new Refusal(
    501,
    'listing_not_merged',
    `This gateway spreads its Gemini API keys over several shards, and an OpenAI-style listing cannot page from one shard to the next (its "after" is the last item's id). List ${collection} with the native merged listing instead: GET /v1beta/${collection} (pageToken paging), or retrieve each id you were given.`,
  );
}

/** Where a listing resumes after the client's `after` (the last item's tagged id): that id's project and Google id. */
async function afterCursor(route: Route<'list'>, a: Admitted): Promise<ListCursor | undefined | Refusal> {
  const { config } = a;
  const { after } = route;
  if (after === undefined) return undefined;
  if (after.kind === 'untagged') return unknownOwner(after.reference);
  if ((await nameOwner(tenantOf(a), after)) === undefined) return resourceNotFound();
  const key = await keyOfOwner(after.owner, after.reference, config);
  if (key instanceof Refusal) return key;
  // Google's own `after`: the id with its tag stripped, in the shape the client used
  const tagged = parseTaggedId(after.reference.replace(NAMED, '$2'));
  const googleAfter = after.reference.startsWith(`${route.collection}/`)
    ? `${route.collection}/${tagged?.googleId ?? ''}`
    : (tagged?.googleId ?? '');
  // the listing walks one key per project, its representative: the walk resumes there
  return { shard: ownShard(config), key: representativeKey(config, key).index, pageToken: googleAfter };
}

/** One key's page of Google's compat listing, on that key alone, resuming after Google's id `googleAfter`. */
function compatLister(route: Route<'list'>, a: Admitted, deps: HandlerDeps, count: (attempts: number) => void) {
  const keys = new Map(a.config.keys.map((k) => [k.index, k]));
  return async (index: number, googleAfter: string | undefined, limit: number): Promise<KeyPage<Outcome>> => {
    const key: PoolKey | undefined = keys.get(index);
    // unreachable: the walk lists the keys it was given
    if (key === undefined) throw new Error(`the listing walk asked for key ${index}, which this worker does not hold`);
    const query = new URLSearchParams({ limit: String(limit) });
    if (googleAfter !== undefined) query.set('after', googleAfter);
    const path = `/v1beta/openai/${route.collection}?${query}`;
    const call = await listingCall(key, path, 'bearer', a, deps, openAIError);
    count(call.attempts);
    if (call.kind === 'failed') return call;
    const { json } = call;
    const items = Array.isArray(json.data) ? json.data : [];
    const last = items.at(-1);
    // only whether more follows matters: the client resumes after the last item it saw, by its id
    const more = json.has_more === true && isJsonObject(last) && typeof last.id === 'string';
    return { kind: 'page', items, ...(more ? { nextPageToken: String(last.id) } : {}) };
  };
}

/** A listing of this worker's projects, one key each, one page, OpenAI's paging; a client's own items only. */
async function serveCompatListing(route: Route<'list'>, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { config } = a;
  const { collection } = route;
  const count = Number(a.request.headers.get(SHARD_COUNT_HEADER));
  if (config.shardIndex !== undefined && Number.isSafeInteger(count) && count > 1)
    return refused(notMerged(collection), a);
  const cursor = await afterCursor(route, a);
  if (cursor instanceof Refusal) return refused(cursor, a);
  const tenant = tenantOf(a);
  const mark = await tenantMark(tenant);
  const owners = new Map<number, ResourceOwner>();
  for (const key of config.keys) owners.set(key.index, await ownerOf(key, config));
  let attempts = 0;
  const page = await walkListing<Outcome>({
    shard: ownShard(config),
    ...(cursor !== undefined ? { cursor } : {}),
    keys: listingKeys(config, (index) => deps.pool.isRemoved(index)),
    pageSize: route.limit ?? DEFAULT_LIMIT,
    list: compatLister(route, a, deps, (n) => {
      attempts += n;
    }),
    ...(mark !== undefined ? { keep: (item: unknown) => compatItemMark(collection, item) === mark } : {}),
  });
  if (page.kind === 'failed') return page.failure;
  const data: unknown[] = [];
  for (const { key, item } of page.items) {
    const owner = owners.get(key);
    const tagger = owner && (await listedTagger(tenant, owner, compatItemMark(collection, item)));
    data.push(tagger === undefined ? item : await tagObject(item, tagger));
  }
  const body = { object: 'list', data, ...listEnds(data), has_more: page.nextPageToken !== undefined };
  return { response: jsonResponse(200, body), line: { attempts, status: 200 } };
}

/** Serves an OpenAI-compatible file or batch route. */
export async function serveCompatRoute(route: CompatResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  if (a.config.keys.length === 0) return refused(noKeysConfigured(), a);
  switch (route.action) {
    case 'create':
      return route.collection === 'files' ? serveFileCreate(route, a, deps) : serveBatchCreate(route, a, deps);
    case 'owned':
      return serveCompatOwned(route, a, deps);
    case 'list':
      return serveCompatListing(route, a, deps);
  }
}
