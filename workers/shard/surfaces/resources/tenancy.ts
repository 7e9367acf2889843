/**
 * Tenancy without state: which client a stored resource belongs to, read from its name and from what Google keeps
 * (ADR 0008). Everything derives from one secret, HMAC-SHA256(PASS, "zen-ai-router tenancy v1"), computed with
 * WebCrypto into a key that cannot be exported, never stored or logged:
 * - a client's **mark**, eight base32 characters of an HMAC of its name, which the gateway stores where Google keeps
 *   it and the client cannot change it behind the gateway's back (a file's id, a cached content's or a batch's
 *   `displayName`: see `./tenant-marks.ts`), so that a listing can tell whose each item is;
 * - a name's **seal**, eight base32 characters of an HMAC binding the owner tag, the client, the collection and
 *   Google's id, carried in the tag (`../../../shared/owner-tag`), so that a name works for the client it was handed
 *   to and for no other, and cannot be forged or moved to another key.
 * The operator (`PASS`) has no mark and no seal: what it creates carries neither, which is also how names made before
 * clients were kept apart look, and it may name any resource, sealed or not.
 *
 * @module
 */
import { PASS_CLIENT_NAME } from '../../../shared/contract';
import { formatOwnerTag, type OwnedCollection, type ResourceOwner, SEAL_LENGTH } from '../../../shared/owner-tag';
import { Refusal } from '../../edge/refusal';
import type { Admitted } from '../contract';
import type { Tagger } from './names';

/** The secret's label: a new version of the scheme changes it, and with it every mark and seal. */
const SECRET_LABEL = 'zen-ai-router tenancy v1';
/** Length of a mark, in base32 characters (40 bits). */
export const MARK_LENGTH = 8;
/** A mark as text. */
export const MARK_PATTERN = `[a-z2-7]{${MARK_LENGTH}}`;

/** What a seal may name: an owned collection, or an upload session. */
export type SealedCollection = OwnedCollection | 'uploads';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** WebCrypto's key type, named the same way under the workers' types and Node's. */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const encoder = new TextEncoder();

/** The HMAC key of one password, and the marks computed with it. */
interface Secret {
  readonly pass: string;
  readonly key: Promise<HmacKey>;
  readonly marks: Map<string, Promise<string>>;
}

// one password per worker: the last one's secret is kept, so a request costs no key derivation
let current: Secret | undefined;

async function deriveKey(pass: string): Promise<HmacKey> {
  const hmac = { name: 'HMAC', hash: 'SHA-256' };
  const passKey = await crypto.subtle.importKey('raw', encoder.encode(pass), hmac, false, ['sign']);
  const secret = await crypto.subtle.sign('HMAC', passKey, encoder.encode(SECRET_LABEL));
  return crypto.subtle.importKey('raw', secret, hmac, false, ['sign']);
}

function secretOf(pass: string): Secret {
  if (current?.pass !== pass) current = { pass, key: deriveKey(pass), marks: new Map() };
  return current;
}

/** The first `length` base32 characters of an HMAC under the tenancy secret of `text`. */
async function digest(pass: string, text: string, length: number): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.sign('HMAC', await secretOf(pass).key, encoder.encode(text)));
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= length) break;
    value &= (1 << bits) - 1;
  }
  return out;
}

/** A client's mark: eight base32 characters, the same on every shard, until `PASS` changes. */
export function markOf(pass: string, client: string): Promise<string> {
  const { marks } = secretOf(pass);
  let mark = marks.get(client);
  if (mark === undefined) {
    // the label keeps a mark from ever equalling a seal's first characters
    mark = digest(pass, `mark\u0000${client}`, MARK_LENGTH);
    marks.set(client, mark);
  }
  return mark;
}

/** The seal of a name: it binds the owner tag, the client, the collection and Google's id. */
export function sealOf(
  pass: string,
  owner: ResourceOwner,
  client: string,
  collection: SealedCollection,
  googleId: string,
): Promise<string> {
  const text = ['seal', formatOwnerTag(owner), client, collection, googleId].join('\u0000');
  return digest(pass, text, SEAL_LENGTH);
}

/** Whether two strings are equal, looking at every character whatever the first difference. */
function sameText(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

/** Who is asking: a named client, or the operator (`PASS`), and the names of the clients the worker knows. */
export interface Tenant {
  /** the client's name; `pass` for the operator */
  readonly client: string;
  readonly operator: boolean;
  readonly pass: string;
  /** every client token's name, for the operator's checks and listings */
  readonly clients: readonly string[];
}

/**
 * The tenant of a request: the operator when the client presented `PASS`, else the named client. A request without a
 * client name (only a hand-built one in a unit test) is no operator: it is a client with a name no token can have.
 */
export function tenantOf(a: Pick<Admitted, 'client' | 'config'>): Tenant {
  const { client, config } = a;
  return {
    client: client ?? '',
    operator: client === PASS_CLIENT_NAME,
    pass: config.pass,
    clients: config.clientTokens.map((c) => c.name),
  };
}

/** A tagged name as a request gives it: its owner, its seal if any, and Google's id in its collection. */
export interface SealedName {
  readonly owner: ResourceOwner;
  readonly seal?: string;
  readonly collection: SealedCollection;
  readonly googleId: string;
}

/**
 * Whose a name is, when `tenant` may use it: the client it was sealed for, or `pass` for the operator's own; undefined
 * when the tenant may not use it. A client may use only names sealed for it: a seal that does not verify (forged,
 * tampered, another client's, or made under a previous password) and every unsealed name are refused. The operator may
 * use every name: a seal that verifies for one of the worker's clients makes the name that client's (its replies stay
 * sealed for it); any other name, unsealed or sealed for a client the worker no longer knows or under a previous
 * password, is the operator's.
 */
export async function nameOwner(tenant: Tenant, name: SealedName): Promise<string | undefined> {
  const { seal } = name;
  const fallback = tenant.operator ? PASS_CLIENT_NAME : undefined;
  if (seal === undefined) return fallback;
  const candidates = tenant.operator ? tenant.clients : [tenant.client];
  for (const client of candidates) {
    const expected = await sealOf(tenant.pass, name.owner, client, name.collection, name.googleId);
    if (sameText(expected, seal)) return client;
  }
  return fallback;
}

/** The client whose mark `mark` is, among the clients the worker knows; undefined for none. */
export async function clientOfMark(tenant: Tenant, mark: string | undefined): Promise<string | undefined> {
  if (mark === undefined) return undefined;
  for (const client of tenant.clients) if ((await markOf(tenant.pass, client)) === mark) return client;
  return undefined;
}

/**
 * The answer to a name the tenant may not use, whatever the reason (forged, tampered, another client's, made before
 * clients were kept apart, or naming nothing at all): one status, one code, one message, quoting nothing.
 */
export function resourceNotFound(): Refusal {
  return new Refusal(
    404,
    'resource_not_found',
    'No resource of yours has this name. Files, cached contents, batches, interactions and upload sessions can only be reached by the client that created them, with the name exactly as the gateway returned it.',
  );
}

/** The 404 when any of `names` is not the tenant's to use; undefined when all are. */
export async function refuseForeign(tenant: Tenant, names: readonly SealedName[]): Promise<Refusal | undefined> {
  for (const name of names) if ((await nameOwner(tenant, name)) === undefined) return resourceNotFound();
  return undefined;
}

/**
 * How the names of a reply about `client`'s resources are tagged: with `owner`'s tag, sealed for `client`; unsealed for
 * the operator's own (`pass`), which is how the operator's names look.
 */
export function taggerFor(tenant: Tenant, owner: ResourceOwner, client: string): Tagger {
  if (client === PASS_CLIENT_NAME) return owner;
  return { ...owner, seal: (collection, googleId) => sealOf(tenant.pass, owner, client, collection, googleId) };
}

/** The mark of what `tenant` creates; undefined for the operator, whose resources carry none. */
export function tenantMark(tenant: Tenant): Promise<string> | undefined {
  return tenant.operator ? undefined : markOf(tenant.pass, tenant.client);
}

/**
 * How a listed item whose stored mark is `mark` is tagged: sealed for the tenant when a client lists (its listing
 * holds its own items only); for the operator, sealed for the known client whose mark it is, else unsealed (the
 * operator's own, those made before clients were kept apart, and those of a client no longer configured).
 */
export async function listedTagger(tenant: Tenant, owner: ResourceOwner, mark: string | undefined): Promise<Tagger> {
  if (!tenant.operator) return taggerFor(tenant, owner, tenant.client);
  return taggerFor(tenant, owner, (await clientOfMark(tenant, mark)) ?? PASS_CLIENT_NAME);
}
