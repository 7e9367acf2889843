/**
 * The outbound half of owner tags: every Google id in a reply of the resource routes gets the owner's tag in front
 * (`files/abc` → `files/z0k1qmfa-abc`), so the client's next request names the key that can serve it. The inbound
 * half, stripping tags from what a client sends, is `./references.ts`. Like that scan, the walk rewrites whole
 * string values only: a name is the whole value of a field, never a part of a sentence.
 * - `files/<id>`, `cachedContents/<id>`, `batches/<id>` anywhere (a file's `name`, a batch's `name`, its
 *   `responsesFile`, a cached content's `name`);
 * - a file URI, `<scheme>://<host>/<path>/files/<id>` with an optional `:download` and query (a file's `uri` and
 *   `downloadUri`), its host left as Google sent it: it is an identifier, and the gateway reads the id alone;
 * - on the interactions routes, an interaction's id: `id` of the reply itself or of its `interaction` (a streamed
 *   event's), and `interaction_id` / `previous_interaction_id` anywhere.
 * A name handed to a client is sealed for it (`./tenancy.ts`): the seal of each name is computed (WebCrypto is
 * asynchronous) between a first walk that finds the names and a second that rewrites them. On cached contents and
 * batches, the client's mark is stripped from `displayName` (`./tenant-marks.ts`).
 */
import { type OwnedCollection, parseTaggedId, type ResourceOwner, tagId } from '../../../shared/owner-tag';
import { EventBoundaries } from '../../core/sse-framing';
import type { SealedCollection } from './tenancy';
import { unmarkedDisplayName } from './tenant-marks';

const NAMED = /^(files|cachedContents|batches)\/([^/]+)$/;
const FILE_URI = /^(https?:\/\/[^\s?#]+\/files\/)([^/?#:]+)((?::download)?(?:\?[^#\s]*)?)$/;
const INTERACTION_ID_FIELDS: ReadonlySet<string> = new Set([
  'interaction_id',
  'previous_interaction_id',
  'previousInteractionId',
]);
/** Deeper replies are left as they are below this depth; Google's resources nest a few levels at most. */
const MAX_DEPTH = 64;

export interface TagOptions {
  /** the reply is an interaction (or an event about one): its ids are tagged too */
  readonly interactions: boolean;
  /** the reply is a cached content's or a batch's: the client's mark is stripped from `displayName` */
  readonly displayNames?: boolean;
}

/** How the names of a reply about `collection` are tagged. */
export function tagOptionsFor(collection: OwnedCollection): TagOptions {
  return {
    interactions: collection === 'interactions',
    displayNames: collection === 'cachedContents' || collection === 'batches',
  };
}

/** The seal of one name for the client the reply goes to. */
export type Seal = (collection: SealedCollection, googleId: string) => Promise<string>;

/** The owner whose tag every name of a reply gets, and, when the reply goes to a client, the seal of each name. */
export type Tagger = ResourceOwner & { readonly seal?: Seal };

/** The tagged id of Google's `id` in `collection`, or undefined to leave it as it is. */
type Rename = (collection: SealedCollection, id: string) => string | undefined;

/** `id` tagged, or undefined when the tagged form could not be read back (an id with characters no tag allows). */
function tagged(owner: ResourceOwner, id: string, seal?: string): string | undefined {
  const result = tagId(owner, id, seal);
  return parseTaggedId(result)?.googleId === id ? result : undefined;
}

function renameString(rename: Rename, value: string, field: string | undefined, idField: boolean): string {
  const named = NAMED.exec(value);
  if (named?.[1] !== undefined && named[2] !== undefined) {
    const id = rename(named[1] as SealedCollection, named[2]);
    return id === undefined ? value : `${named[1]}/${id}`;
  }
  const uri = FILE_URI.exec(value);
  if (uri?.[1] !== undefined && uri[2] !== undefined) {
    const id = rename('files', uri[2]);
    return id === undefined ? value : `${uri[1]}${id}${uri[3] ?? ''}`;
  }
  if (idField || (field !== undefined && INTERACTION_ID_FIELDS.has(field)))
    return rename('interactions', value) ?? value;
  return value;
}

/** The body with every Google id renamed by `rename`; the same object when nothing changed. */
function rewrite(body: unknown, options: TagOptions, rename: Rename): unknown {
  const walk = (value: unknown, field: string | undefined, idField: boolean, depth: number): unknown => {
    if (typeof value === 'string') {
      if (options.displayNames && field === 'displayName') return unmarkedDisplayName(value);
      return renameString(rename, value, options.interactions ? field : undefined, idField);
    }
    if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return value;
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      value.forEach((item, i) => {
        const next = walk(item, undefined, false, depth + 1);
        if (next === item) return;
        copy ??= [...value];
        copy[i] = next;
      });
      return copy ?? value;
    }
    // an interaction's own `id`: at the top of the reply, or of the `interaction` a streamed event carries
    const interactionObject = options.interactions && (depth === 0 || field === 'interaction');
    let copy: Record<string, unknown> | undefined;
    for (const [name, item] of Object.entries(value)) {
      const next = walk(item, name, interactionObject && name === 'id', depth + 1);
      if (next === item) continue;
      copy ??= { ...value };
      copy[name] = next;
    }
    return copy ?? value;
  };
  return walk(body, undefined, false, 0);
}

/** How `tagger` renames the names of `body`: its owner's tag, and each name's seal, computed ahead. */
async function renamerFor(body: unknown, tagger: Tagger, options: TagOptions): Promise<Rename> {
  const { seal } = tagger;
  if (seal === undefined) return (_collection, id) => tagged(tagger, id);
  const wanted = new Map<string, readonly [SealedCollection, string]>();
  rewrite(body, options, (collection, id) => {
    wanted.set(`${collection}/${id}`, [collection, id]);
    return undefined;
  });
  const seals = new Map<string, string>();
  for (const [name, [collection, id]] of wanted) seals.set(name, await seal(collection, id));
  return (collection, id) => {
    const sealed = seals.get(`${collection}/${id}`);
    return sealed === undefined ? undefined : tagged(tagger, id, sealed);
  };
}

/** The reply with every Google id it holds tagged by `tagger`; the same object when there was nothing to change. */
export async function tagNames(body: unknown, tagger: Tagger, options: TagOptions): Promise<unknown> {
  return rewrite(body, options, await renamerFor(body, tagger, options));
}

/** The reply text with its names tagged; the text itself when it is not JSON or names nothing. */
export async function tagNamesInText(text: string, tagger: Tagger, options: TagOptions): Promise<string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text;
  }
  const out = await tagNames(json, tagger, options);
  return out === json ? text : JSON.stringify(out);
}

/** One SSE event's text with the JSON of each `data:` line tagged. */
export async function tagEvent(event: string, tagger: Tagger, options: TagOptions): Promise<string> {
  const parts = event.split(/(\r\n|\r|\n)/);
  const out: string[] = [];
  for (const part of parts) {
    const data = /^data:( ?)(.*)$/.exec(part);
    if (data === null || data[2] === undefined) out.push(part);
    else out.push(`data:${data[1] ?? ''}${await tagNamesInText(data[2], tagger, options)}`);
  }
  return out.join('');
}

/**
 * An SSE body with every event's names tagged, passed on event by event: an event is held until its blank line
 * arrives (so it is rewritten whole), and nothing else is held. A stream that ends inside an event passes what it
 * has on unchanged.
 */
export function tagEventStream(
  upstream: ReadableStream<Uint8Array>,
  tagger: Tagger,
  options: TagOptions,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const boundaries = new EventBoundaries();
  let held: Uint8Array[] = [];
  const text = (chunks: readonly Uint8Array[]): string =>
    chunks.map((c) => decoder.decode(c, { stream: true })).join('') + decoder.decode();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          if (held.length > 0) controller.enqueue(encoder.encode(text(held)));
          controller.close();
          return;
        }
        const end = boundaries.lastEnd(value);
        if (end === -1) {
          held.push(value);
          continue;
        }
        const events = text([...held, value.subarray(0, end)]);
        held = end < value.byteLength ? [value.subarray(end)] : [];
        controller.enqueue(encoder.encode(await tagEvent(events, tagger, options)));
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
