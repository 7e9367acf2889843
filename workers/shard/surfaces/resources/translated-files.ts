/**
 * The files a translated request names. The Anthropic and Responses surfaces turn an image or document given by URL
 * into Gemini's `fileData.fileUri`, and Google resolves a URI of its own files host against the project of the key
 * that sends it. So a file URI is held to the native surface's rules (see `./references`): one without a valid owner
 * tag is refused (else any client that learnt a file's Google id could read it through a key of its project), one
 * with a tag must be the client's own, and the call goes, tags stripped, to the project that owns it.
 *
 * Only `fileData.fileUri` is looked at: that is the one place a translator puts a client's URL, and a conversation's
 * text that merely looks like a file name (a tool's output `files/report.txt`) stays text.
 */
import { formatOwnerTag } from '../../../shared/owner-tag';
import type { PoolKey } from '../../edge/bindings';
import { Refusal } from '../../edge/refusal';
import type { Admitted } from '../contract';
import { keyOfOwner, referencedOwner, unknownOwner } from './owner-keys';
import { type OwnedReference, scanReferences } from './references';
import { tenantOf } from './tenancy';

/** The translated body as Google must receive it, and the owner of the files it names, if any. */
export interface TranslatedFiles {
  readonly body: string;
  readonly owner?: PoolKey;
  readonly owned?: OwnedReference;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The `fileData` objects of a native request's contents and system instruction, in order. */
function fileDataOf(request: Json): Json[] {
  const contents = Array.isArray(request.contents) ? request.contents : [];
  const found: Json[] = [];
  for (const content of [...contents, request.systemInstruction]) {
    if (!isObject(content) || !Array.isArray(content.parts)) continue;
    for (const part of content.parts) {
      if (isObject(part) && isObject(part.fileData) && typeof part.fileData.fileUri === 'string') {
        found.push(part.fileData);
      }
    }
  }
  return found;
}

/**
 * Checks the file URIs of a translated native request (`body`, serialised) for `a`'s client: the body unchanged when
 * it names none of Google's files, the body with the tags stripped and the owning key when it names the client's own,
 * or the refusal (an untagged Google file URI, another client's file, files of two projects, an owner that is gone or
 * on another shard).
 */
export async function translatedFiles(body: string, a: Admitted): Promise<TranslatedFiles | Refusal> {
  // every file URI has this in its path; a body without it costs no parse
  if (!body.includes('/files/')) return { body };
  const request = JSON.parse(body) as Json;
  const fileData = fileDataOf(request);
  const scan = scanReferences(fileData.map((f) => f.fileUri));
  if (scan.untagged[0] !== undefined) return unknownOwner(scan.untagged[0]);
  const owned = await referencedOwner(scan.references, tenantOf(a), a.config);
  if (owned instanceof Refusal) return owned;
  if (owned === undefined) return { body };
  const owner = await keyOfOwner(owned.owner, owned.reference, a.config);
  if (owner instanceof Refusal) return owner;
  const stripped = scan.stripped as readonly unknown[];
  fileData.forEach((f, i) => {
    f.fileUri = stripped[i];
  });
  return { body: JSON.stringify(request), owner, owned };
}

/** The log line's `owner`: the tag of the files' owner (never its key), when the request named owned files. */
export function ownerFact(files: TranslatedFiles | Refusal): { readonly owner?: string } {
  return files instanceof Refusal || files.owned === undefined ? {} : { owner: formatOwnerTag(files.owned.owner) };
}
