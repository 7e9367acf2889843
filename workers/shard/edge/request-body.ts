/**
 * Reading the client's body, bounded: no surface reads a byte before the edge has checked the URL, the route and
 * the credential, and none reads past `MAX_BODY_BYTES`. A body up to `REPLAY_MAX_BYTES` is buffered whole because
 * failover may send it again to another key; a larger one (routes that can forward it unparsed) streams to Google
 * once, its prefix read so far followed by the rest of the upload.
 */
import { concatBytes } from '../../shared/bytes';
import { parseJsonObject } from '../../shared/json';
import { Refusal } from './refusal';

/**
 * Reads the body up to `limit` bytes; a Refusal beyond it (by the declared `content-length` before reading a byte,
 * or counted while reading a chunked body), without reading the rest. A body that cannot be read (the client cut
 * its upload, or sent chunked encoding the runtime rejects) is the client's fault: a 400, not a 500.
 */
export async function readBoundedBody(
  request: Request,
  limit: number,
  tooLarge: Refusal = tooLargeRefusal(limit),
): Promise<Uint8Array | Refusal> {
  const read = await readBodyOrStream(request, limit, limit, tooLarge);
  if (read instanceof Refusal) return read;
  if (read.kind === 'buffered') return read.bytes;
  // unreachable: with the replay bound at the limit, a body is either whole or refused
  await read.body.cancel().catch(() => undefined);
  return tooLarge;
}

/** The refusal of a body over `MAX_BODY_BYTES`. */
export function tooLargeRefusal(limit: number): Refusal {
  return new Refusal(413, 'request_too_large', `Request body exceeds the limit of ${limit} bytes.`);
}

const BODY_READ_ERROR = new Refusal(
  400,
  'body_read_error',
  'The request body could not be read: the upload was cut off, or its chunked transfer encoding is malformed (chunk extensions are not supported). Send the body again, whole.',
);

/** A body over the replay bound, to be sent once: `exceeded()` tells whether the upload ran past `MAX_BODY_BYTES`. */
export interface StreamedBody {
  readonly kind: 'stream';
  readonly body: ReadableStream<Uint8Array>;
  readonly exceeded: () => boolean;
}

/**
 * The body whole when it fits in `replayMax` bytes, else a stream of it (the prefix read so far, then the rest of the
 * upload, counted against `limit`: a chunked upload that runs past it errors the stream, and `exceeded()` says so).
 * A declared `content-length` over `limit` is refused, and one over `replayMax` streams at once, before a byte is
 * read. A body that cannot be read (the client cut its upload, or sent chunked encoding the runtime rejects) is the
 * client's fault: a 400, not a 500.
 */
export async function readBodyOrStream(
  request: Request,
  limit: number,
  replayMax: number,
  tooLarge: Refusal = tooLargeRefusal(limit),
): Promise<{ readonly kind: 'buffered'; readonly bytes: Uint8Array } | StreamedBody | Refusal> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) return tooLarge;
  if (!request.body) return { kind: 'buffered', bytes: new Uint8Array(0) };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const bound = Math.min(limit, replayMax);
  if (!(Number.isFinite(declared) && declared > bound)) {
    for (;;) {
      let read: Awaited<ReturnType<typeof reader.read>>;
      try {
        read = await reader.read();
      } catch {
        return BODY_READ_ERROR;
      }
      const { done, value } = read;
      if (done) return { kind: 'buffered', bytes: concatBytes(chunks, size) };
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        return tooLarge;
      }
      chunks.push(value);
      if (size > bound) break;
    }
  }
  return continuedStream(chunks, size, reader, limit);
}

/** `prefix` then whatever `reader` still holds, erroring (and cancelling the upload) once the total passes `limit`. */
function continuedStream(
  prefix: Uint8Array[],
  prefixSize: number,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
): StreamedBody {
  let size = prefixSize;
  let exceeded = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = prefix.shift();
      if (next !== undefined) {
        controller.enqueue(next);
        return;
      }
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      size += value.byteLength;
      if (size > limit) {
        exceeded = true;
        await reader.cancel().catch(() => undefined);
        controller.error(new Error(`request body exceeds ${limit} bytes`));
        return;
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { kind: 'stream', body, exceeded: () => exceeded };
}

/** A POST body that is not a JSON object. */
export const NOT_A_JSON_OBJECT = new Refusal(400, 'invalid_json', 'Request body must be a JSON object.');

/** Reads a bounded body that must be a JSON object: the bytes as sent and the parsed object, or a Refusal. */
export async function readJsonObject(
  request: Request,
  limit: number,
  tooLarge?: Refusal,
): Promise<{ readonly bytes: Uint8Array; readonly json: Record<string, unknown> } | Refusal> {
  const bytes = await readBoundedBody(request, limit, tooLarge);
  if (bytes instanceof Refusal) return bytes;
  const json = parseJsonObject(bytes);
  return json ? { bytes, json } : NOT_A_JSON_OBJECT;
}
