/**
 * The owned resources a request body names, found and stripped of their owner tags before the body goes to Google
 * (which knows only its own ids). A reference is a whole string value, never a part of one, so a prompt that merely
 * mentions a name is text, not a reference:
 * - `files/<tagged>`, `cachedContents/<tagged>`, `batches/<tagged>` anywhere (`fileData.fileUri` may hold the short
 *   form, `cachedContent`, `cached_content`, a batch's `inputConfig.fileName`);
 * - a file URI, `<scheme>://<host>/<path>/files/<tagged>` (`fileData.fileUri`, `file_data.file_uri`, an OpenAI
 *   content part's URL);
 * - a bare tagged id in a field that holds one: `previous_interaction_id` / `previousInteractionId` (interactions),
 *   `file_id` / `input_file_id` (the OpenAI-compatible files and batches).
 *
 * Every anchored pattern fails at the first characters of an ordinary string, so a body without references costs one
 * walk and no copy.
 */
import { parseTaggedId, type ResourceOwner, SEAL_PATTERN } from '../../../shared/owner-tag';
import type { SealedCollection, SealedName } from './tenancy';

/** One reference: the owner its tag names, and the reference as the client wrote it (for messages). */
export interface OwnedReference {
  readonly owner: ResourceOwner;
  readonly reference: string;
}

/** A reference found in a body: also its collection, Google's id and its seal, which say whose it is. */
export interface ScannedReference extends OwnedReference, SealedName {}

export interface ReferenceScan {
  /** every reference found, in document order */
  readonly references: readonly ScannedReference[];
  /**
   * strings shaped like a reference to a Google resource whose id carries no valid owner tag (`files/abc123`, a file
   * URI on Google's host, an untagged `previous_interaction_id`): no key of the gateway is known to hold them, so a
   * request naming one is refused rather than sent with a key Google would refuse it for
   */
  readonly untagged: readonly string[];
  /** the body with every tag removed; the same object when there was none */
  readonly stripped: unknown;
}

// an id as Google writes one (and a tagged one): no spaces, slashes or punctuation a sentence would hold
const NAMED = /^(files|cachedContents|batches)\/([A-Za-z0-9._~-]+)$/;
const FILE_URI = /^(https?:\/\/[^\s?#]+\/files\/)([A-Za-z0-9._~-]+)$/;
/** The fields that hold a bare id, and the collection of the id each holds. */
const ID_FIELDS: ReadonlyMap<string, SealedCollection> = new Map([
  ['previous_interaction_id', 'interactions'],
  ['previousInteractionId', 'interactions'],
  ['file_id', 'files'],
  ['input_file_id', 'files'],
]);
/** Deeper bodies are Google's to refuse; the walk stops rather than overflow the stack. */
const MAX_DEPTH = 64;

/** Google's file URIs name this host; a URI elsewhere whose path merely has `/files/` in it is none of Google's. */
const GOOGLE_FILE_HOST = /^https:\/\/generativelanguage\.googleapis\.com\//;

type Found =
  | { readonly kind: 'tagged'; readonly name: SealedName; readonly stripped: string }
  | { readonly kind: 'untagged' };

/** A tagged id found in `collection`, as a sealed name: its owner, seal and Google's id. */
function sealedName(collection: SealedCollection, tagged: NonNullable<ReturnType<typeof parseTaggedId>>): SealedName {
  const { owner, googleId, seal } = tagged;
  return seal === undefined ? { owner, collection, googleId } : { owner, collection, googleId, seal };
}

/** The reference a string is, with its tag stripped; undefined when it is none. */
function referenceIn(value: string, field: string | undefined): Found | undefined {
  const named = NAMED.exec(value);
  const uri = named === null ? FILE_URI.exec(value) : null;
  const [, prefix, id] = named ?? uri ?? [];
  if (prefix !== undefined && id !== undefined) {
    const tagged = parseTaggedId(id);
    if (tagged !== undefined) {
      // a file URI's prefix ends with its slash; a short name's is the collection
      const collection = (named !== null ? prefix : 'files') as SealedCollection;
      return {
        kind: 'tagged',
        name: sealedName(collection, tagged),
        stripped: `${prefix}${prefix.endsWith('/') ? '' : '/'}${tagged.googleId}`,
      };
    }
    return named !== null || GOOGLE_FILE_HOST.test(value) ? { kind: 'untagged' } : undefined;
  }
  const collection = field === undefined ? undefined : ID_FIELDS.get(field);
  if (collection !== undefined) {
    const tagged = parseTaggedId(value);
    return tagged
      ? { kind: 'tagged', name: sealedName(collection, tagged), stripped: tagged.googleId }
      : { kind: 'untagged' };
  }
  return undefined;
}

/** Finds every owned reference in a parsed JSON body and returns the body as Google must receive it. */
export function scanReferences(body: unknown): ReferenceScan {
  const references: ScannedReference[] = [];
  const untagged: string[] = [];
  const walk = (value: unknown, field: string | undefined, depth: number): unknown => {
    if (typeof value === 'string') {
      const found = referenceIn(value, field);
      if (found === undefined) return value;
      if (found.kind === 'untagged') {
        untagged.push(value);
        return value;
      }
      references.push({ ...found.name, reference: value });
      return found.stripped;
    }
    if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return value;
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      value.forEach((item, i) => {
        const next = walk(item, undefined, depth + 1);
        if (next === item) return;
        copy ??= [...value];
        copy[i] = next;
      });
      return copy ?? value;
    }
    let copy: Record<string, unknown> | undefined;
    for (const [name, item] of Object.entries(value)) {
      const next = walk(item, name, depth + 1);
      if (next === item) continue;
      copy ??= { ...value };
      copy[name] = next;
    }
    return copy ?? value;
  };
  const stripped = walk(body, undefined, 0);
  return { references, untagged, stripped };
}

/**
 * A reference as it appears in raw JSON text, up to the end of its tag: `"files/z0k1abcd-` (the short form),
 * `/files/z0k1abcd-` (a file URI) or `"cachedContents/z0k1abcd-`, sealed or not, with the slash also as JSON's `\/`. Only the
 * collections a generation request names; the tag's grammar is `../shared/owner-tag`'s.
 */
const STREAMED_REFERENCE = new RegExp(
  `["/]((?:files|cachedContents)\\\\?\\/z(?:0|[1-9][0-9]{0,5})k[1-9][0-9]{0,3}[a-z]{4}(?:c${SEAL_PATTERN})?-)`,
);
/** Longer than any match, so a reference split across chunks is found in the previous chunk's tail and the next. */
const TAIL_CHARS = 48;

/** A streamed body watched for references: `seen()` is the first one found, which stopped the stream. */
export interface WatchedBody {
  readonly body: ReadableStream<Uint8Array>;
  readonly seen: () => string | undefined;
}

/**
 * Passes `source` through chunk by chunk until a reference's tag appears in it; then the stream errors (and the
 * source is cancelled) before the chunk that holds the end of the tag is passed on, so the upload it feeds never
 * completes. For bodies too large to parse: it cannot tell a reference from text that merely quotes one.
 */
export function watchForReferences(source: ReadableStream<Uint8Array>): WatchedBody {
  const reader = source.getReader();
  const decoder = new TextDecoder();
  let tail = '';
  let seen: string | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      // the pattern is ASCII, which UTF-8 never uses inside another character: a decoding of the bytes is enough
      const text = tail + decoder.decode(value, { stream: true });
      const found = STREAMED_REFERENCE.exec(text)?.[1];
      if (found !== undefined) {
        seen = found.replace('\\/', '/');
        await reader.cancel().catch(() => undefined);
        controller.error(new Error('the request body names an owned resource'));
        return;
      }
      tail = text.slice(-TAIL_CHARS);
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { body, seen: () => seen };
}
