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
 * Each resource is also its creating client's (`./tenancy.ts`): every name in a request must be the client's own
 * (else the 404 `resource_not_found`, before any call), what a client creates carries its mark
 * (`./tenant-marks.ts`), the names of a reply are sealed for the client the resource is, and a client's listing holds
 * its own items only. The operator (`PASS`) reaches every client's resources.
 * Google's errors pass as on the native routes; the gateway's own refusals have the OpenAI shape, as on the others.
 */
import { isJsonObject, parseJsonObject } from '../../../shared/json';
import { PASS_CLIENT_NAME, REPLAY_MAX_BYTES } from '../../../shared/contract';
import type { OwnedCollection, ResourceOwner } from '../../../shared/owner-tag';
import type { PoolKey } from '../../edge/bindings';
import { ANY_MODEL } from '../../core/key-pool';
import { keyOfOwner, keyOfReferences, ownerOf, unknownOwner } from './owner-keys';
import { Refusal } from '../../edge/refusal';
import { NOT_A_JSON_OBJECT, readBodyOrStream } from '../../edge/request-body';
import { type OwnedReference, scanReferences } from './references';
import { tagOptionsFor } from './names';
import { serveListing } from './native-listing';
import { deliverTagged, forwardedHeaders, googleError, noAnswer, refused } from './replies';
import {
  markOf,
  nameOwner,
  refuseForeign,
  resourceNotFound,
  type Tenant,
  taggerFor,
  tenantMark,
  tenantOf,
} from './tenancy';
import { markedDisplayName, remarkedUpdate } from './tenant-marks';
import { serveUploadChunk, serveUploadStart } from './upload';
import { normaliseModel } from '../route-matching';
import type { CreateResourceRoute, OwnedResourceRoute, ResourceRoute } from './routes';
import { type Admitted, type HandlerDeps, type Outcome, secretsOf } from '../contract';
import { attemptFacts, noKeysConfigured, sendPlan } from '../../core/upstream-plan';

function tooLarge(what: string): Refusal {
  return new Refusal(
    413,
    'request_too_large',
    `Request body exceeds ${REPLAY_MAX_BYTES} bytes, the most the gateway reads whole for ${what} (it reads the body to find the files and other resources it names); put large content in a file and reference it.`,
  );
}

/** A request body read and scanned: the bytes to send, the JSON as Google must receive it, whose key they need. */
interface Scanned {
  readonly body?: Uint8Array | string;
  readonly json?: Record<string, unknown>;
  /** `json` with every owner tag stripped */
  readonly stripped?: Record<string, unknown>;
  readonly references: OwnedReference[];
}

/**
 * The body read whole (bounded) and scanned for owned references, each of which must be the tenant's: the bytes to
 * send, and whose key they need.
 */
async function readScanned(
  a: Admitted,
  tenant: Tenant,
  what: string,
  pathReference?: OwnedReference,
): Promise<Scanned | Refusal> {
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
  const foreign = await refuseForeign(tenant, scan.references);
  if (foreign !== undefined) return foreign;
  references.push(...scan.references);
  const stripped = scan.stripped as Record<string, unknown>;
  // the bytes as sent when nothing is tagged; else the tags must go, and re-serialising is the price of that
  return { body: scan.references.length === 0 ? read.bytes : JSON.stringify(stripped), json, stripped, references };
}

/** A creation's body with the creating client's mark in the `displayName` of the cached content or batch it makes. */
function markedCreation(collection: OwnedCollection, read: Scanned, mark: string): string | Uint8Array | undefined {
  const json = read.stripped;
  if (json === undefined) return read.body;
  const named = (value: unknown) => markedDisplayName(mark, typeof value === 'string' ? value : '');
  if (collection === 'cachedContents') return JSON.stringify({ ...json, displayName: named(json.displayName) });
  // a body without its batch object is Google's to refuse
  if (collection === 'batches' && isJsonObject(json.batch)) {
    return JSON.stringify({ ...json, batch: { ...json.batch, displayName: named(json.batch.displayName) } });
  }
  return read.body;
}

/** A creation: the key of the resources the body names, else any pool key; the key that served it owns the result. */
async function serveCreate(route: CreateResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { config } = a;
  const tenant = tenantOf(a);
  const read = await readScanned(a, tenant, route.name);
  if (read instanceof Refusal) return refused(read, a);
  const owned = await keyOfReferences(read.references, config);
  if (owned instanceof Refusal) return refused(owned, a);
  const mark = await tenantMark(tenant);
  const body = mark === undefined ? read.body : markedCreation(route.collection, read, mark);
  const model = route.model ?? normaliseModel(read.json?.model) ?? ANY_MODEL;
  const headers = forwardedHeaders(a.request);
  headers.set('content-type', 'application/json');
  const secrets = secretsOf(config);
  const result = await sendPlan(
    {
      path: route.upstreamPath,
      method: 'POST',
      headers,
      ...(body !== undefined ? { body } : {}),
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
  return deliverTagged(result, taggerFor(tenant, owner, tenant.client), tagOptionsFor(route.collection), a, secrets);
}

async function ownerOfIndex(keyIndex: number, a: Admitted): Promise<ResourceOwner> {
  const key = a.config.keys.find((k) => k.index === keyIndex);
  // unreachable: the key core answers with one of the keys it was given
  if (key === undefined) throw new Error(`the key core answered with key ${keyIndex}, which this worker does not hold`);
  return ownerOf(key, a.config);
}

/** The body a PATCH or POST on a resource sends, and the key it needs: its references' (the path's among them). */
async function ownedBody(
  route: OwnedResourceRoute & { readonly target: { readonly kind: 'tagged' } },
  a: Admitted,
  tenant: Tenant,
  client: string,
): Promise<{ readonly key?: PoolKey; readonly body?: Uint8Array | string } | Refusal> {
  const { target } = route;
  const read = await readScanned(a, tenant, route.name, { owner: target.owner, reference: target.reference });
  if (read instanceof Refusal) return read;
  const owned = await keyOfReferences(read.references, a.config);
  if (owned instanceof Refusal) return owned;
  const key = owned?.key;
  const updatesName = route.name === 'cachedContents.update' || route.name === 'batches.update';
  if (!updatesName || client === PASS_CLIENT_NAME || read.stripped === undefined) {
    return { ...(key ? { key } : {}), ...(read.body !== undefined ? { body: read.body } : {}) };
  }
  // the mark stays in front of a display name the client sets, whoever updates it
  const mark = await markOf(tenant.pass, client);
  const remarked = remarkedUpdate(read.stripped, mark, a.url.searchParams.get('updateMask'));
  const body = remarked === undefined ? read.body : JSON.stringify(remarked);
  return { ...(key ? { key } : {}), ...(body !== undefined ? { body } : {}) };
}

/** A call on one resource: its owning key only, the tag stripped from the path (and from a PATCH body). */
async function serveOwned(route: OwnedResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { config } = a;
  const { target } = route;
  if (target.kind === 'untagged') return refused(unknownOwner(target.reference), a);
  const tenant = tenantOf(a);
  const client = await nameOwner(tenant, target);
  if (client === undefined) return refused(resourceNotFound(), a);
  const pathKey = await keyOfOwner(target.owner, target.reference, config);
  if (pathKey instanceof Refusal) return refused(pathKey, a);
  let key: PoolKey = pathKey;
  let body: Uint8Array | string | undefined;
  if (route.method === 'PATCH' || route.method === 'POST') {
    const sent = await ownedBody({ ...route, target }, a, tenant, client);
    if (sent instanceof Refusal) return refused(sent, a);
    key = sent.key ?? key;
    body = sent.body;
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
  // the project's own name for the resource, whichever of its keys the client's tag named, sealed for its client
  const tagger = taggerFor(tenant, await ownerOf(key, config), client);
  return deliverTagged(result, tagger, tagOptionsFor(route.collection), a, secrets);
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
