/**
 * Reading the client's body, bounded: no surface reads a byte before the edge has checked the URL, the route and
 * the credential, and none reads past `MAX_BODY_BYTES`. A body is buffered whole because failover may send it
 * again to another key.
 */
import { parseJson } from '../shared/json';
import { Refusal } from './refusal';

/**
 * Reads the body up to `limit` bytes; a Refusal beyond it (by the declared `content-length` before reading a byte,
 * or counted while reading a chunked body), without reading the rest. A body that cannot be read (the client cut
 * its upload, or sent chunked encoding the runtime rejects) is the client's fault: a 400, not a 500.
 */
export async function readBoundedBody(request: Request, limit: number): Promise<Uint8Array | Refusal> {
  const tooLarge = new Refusal(413, 'request_too_large', `Request body exceeds the limit of ${limit} bytes.`);
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) return tooLarge;
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let read: Awaited<ReturnType<typeof reader.read>>;
    try {
      read = await reader.read();
    } catch {
      return new Refusal(
        400,
        'body_read_error',
        'The request body could not be read: the upload was cut off, or its chunked transfer encoding is malformed (chunk extensions are not supported). Send the body again, whole.',
      );
    }
    const { done, value } = read;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return tooLarge;
    }
    chunks.push(value);
  }
  return concat(chunks, size);
}

function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** The body as a JSON object, or undefined when it is anything else (invalid JSON or UTF-8, an array, a number). */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  const value = parseJson(bytes);
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A POST body that is not a JSON object. */
export const NOT_A_JSON_OBJECT = new Refusal(400, 'invalid_json', 'Request body must be a JSON object.');

/** Reads a bounded body that must be a JSON object: the bytes as sent and the parsed object, or a Refusal. */
export async function readJsonObject(
  request: Request,
  limit: number,
): Promise<{ readonly bytes: Uint8Array; readonly json: Record<string, unknown> } | Refusal> {
  const bytes = await readBoundedBody(request, limit);
  if (bytes instanceof Refusal) return bytes;
  const json = parseJsonObject(bytes);
  return json ? { bytes, json } : NOT_A_JSON_OBJECT;
}
