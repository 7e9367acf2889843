/**
 * Which of this worker's keys owns a resource, from the owner tag in its name (see `../shared/owner-tag`), and the
 * tag a new resource gets. Google keeps files, cached contents, batches and interactions per project, so a request
 * that names one must use a key of the project that created it (see `../../core/key-projects`): no other project's
 * key, and no other shard, can serve it. A resource is named once, by its project's representative key (the
 * project's first key in this worker), whichever of its keys created it; a tag naming another key of the project
 * (given out before the project was declared) still leads to the project.
 */
import { MISDIRECTED_STATUS, OWNER_HEADER } from '../../../shared/contract';
import { FINGERPRINT_LENGTH, formatOwnerTag, type ResourceOwner, sameOwner } from '../../../shared/owner-tag';
import type { PoolKey, ShardConfig } from '../../edge/bindings';
import { ownerProject, representativeKey, workerProjects } from '../../core/key-projects';
import { Refusal } from '../../edge/refusal';
import type { OwnedReference, ScannedReference } from './references';
import { refuseForeign, type Tenant } from './tenancy';

// a label in front of the key, so the digest is of no use anywhere else
const FINGERPRINT_LABEL = 'zen-ai-router owner tag\u0000';
const fingerprints = new Map<string, string>();

/**
 * Four lowercase letters derived from a key's SHA-256 digest: enough to notice that the key behind a tag's index is
 * not the one that created the resource (19 bits), far too little to learn anything about the key.
 */
export async function keyFingerprint(value: string): Promise<string> {
  const known = fingerprints.get(value);
  if (known !== undefined) return known;
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(FINGERPRINT_LABEL + value)),
  );
  const letters = Array.from(digest.subarray(0, FINGERPRINT_LENGTH), (byte) => String.fromCharCode(97 + (byte % 26)));
  const fingerprint = letters.join('');
  fingerprints.set(value, fingerprint);
  return fingerprint;
}

/** The shard index this worker tags with: its `SHARD_INDEX`, or 0 when it stands alone. */
export function ownShard(config: ShardConfig): number {
  return config.shardIndex ?? 0;
}

/** The owner naming `key` itself, whatever its project: an upload session, which Google opened for that key. */
export async function keyOwnerOf(key: PoolKey, config: ShardConfig): Promise<ResourceOwner> {
  return { shard: ownShard(config), key: key.index, fingerprint: await keyFingerprint(key.value) };
}

/** The owner of a resource created (or reached) with `key` on this worker: its project's representative key. */
export function ownerOf(key: PoolKey, config: ShardConfig): Promise<ResourceOwner> {
  return keyOwnerOf(representativeKey(config, key), config);
}

/** Where a tagged resource's key is: one of this worker's keys, or another shard (only behind the orchestrator). */
export type OwnerLookup =
  | { readonly kind: 'key'; readonly key: PoolKey }
  | { readonly kind: 'elsewhere'; readonly shard: number }
  | { readonly kind: 'refused'; readonly refusal: Refusal };

/** The refusal of a name whose owner tag is missing or malformed, or names no part of this gateway. */
export function unknownOwner(what: string): Refusal {
  return new Refusal(
    404,
    'unknown_resource_owner',
    `${what} has no valid owner tag for this gateway. The gateway names every file, cached content, batch and interaction it hands out with a tag in front of Google's id (files/z3k5qmfa-abc123): use names exactly as the gateway returned them. Resources created directly at Google, or through another gateway, cannot be reached here.`,
  );
}

/** The refusal of a tag whose key this worker no longer holds. */
export function ownerKeyGone(what: string): Refusal {
  return new Refusal(
    410,
    'owner_key_gone',
    `The Gemini API key that created ${what} is no longer in this gateway's key pool (it was removed or the keys were reordered), and Google keeps such resources per project, which the gateway reaches through that key: create it again.`,
  );
}

/**
 * Finds the key that owns a resource. `what` names it in refusals (e.g. `files/z3k5qmfa-abc123`): it is the
 * client's own reference, so quoting it tells them which one failed without revealing anything.
 */
export async function lookUpOwner(owner: ResourceOwner, what: string, config: ShardConfig): Promise<OwnerLookup> {
  if (owner.shard !== ownShard(config)) {
    // a worker that stands alone has no other shard; behind the orchestrator, the owning shard serves it
    return config.shardIndex === undefined
      ? { kind: 'refused', refusal: unknownOwner(what) }
      : { kind: 'elsewhere', shard: owner.shard };
  }
  const key = config.keys.find((k) => k.index === owner.key);
  if (key === undefined || (await keyFingerprint(key.value)) !== owner.fingerprint)
    return { kind: 'refused', refusal: ownerKeyGone(what) };
  return { kind: 'key', key };
}

/**
 * The answer of a shard that was sent a request naming another shard's resource: nothing went to Google, and the
 * orchestrator sends the request to the owner (`x-zen-owner`). A client sees it only when the orchestrator could
 * not (a body over the replay bound it keeps a copy of).
 */
export function misdirected(shard: number): Refusal {
  return new Refusal(
    MISDIRECTED_STATUS,
    'misdirected_request',
    `This request names a resource of shard ${shard}, and its body was too large for the gateway to send it there; send the large content as a file instead, or split the request.`,
    { [OWNER_HEADER]: String(shard) },
  );
}

/**
 * The one owner of every resource a request body names, or the 400 when they belong to different keys: Google would
 * refuse whichever key the gateway chose for the resources of the other. See {@link soleProjectOwner} for tags of
 * one project's different keys.
 */
export function soleOwner(references: readonly [OwnedReference, ...OwnedReference[]]): OwnedReference | Refusal {
  const [first, ...rest] = references;
  const other = rest.find((r) => !sameOwner(r.owner, first.owner));
  if (other === undefined) return first;
  return mixedOwners(first, other);
}

/**
 * {@link soleOwner}, except that tags naming different keys of one project of this worker are one owner: Google keeps
 * the resources per project, so any key of it reaches them all.
 */
export async function soleProjectOwner(
  references: readonly [OwnedReference, ...OwnedReference[]],
  config: ShardConfig,
): Promise<OwnedReference | Refusal> {
  const sole = soleOwner(references);
  if (!(sole instanceof Refusal) || references.some((r) => r.owner.shard !== ownShard(config))) return sole;
  const projects = new Set<string>();
  for (const reference of references) {
    const found = await lookUpOwner(reference.owner, reference.reference, config);
    if (found.kind !== 'key') return sole;
    projects.add(ownerProject(config, found.key).label);
  }
  return projects.size === 1 ? references[0] : sole;
}

/**
 * The one owner of what a request body names, once every name is the tenant's own (`./tenancy.ts`): undefined when
 * the body names nothing; the 404 `resource_not_found` for a name that is not the tenant's, before anything else; the
 * 400 for names of two projects.
 */
export async function referencedOwner(
  references: readonly ScannedReference[],
  tenant: Tenant,
  config: ShardConfig,
): Promise<OwnedReference | Refusal | undefined> {
  const foreign = await refuseForeign(tenant, references);
  if (foreign !== undefined) return foreign;
  const [first, ...rest] = references;
  return first === undefined ? undefined : soleProjectOwner([first, ...rest], config);
}

function mixedOwners(first: OwnedReference, other: OwnedReference): Refusal {
  return new Refusal(
    400,
    'mixed_resource_owners',
    `This request names ${first.reference} and ${other.reference}, which were created through Gemini API keys of different Google projects of this gateway (owner tags ${formatOwnerTag(first.owner)} and ${formatOwnerTag(other.owner)}). Google keeps each file, cached content, batch and interaction per project (and the gateway counts each key as its own project, per key, unless KEY_PROJECTS says which keys share one), so one request can only use resources of one project: use them in separate requests, or create them again on one key: an upload whose name starts with an owner tag goes to that tag's key (e.g. name "${formatOwnerTag(first.owner)}-report" with @google/genai's files.upload), and a cache or batch goes to the key of the files it names.`,
  );
}

/**
 * The refusal of a body over the replay bound that names an owned resource: such a body streams to Google unread, on
 * a key chosen before its content is known, so the upload was stopped before Google received all of it.
 */
export function ownedReferenceInLargeBody(reference: string, replayMaxBytes: number): Refusal {
  return new Refusal(
    400,
    'large_body_names_resource',
    `This request body is over ${replayMaxBytes} bytes and names an owned resource (${reference}…). The gateway streams a body that large to Gemini without reading it first, so it cannot send it to the key that owns the resource, and it stopped the upload. Upload the large content as a file and reference it, or split the request so that each body stays within ${replayMaxBytes} bytes.`,
  );
}

/** The key of an owner tag: this worker's key, or the refusal (another shard's: 421; unknown: 404; gone: 410). */
export async function keyOfOwner(
  owner: ResourceOwner,
  reference: string,
  config: ShardConfig,
): Promise<PoolKey | Refusal> {
  const found = await lookUpOwner(owner, reference, config);
  switch (found.kind) {
    case 'key':
      return found.key;
    case 'elsewhere':
      return misdirected(found.shard);
    case 'refused':
      return found.refusal;
  }
}

/**
 * The key every reference belongs to (`references` may start with the path's own resource) with its project's owner
 * (the name a resource it creates gets), undefined when there is none, or the refusal: resources of two projects
 * (400), or an owner this worker cannot serve.
 */
export async function keyOfReferences(
  references: readonly OwnedReference[],
  config: ShardConfig,
): Promise<{ readonly key: PoolKey; readonly owner: ResourceOwner } | Refusal | undefined> {
  const [first, ...rest] = references;
  if (first === undefined) return undefined;
  const sole = await soleProjectOwner([first, ...rest], config);
  if (sole instanceof Refusal) return sole;
  const key = await keyOfOwner(sole.owner, sole.reference, config);
  return key instanceof Refusal ? key : { key, owner: await ownerOf(key, config) };
}

/**
 * The keys a merged listing asks, ascending: one per project, its representative, for each project this worker lists
 * (a project split across shards is listed by the shard holding its first key) that has a key still in use.
 */
export function listingKeys(config: ShardConfig, isRemoved: (index: number) => boolean): number[] {
  return workerProjects(config)
    .projects.filter((p) => p.lists && p.keys.some((k) => !isRemoved(k)))
    .map((p) => p.keys[0])
    .filter((k): k is number => k !== undefined)
    .sort((a, b) => a - b);
}
