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
 */
import { parseTaggedId, type ResourceOwner, tagId } from '../../../shared/owner-tag';
import { EventBoundaries } from '../../core/sse-framing';

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
}

/** `id` tagged, or undefined when the tagged form could not be read back (an id with characters no tag allows). */
function tagged(owner: ResourceOwner, id: string): string | undefined {
  const result = tagId(owner, id);
  return parseTaggedId(result)?.googleId === id ? result : undefined;
}

function tagString(owner: ResourceOwner, value: string, field: string | undefined, idField: boolean): string {
  const named = NAMED.exec(value);
  if (named?.[1] !== undefined && named[2] !== undefined) {
    const id = tagged(owner, named[2]);
    return id === undefined ? value : `${named[1]}/${id}`;
  }
  const uri = FILE_URI.exec(value);
  if (uri?.[1] !== undefined && uri[2] !== undefined) {
    const id = tagged(owner, uri[2]);
    return id === undefined ? value : `${uri[1]}${id}${uri[3] ?? ''}`;
  }
  if (idField || (field !== undefined && INTERACTION_ID_FIELDS.has(field))) return tagged(owner, value) ?? value;
  return value;
}

/** The reply with every Google id it holds tagged with `owner`; the same object when there was none. */
export function tagNames(body: unknown, owner: ResourceOwner, options: TagOptions): unknown {
  const walk = (value: unknown, field: string | undefined, idField: boolean, depth: number): unknown => {
    if (typeof value === 'string') return tagString(owner, value, options.interactions ? field : undefined, idField);
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

/** The reply text with its names tagged; the text itself when it is not JSON or names nothing. */
export function tagNamesInText(text: string, owner: ResourceOwner, options: TagOptions): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text;
  }
  const out = tagNames(json, owner, options);
  return out === json ? text : JSON.stringify(out);
}

/** One SSE event's text with the JSON of each `data:` line tagged. */
export function tagEvent(event: string, owner: ResourceOwner, options: TagOptions): string {
  return event
    .split(/(\r\n|\r|\n)/)
    .map((part) => {
      const data = /^data:( ?)(.*)$/.exec(part);
      if (data === null || data[2] === undefined) return part;
      return `data:${data[1] ?? ''}${tagNamesInText(data[2], owner, options)}`;
    })
    .join('');
}

/**
 * An SSE body with every event's names tagged, passed on event by event: an event is held until its blank line
 * arrives (so it is rewritten whole), and nothing else is held. A stream that ends inside an event passes what it
 * has on unchanged.
 */
export function tagEventStream(
  upstream: ReadableStream<Uint8Array>,
  owner: ResourceOwner,
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
        controller.enqueue(encoder.encode(tagEvent(events, owner, options)));
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
