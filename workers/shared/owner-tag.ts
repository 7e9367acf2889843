/**
 * Owner tags: how a stateful Gemini resource (a file, a cached content, a batch, an interaction, an upload session)
 * names the one key that can reach it, without any store. Google keeps these resources per project, so only the key
 * that created one can use it; the gateway therefore hands out every such name with a short tag in front of Google's
 * own id, and any worker can route a request that names it:
 *
 *     files/abc123def456  (Google's name)   →   files/z3k5qmfa-abc123def456  (the name clients see)
 *
 * `z3k5qmfa` reads: shard 3 (`BACKEND_SERVICE_3`, the shard's `SHARD_INDEX`), its key 5 (`KEY5`), and `qmfa`, four
 * letters of a hash of that key, so a key that left the pool (or a shard whose keys moved) is noticed instead of the
 * name being tried with another key. The tag names no key and holds nothing secret: the fingerprint is 19 bits of a
 * SHA-256 of the key, which cannot be turned back into it.
 *
 * A name handed to a client (not the operator) also carries a seal, `c` and eight base32 characters after the
 * fingerprint (`z3k5qmfac7hq2mxkd-abc123def456`): a MAC under a secret derived from the password that binds the tag,
 * the client, the collection and Google's id, so that no client can forge a name or use another client's
 * (ADR 0008, `../shard/surfaces/resources/tenancy.ts`). A tag without a seal names a resource of the operator's, or
 * one made before clients were kept apart. The grammar is here; the seal's meaning is the shard's alone.
 *
 * The tag uses lowercase letters and digits only and ends with `-`, so a tagged id is still valid wherever Google's
 * ids are (a file id is up to 40 lowercase letters, digits or dashes; the tag itself is 8 to 23 characters).
 *
 * Plain TypeScript without Workers or Node.js types: both workers and the tests import it.
 *
 * @module
 */

/** The key that owns a resource: which shard holds it, which of that shard's keys it is, and a check of the key. */
export interface ResourceOwner {
  /** n of the shard's `BACKEND_SERVICE_<n>` binding and its `SHARD_INDEX`; 0 on a worker that stands alone */
  readonly shard: number;
  /** n of the shard's `KEY<n>` binding */
  readonly key: number;
  /** four lowercase letters derived from the key's value (see the shard worker's `owner-keys.ts`) */
  readonly fingerprint: string;
}

/** Largest shard index a tag may name (the contract's `BACKEND_SERVICE_<n>` bound). */
export const MAX_TAG_SHARD = 999_999;
/** Largest key index a tag may name (the contract's `KEY<n>` bound). */
export const MAX_TAG_KEY = 9_999;
/** Length of a key's fingerprint in a tag. */
export const FINGERPRINT_LENGTH = 4;
/** Length of a seal, in base32 characters (40 bits), after its `c`. */
export const SEAL_LENGTH = 8;
/** A seal: lowercase base32 (RFC 4648's alphabet, lowercased). */
export const SEAL_PATTERN = `[a-z2-7]{${SEAL_LENGTH}}`;

const TAG_SOURCE = `z(0|[1-9][0-9]{0,5})k([1-9][0-9]{0,3})([a-z]{${FINGERPRINT_LENGTH}})(?:c(${SEAL_PATTERN}))?`;
/** A tagged id: the tag, `-`, then Google's id (at least one character, none of which needs escaping in a path). */
const TAGGED_ID = new RegExp(`^${TAG_SOURCE}-([A-Za-z0-9._~-]{1,1024})$`);
const FINGERPRINT = new RegExp(`^[a-z]{${FINGERPRINT_LENGTH}}$`);
const SEAL = new RegExp(`^${SEAL_PATTERN}$`);

/** The tag alone, e.g. `z3k5qmfa`. */
export function formatOwnerTag(owner: ResourceOwner): string {
  if (!Number.isSafeInteger(owner.shard) || owner.shard < 0 || owner.shard > MAX_TAG_SHARD)
    throw new RangeError(`owner shard must be an integer from 0 to ${MAX_TAG_SHARD}, got ${owner.shard}`);
  if (!Number.isSafeInteger(owner.key) || owner.key < 1 || owner.key > MAX_TAG_KEY)
    throw new RangeError(`owner key must be an integer from 1 to ${MAX_TAG_KEY}, got ${owner.key}`);
  if (!FINGERPRINT.test(owner.fingerprint))
    throw new RangeError(`owner fingerprint must be ${FINGERPRINT_LENGTH} lowercase letters`);
  return `z${owner.shard}k${owner.key}${owner.fingerprint}`;
}

/** Google's id with the owner's tag in front, sealed when `seal` is given: the id clients see. */
export function tagId(owner: ResourceOwner, googleId: string, seal?: string): string {
  if (seal === undefined) return `${formatOwnerTag(owner)}-${googleId}`;
  if (!SEAL.test(seal)) throw new RangeError(`a seal must be ${SEAL_LENGTH} lowercase base32 characters`);
  return `${formatOwnerTag(owner)}c${seal}-${googleId}`;
}

/** A tagged id read back: its owner, its seal when it has one, and Google's id. */
export interface TaggedId {
  readonly owner: ResourceOwner;
  readonly googleId: string;
  /** the seal (without its `c`); absent on the operator's names and on names made before clients were kept apart */
  readonly seal?: string;
}

/** A tagged id split into its owner, seal and Google's id; undefined when `id` carries no well-formed tag. */
export function parseTaggedId(id: string): TaggedId | undefined {
  const [, shard, key, fingerprint, seal, googleId] = TAGGED_ID.exec(id) ?? [];
  if (shard === undefined || key === undefined || fingerprint === undefined || googleId === undefined) return undefined;
  const owner = { shard: Number(shard), key: Number(key), fingerprint };
  return seal === undefined ? { owner, googleId } : { owner, googleId, seal };
}

/** Whether two owners are the same key of the same shard. */
export function sameOwner(a: ResourceOwner, b: ResourceOwner): boolean {
  return a.shard === b.shard && a.key === b.key && a.fingerprint === b.fingerprint;
}

// ---- merged listings ----

/**
 * Where a merged listing (`GET /v1beta/files`, `cachedContents`, `batches`) goes on: the shard and key whose resources
 * come next, and Google's own page token for that key when it has more. The gateway's `nextPageToken` is this,
 * encoded; a listing with no page token starts at shard 0, key 1.
 */
export interface ListCursor {
  readonly shard: number;
  readonly key: number;
  /** Google's `nextPageToken` for this key, when its listing was cut by the page size */
  readonly pageToken?: string;
}

const CURSOR_PREFIX = 'zl';
const CURSOR_TEXT = /^(0|[1-9][0-9]{0,5})\.([1-9][0-9]{0,3})\.([\x21-\x7e]{0,900})$/;

/** The cursor as a page token: `zl` and base64url text, so it passes every page-token check a client applies. */
export function encodeListCursor(cursor: ListCursor): string {
  const text = `${cursor.shard}.${cursor.key}.${cursor.pageToken ?? ''}`;
  return CURSOR_PREFIX + btoa(text).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** A page token back into its cursor; undefined when it is not one the gateway issued. */
export function decodeListCursor(token: string): ListCursor | undefined {
  if (!token.startsWith(CURSOR_PREFIX)) return undefined;
  const encoded = token.slice(CURSOR_PREFIX.length);
  if (!/^[A-Za-z0-9_-]{1,1400}$/.test(encoded)) return undefined;
  let text: string;
  try {
    text = atob(encoded.replaceAll('-', '+').replaceAll('_', '/'));
  } catch {
    return undefined;
  }
  const [, shard, key, pageToken] = CURSOR_TEXT.exec(text) ?? [];
  if (shard === undefined || key === undefined || pageToken === undefined) return undefined;
  return { shard: Number(shard), key: Number(key), ...(pageToken !== '' ? { pageToken } : {}) };
}

// ---- routing by URL (the orchestrator) ----

/** The collections whose resources Google keeps per project. */
export const OWNED_COLLECTIONS = ['files', 'cachedContents', 'batches', 'interactions'] as const;
export type OwnedCollection = (typeof OWNED_COLLECTIONS)[number];

/** The collections a merged listing covers. */
export const LISTED_COLLECTIONS = ['files', 'cachedContents', 'batches'] as const;
export type ListedCollection = (typeof LISTED_COLLECTIONS)[number];

/** The field of a listing reply that holds the items, Google's and the gateway's alike (a batch listing lists operations). */
export const LIST_ITEM_FIELDS: Readonly<Record<ListedCollection, string>> = {
  files: 'files',
  cachedContents: 'cachedContents',
  batches: 'operations',
};

/**
 * Where the URL alone sends a request: to any shard (nothing owned is named in the URL; a body may still name
 * something, which the shard that reads it answers with a misdirect), to one shard, or nowhere, because the URL names
 * a resource whose tag is missing or malformed.
 */
export type ShardRoute =
  | { readonly kind: 'any' }
  | { readonly kind: 'shard'; readonly shard: number }
  | { readonly kind: 'unknown-owner'; readonly id: string };

// `/v1beta/files/{id}`, `/v1beta/files/{id}:download`, `/download/v1beta/files/{id}:download`,
// `/v1beta/batches/{id}:cancel`, `/v1beta/interactions/{id}/cancel`, and the OpenAI-compatible `/v1/files/{id}`,
// `/v1/files/{id}/content`, `/v1/batches/{id}`, `/v1/batches/{id}/cancel`
const NATIVE_RESOURCE =
  /^\/(?:download\/)?v1beta\/(files|cachedContents|batches|interactions)\/([^/:]+)(?::[A-Za-z]+|\/cancel)?$/;
// an OpenAI-compatible id may be Google's native name (`files/<id>`), which the `openai` SDK sends percent-encoded
// (`files%2F<id>`) and a hand-written client perhaps with its slash
const OPENAI_RESOURCE =
  /^(?:\/v1|\/v1beta\/openai)?\/(files|batches)\/(?:(?:files|batches)(?:%2[Ff]|\/))?([^/]+)(?:\/content|\/cancel)?$/;
const OPENAI_LISTING = /^(?:\/v1|\/v1beta\/openai)?\/(files|batches)$/;
const LISTING = /^\/v1beta\/(files|cachedContents|batches)$/;
const UPLOAD = /^\/upload\/v1beta\/files$/;

/** The collection a request lists: a GET of the collection itself (a merged listing); undefined for anything else. */
export function listedCollectionOf(method: string, url: URL): ListedCollection | undefined {
  if (method !== 'GET') return undefined;
  const collection = LISTING.exec(url.pathname)?.[1];
  return LISTED_COLLECTIONS.find((c) => c === collection);
}

function owned(id: string): ShardRoute {
  const tagged = parseTaggedId(id);
  return tagged === undefined ? { kind: 'unknown-owner', id } : { kind: 'shard', shard: tagged.owner.shard };
}

/**
 * Where the method and URL send a request, reading the path and query only (never a body). `url.pathname` as the
 * runtime parsed it; an encoded character in an id makes it malformed, since no tagged id needs one (only the slash of
 * an OpenAI-compatible `files%2F<id>` name is read as one).
 */
export function shardRouteOf(method: string, url: URL): ShardRoute {
  const { pathname, searchParams } = url;
  if (UPLOAD.test(pathname)) {
    // the upload session's URL, handed out by the gateway, carries the owner in its `upload_id`; the start has none
    const uploadId = searchParams.get('upload_id');
    return uploadId === null ? { kind: 'any' } : owned(uploadId);
  }
  if (method === 'GET' && LISTING.test(pathname)) {
    const token = searchParams.get('pageToken');
    if (token === null) return { kind: 'shard', shard: 0 };
    const cursor = decodeListCursor(token);
    // a token the gateway did not issue: any shard refuses it with the same 400
    return cursor === undefined ? { kind: 'any' } : { kind: 'shard', shard: cursor.shard };
  }
  const native = NATIVE_RESOURCE.exec(pathname);
  if (native?.[2] !== undefined) return owned(native[2]);
  const openai = OPENAI_RESOURCE.exec(pathname);
  if (openai?.[2] !== undefined) return owned(openai[2]);
  if (method === 'GET' && OPENAI_LISTING.test(pathname)) {
    // OpenAI's paging resumes after the last item it saw: that id's shard lists on; a first page goes anywhere
    const after = searchParams.get('after');
    const id = after?.replace(/^(?:files|batches)\//, '');
    const tagged = id === undefined ? undefined : parseTaggedId(id);
    return tagged === undefined ? { kind: 'any' } : { kind: 'shard', shard: tagged.owner.shard };
  }
  return { kind: 'any' };
}
