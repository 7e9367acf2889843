/**
 * Google's resumable upload through the gateway. The start (`POST /upload/v1beta/files`, `x-goog-upload-command:
 * start`) goes to a key like any creation; Google answers with an `x-goog-upload-url` on its own host, which the
 * gateway never follows and never hands out: it keeps only Google's `upload_id` and gives the client an upload URL on
 * the gateway's own origin whose `upload_id` carries the tag of the key that started it. Each upload or finalize call
 * to that URL goes to that key alone, its body streamed to Google once as it arrives (never held whole: a 100 MB file
 * passes in the SDK's 8 MiB chunks, each one call), and Google's upload status headers and the finalized file (named
 * for its project, as every resource is) come back. An upload that is not resumable (`x-goog-upload-protocol: multipart` or `raw`) is one call that
 * creates the file.
 */
import { parseJsonObject } from '../../../shared/json';
import { REPLAY_MAX_BYTES } from '../../../shared/contract';
import { type ResourceOwner, tagId } from '../../../shared/owner-tag';
import type { PoolKey } from '../../edge/bindings';
import { ANY_MODEL } from '../../core/key-pool';
import { keyOfOwner, keyOfReferences, keyOwnerOf, ownerOf, unknownOwner } from './owner-keys';
import { Refusal } from '../../edge/refusal';
import { NOT_A_JSON_OBJECT, readBodyOrStream, type StreamedBody } from '../../edge/request-body';
import { scanReferences } from './references';
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

/** The upload URL the client gets: the origin it called, and Google's upload id with the owner's tag in front. */
export function gatewayUploadUrl(origin: string, owner: ResourceOwner, googleId: string): string {
  const query = new URLSearchParams({ upload_id: tagId(owner, googleId), upload_protocol: 'resumable' });
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

/** A resumable start's body is the file's metadata: small, JSON, and it may name a file by a tagged name. */
async function readStartMetadata(a: Admitted): Promise<StartBody | Refusal> {
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
  if (read.bytes.byteLength === 0) return {};
  const json = parseJsonObject(read.bytes);
  if (json === undefined) return NOT_A_JSON_OBJECT;
  const scan = scanReferences(json);
  const owned = await keyOfReferences(scan.references, config);
  if (owned instanceof Refusal) return owned;
  return owned === undefined ? { body: read.bytes } : { body: JSON.stringify(scan.stripped), owned };
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
    extra['x-goog-upload-url'] = gatewayUploadUrl(a.url.origin, await keyOwnerOf(key, config), googleId);
  }
  return deliverTagged(answer, owner, { interactions: false }, a, secrets, extra);
}

/** `POST /upload/v1beta/files`: a resumable upload's start, or a whole upload in one call. */
export async function serveUploadStart(route: CreateResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const resumable = a.request.headers.get('x-goog-upload-protocol')?.toLowerCase() === 'resumable';
  const headers = forwardedHeaders(a.request, START_HEADERS);
  const start = resumable ? await readStartMetadata(a) : await readWholeFile(a);
  if (start instanceof Refusal) return refused(start, a);
  const { body, streamed, owned } = start;
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
  return deliverStart(settled.answer, resumable, owned, a);
}

/**
 * An upload or finalize call to the URL the start handed out: the owning key only, the body streamed once. Its size
 * is checked against MAX_BODY_BYTES before a byte is read (declared) and while it streams (chunked).
 */
export async function serveUploadChunk(route: OwnedResourceRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  const { request, config } = a;
  const { target } = route;
  if (target.kind === 'untagged') return refused(unknownOwner(target.reference), a);
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
  // the finalized file is the project's: named by its representative key, as a listing names it
  const owner = await ownerOf(key, config);
  return deliverTagged(answer, owner, { interactions: false }, a, secrets, returnedHeaders(answer.response));
}
