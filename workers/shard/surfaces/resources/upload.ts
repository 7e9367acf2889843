/**
 * Google's resumable upload through the gateway. The start (`POST /upload/v1beta/files`, `x-goog-upload-command:
 * start`) goes to a key like any creation; Google answers with an `x-goog-upload-url` on its own host, which the
 * gateway never follows and never hands out: it keeps only Google's `upload_id` and gives the client an upload URL on
 * the gateway's own origin whose `upload_id` carries the tag of the key that started it. Each upload or finalize call
 * to that URL goes to that key alone, its body streamed to Google once as it arrives (never held whole: a 100 MB file
 * passes in the SDK's 8 MiB chunks, each one call), and Google's upload status headers and the finalized file (named
 * for its project, as every resource is) come back. An upload that is not resumable (`x-goog-upload-protocol: multipart` or `raw`) is one call that
 * creates the file.
 *
 * A client's file gets its id at the start: the client's mark, then the id it chose or a random one
 * (`files/<mark>-<id>`, `./tenant-marks.ts`), so that its listings can find it; its upload URL is sealed for it, so no
 * other client can continue the upload. Only the resumable start carries metadata: a file uploaded in one call is
 * named by Google, reached by the name the gateway returns, and listed to the operator only.
 */
import { isJsonObject, parseJsonObject } from '../../../shared/json';
import { REPLAY_MAX_BYTES } from '../../../shared/contract';
import { parseTaggedId, type ResourceOwner, tagId } from '../../../shared/owner-tag';
import type { PoolKey } from '../../edge/bindings';
import { ANY_MODEL } from '../../core/key-pool';
import { keyOfOwner, keyOfReferences, keyOwnerOf, ownerOf, unknownOwner } from './owner-keys';
import { Refusal } from '../../edge/refusal';
import { NOT_A_JSON_OBJECT, readBodyOrStream, type StreamedBody } from '../../edge/request-body';
import { type OwnedReference, scanReferences } from './references';
import {
  nameOwner,
  refuseForeign,
  resourceNotFound,
  sealOf,
  type Tenant,
  taggerFor,
  tenantMark,
  tenantOf,
} from './tenancy';
import { clientFileId } from './tenant-marks';
import { deliverTagged, forwardedHeaders, googleError, refused, settleCall } from './replies';
import type { CreateResourceRoute, OwnedResourceRoute } from './routes';
import { type Admitted, type HandlerDeps, type Outcome, secretsOf } from '../contract';
import { attemptFacts, type GoogleAnswer, sendPlan } from '../../core/upstream-plan';

/** The upload headers a start call forwards to Google. */
const START_HEADERS = [
  'content-type',
  'x-goog-upload-protocol',
  'x-goog-upload-command',
  'x-goog-upload-header-content-length',
  'x-goog-upload-header-content-type',
  'x-goog-upload-file-name',
] as const;
/** The upload headers an upload or finalize call forwards to Google. */
const CHUNK_HEADERS = ['content-type', 'content-length', 'x-goog-upload-command', 'x-goog-upload-offset'] as const;
/** Google's upload headers the client gets back (never `x-goog-upload-url` or `-control-url`: they name Google). */
const RETURNED_HEADERS = [
  'x-goog-upload-status',
  'x-goog-upload-size-received',
  'x-goog-upload-chunk-granularity',
] as const;

const UPLOAD_ID = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,1023}$/;
/** Hex characters of a random file id a client's upload gets when it names none (64 bits). */
const RANDOM_ID_LENGTH = 16;

/** Google's `upload_id` in its `x-goog-upload-url`; undefined when there is none the gateway could carry. */
export function googleUploadId(uploadUrl: string | null): string | undefined {
  if (uploadUrl === null) return undefined;
  let url: URL;
  try {
    url = new URL(uploadUrl);
  } catch {
    return undefined;
  }
  const id = url.searchParams.get('upload_id');
  return id !== null && UPLOAD_ID.test(id) ? id : undefined;
}

/**
 * The upload URL the client gets: the origin it called, and Google's upload id with the owner's tag in front, sealed
 * for the client when `seal` is given.
 */
export function gatewayUploadUrl(origin: string, owner: ResourceOwner, googleId: string, seal?: string): string {
  const query = new URLSearchParams({ upload_id: tagId(owner, googleId, seal), upload_protocol: 'resumable' });
  return `${origin}/upload/v1beta/files?${query}`;
}

function returnedHeaders(upstream: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of RETURNED_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) out[name] = value;
  }
  return out;
}

const START_TOO_LARGE = new Refusal(
  413,
  'request_too_large',
  `The start of a resumable upload carries the file's metadata only, at most ${REPLAY_MAX_BYTES} bytes; send the file's bytes to the upload URL it returns.`,
);

const NO_UPLOAD_URL = new Refusal(
  502,
  'upstream_invalid_response',
  'Gemini started the upload without an upload URL the gateway could hand on (x-goog-upload-url with an upload_id).',
);

/** What a start call sends Google: its body, whether it streams, and the key owning a file its metadata names. */
interface StartBody {
  readonly body?: Uint8Array | string | ReadableStream<Uint8Array>;
  readonly streamed?: StreamedBody;
  readonly owned?: { readonly key: PoolKey; readonly owner: ResourceOwner };
}

/** The file name a start's metadata chooses (`file.name`): where it places the upload, and the id it asks for. */
interface ChosenName {
  /** the owner of the tag in front of the chosen id, where the upload goes (its seal, if any, plays no part) */
  readonly placement?: OwnedReference;
  /** the id asked for, without `files/` or a tag */
  readonly id?: string;
  /** the metadata without the name */
  readonly rest: Record<string, unknown>;
}

function chosenName(json: Record<string, unknown>): ChosenName {
  const file = json.file;
  if (!isJsonObject(file) || typeof file.name !== 'string') return { rest: json };
  const { name, ...otherFields } = file;
  const rest = { ...json, file: otherFields };
  const id = name.replace(/^files\//, '');
  const tagged = parseTaggedId(id);
  if (tagged === undefined) return { id, rest };
  return { placement: { owner: tagged.owner, reference: `files/${id}` }, id: tagged.googleId, rest };
}

/**
 * A resumable start's body is the file's metadata: small, JSON, and it may name the file (with an owner tag that places
 * it) and other resources, which must be the client's. A client's file id is its mark and the id chosen, or a random
 * one; the operator's is the id chosen, or Google's.
 */
async function readStartMetadata(a: Admitted, tenant: Tenant, deps: HandlerDeps): Promise<StartBody | Refusal> {
  const { request, config } = a;
  const read = await readBodyOrStream(
    request,
    Math.min(config.maxBodyBytes, REPLAY_MAX_BYTES),
    REPLAY_MAX_BYTES,
    START_TOO_LARGE,
  );
  if (read instanceof Refusal) return read;
  if (read.kind === 'stream') {
    await read.body.cancel().catch(() => undefined);
    return START_TOO_LARGE;
  }
  const mark = await tenantMark(tenant);
  if (read.bytes.byteLength === 0 && mark === undefined) return {};
  const json = read.bytes.byteLength === 0 ? {} : parseJsonObject(read.bytes);
  if (json === undefined) return NOT_A_JSON_OBJECT;
  const chosen = chosenName(json);
  const scan = scanReferences(chosen.rest);
  const foreign = await refuseForeign(tenant, scan.references);
  if (foreign !== undefined) return foreign;
  const placed = chosen.placement === undefined ? [] : [chosen.placement];
  const owned = await keyOfReferences([...placed, ...scan.references], config);
  if (owned instanceof Refusal) return owned;
  const random = () => deps.randomUUID().replaceAll('-', '').slice(0, RANDOM_ID_LENGTH);
  const id = mark === undefined ? chosen.id : clientFileId(mark, chosen.id, random);
  if (id instanceof Refusal) return id;
  const ownedField = owned === undefined ? {} : { owned };
  // the bytes as sent when nothing changes; else the metadata as Google must receive it
  if (mark === undefined && owned === undefined && scan.references.length === 0) return { body: read.bytes };
  return { body: JSON.stringify(named(scan.stripped as Record<string, unknown>, id)), ...ownedField };
}

/** The metadata with the file named `id`, when there is one. */
function named(metadata: Record<string, unknown>, id: string | undefined): Record<string, unknown> {
  if (id === undefined) return metadata;
  const file = isJsonObject(metadata.file) ? metadata.file : {};
  return { ...metadata, file: { ...file, name: `files/${id}` } };
}

/**
 * A whole upload's body is the file: replayed on another key after a key fault while it fits the replay bound, else
 * sent once.
 */
async function readWholeFile(a: Admitted): Promise<StartBody | Refusal> {
  const read = await readBodyOrStream(a.request, a.config.maxBodyBytes, REPLAY_MAX_BYTES);
  if (read instanceof Refusal) return read;
  return read.kind === 'stream' ? { body: read.body, streamed: read } : { body: read.bytes };
}

/** Google's answer to a start, for the client: the file's names tagged, and a resumable start's upload URL. */
async function deliverStart(
  answer: GoogleAnswer,
  resumable: boolean,
  owned: StartBody['owned'],
  a: Admitted,
  tenant: Tenant,
): Promise<Outcome> {
  const { config } = a;
  const secrets = secretsOf(config);
  if (!answer.response.ok) return googleError(answer, secrets);
  const key = config.keys.find((k) => k.index === answer.keyIndex);
  // unreachable: the key core answers with one of the keys it was given
  if (key === undefined)
    throw new Error(`the key core answered with key ${answer.keyIndex}, which this worker does not hold`);
  const owner = owned?.owner ?? (await ownerOf(key, config));
  const extra = returnedHeaders(answer.response);
  if (resumable) {
    const googleId = googleUploadId(answer.response.headers.get('x-goog-upload-url'));
    if (googleId === undefined) {
      await answer.response.body?.cancel().catch(() => undefined);
      return refused(NO_UPLOAD_URL, a, attemptFacts(answer));
    }
    // Google opened the session for the key that started it: the session's name keeps that key, not its project
    const session = await keyOwnerOf(key, config);
    const seal = tenant.operator ? undefined : await sealOf(tenant.pass, session, tenant.client, 'uploads', googleId);
    extra['x-goog-upload-url'] = gatewayUploadUrl(a.url.origin, session, googleId, seal);
  }
  return deliverTagged(answer, taggerFor(tenant, owner, tenant.client), { interactions: false }, a, secrets, extra);
}

/** `POST /upload/v1beta/files`: a resumable upload's start, or a whole upload in one call. */
export async function serveUploadStart(route: CreateResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const resumable = a.request.headers.get('x-goog-upload-protocol')?.toLowerCase() === 'resumable';
  const headers = forwardedHeaders(a.request, START_HEADERS);
  const tenant = tenantOf(a);
  const start = resumable ? await readStartMetadata(a, tenant, deps) : await readWholeFile(a);
  if (start instanceof Refusal) return refused(start, a);
  const { body, streamed, owned } = start;
  // metadata the gateway wrote is JSON, whatever the client sent (a client may send none)
  if (typeof body === 'string') headers.set('content-type', 'application/json');
  const result = await sendPlan(
    {
      path: route.upstreamPath,
      method: 'POST',
      headers,
      ...(body !== undefined ? { body } : {}),
      keyStyle: 'goog-header',
      model: ANY_MODEL,
      ...(owned !== undefined ? { owner: owned.key } : {}),
    },
    a,
    deps,
  );
  const settled = await settleCall(result, streamed, a, deps, owned?.key);
  if (settled.kind === 'outcome') return settled.outcome;
  return deliverStart(settled.answer, resumable, owned, a, tenant);
}

/**
 * An upload or finalize call to the URL the start handed out: the owning key only, the body streamed once. Its size
 * is checked against MAX_BODY_BYTES before a byte is read (declared) and while it streams (chunked).
 */
export async function serveUploadChunk(route: OwnedResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { request, config } = a;
  const { target } = route;
  if (target.kind === 'untagged') return refused(unknownOwner(target.reference), a);
  const tenant = tenantOf(a);
  const client = await nameOwner(tenant, target);
  if (client === undefined) return refused(resourceNotFound(), a);
  const key = await keyOfOwner(target.owner, target.reference, config);
  if (key instanceof Refusal) return refused(key, a);
  // a replay bound of 0: nothing is held beyond the chunk in flight
  const read = await readBodyOrStream(request, config.maxBodyBytes, 0);
  if (read instanceof Refusal) return refused(read, a);
  const body = read.kind === 'stream' ? read.body : read.bytes.byteLength > 0 ? read.bytes : undefined;
  const secrets = secretsOf(config);
  const result = await sendPlan(
    {
      path: target.upstreamPath,
      method: 'POST',
      headers: forwardedHeaders(request, CHUNK_HEADERS),
      ...(body !== undefined ? { body } : {}),
      keyStyle: 'goog-header',
      model: ANY_MODEL,
      owner: key,
      ownerOnly: true,
    },
    a,
    deps,
  );
  const settled = await settleCall(result, read.kind === 'stream' ? read : undefined, a, deps, key);
  if (settled.kind === 'outcome') return settled.outcome;
  const { answer } = settled;
  // the finalized file is the project's: named by its representative key, as a listing names it, and the client's
  const tagger = taggerFor(tenant, await ownerOf(key, config), client);
  return deliverTagged(answer, tagger, { interactions: false }, a, secrets, returnedHeaders(answer.response));
}
