/**
 * Thin fix-ups where Google's OpenAI-compatible endpoint differs from what OpenAI clients require. Everything else
 * is forwarded byte for byte, so tools, JSON schema output and Gemini 3 thought signatures survive untouched.
 */
import { errorBody, openAIErrorType, type OpenAIErrorBody } from '../shared/http';
import { parseJson } from '../shared/json';
import { googleErrorOf } from './quota';

/** Replaces every occurrence of a secret (a pool key, the password), as is or percent-encoded, with `[redacted]`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) out = out.split(form).join('[redacted]');
  }
  return out;
}

function redactValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return redact(value, secrets);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secrets));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k, secrets), redactValue(v, secrets)]));
  }
  return value;
}

/**
 * Redacts secrets from a body that may be JSON. JSON can spell any character as a `\u` escape, so a key written
 * that way survives a search of the raw text: the body is decoded, redacted, and re-encoded whenever its decoded
 * strings held a secret. Otherwise the text is returned as it came (byte for byte, when it held none).
 */
export function redactJsonText(text: string, secrets: readonly string[]): string {
  const parsed = parseJson(text);
  if (parsed === undefined) return redact(text, secrets);
  const redacted = redactValue(parsed, secrets);
  return JSON.stringify(redacted) === JSON.stringify(parsed) ? text : JSON.stringify(redacted);
}

/**
 * Turns an upstream error body into one OpenAI error object. Google's compat endpoint answers with a JSON array
 * `[{"error":{code,message,status}}]`, which OpenAI clients cannot read; the native shape and OpenAI's own shape
 * are accepted too. The Google status (e.g. `RESOURCE_EXHAUSTED`) becomes `code`.
 */
export function toOpenAIError(status: number, text: string, secrets: readonly string[]): OpenAIErrorBody {
  const parsed = parseJson(text);
  const google = googleErrorOf(parsed);
  if (google?.message !== undefined) {
    return errorBody(redact(google.message, secrets), openAIErrorType(status), google.status ?? null);
  }
  return errorBody(
    `Gemini returned HTTP ${status} with a body that is not a Gemini error.`,
    openAIErrorType(status),
    'upstream_error',
  );
}

/** Encodes numbers as little-endian float32 bytes in base64, as OpenAI's `encoding_format: "base64"` specifies. */
export function encodeFloat32Base64(values: readonly number[]): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (const [i, v] of values.entries()) view.setFloat32(i * 4, v, true);
  let binary = '';
  // String.fromCharCode over large arrays overflows the call stack; 32 KiB slices stay well within it
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export type EmbeddingsRequest =
  | { readonly ok: true; readonly upstreamBody: string; readonly base64: boolean }
  | { readonly ok: false; readonly message: string };

/**
 * Prepares an embeddings request for Google. Without `encoding_format` the answer is floats, OpenAI's own default,
 * which curl and hand-written clients rely on; the `openai` SDKs send `"base64"` explicitly (and decode it). Google's
 * endpoint answers floats either way, so the field is dropped upstream and the worker encodes when asked.
 */
export function embeddingsRequest(body: Record<string, unknown>): EmbeddingsRequest {
  const format = body.encoding_format;
  if (format !== undefined && format !== 'base64' && format !== 'float') {
    return { ok: false, message: 'encoding_format must be "float" or "base64".' };
  }
  const { encoding_format: _dropped, ...rest } = body;
  return { ok: true, upstreamBody: JSON.stringify(rest), base64: format === 'base64' };
}

/** Rewrites Google's float embeddings to base64 when the client asked for it; undefined when the shape is wrong. */
export function embeddingsResponse(body: unknown, base64: boolean): unknown {
  if (!body || typeof body !== 'object' || !Array.isArray((body as { data?: unknown }).data)) return undefined;
  const data = (body as { data: unknown[] }).data;
  if (!base64) return body;
  const encoded = data.map((item) => {
    const embedding = (item as { embedding?: unknown }).embedding;
    if (!Array.isArray(embedding) || !embedding.every((v) => typeof v === 'number')) return undefined;
    return { ...(item as object), embedding: encodeFloat32Base64(embedding as number[]) };
  });
  if (encoded.some((e) => e === undefined)) return undefined;
  return { ...(body as object), data: encoded };
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Finds where SSE events end in a byte stream fed chunk by chunk: after a blank line, in any of SSE's line endings
 * (LF LF, CRLF CRLF, LF CRLF, CR CR). It remembers the last two bytes, so a boundary split across chunks is found.
 */
export class EventBoundaries {
  private before1 = -1;
  private before2 = -1;

  /** The end (exclusive) of the last event boundary in `chunk`, or -1 when the chunk completes no event. */
  lastEnd(chunk: Uint8Array): number {
    let end = -1;
    let read = 0;
    // the byte before and the one before that, starting from the previous chunk's tail
    let p1 = this.before1;
    let p2 = this.before2;
    for (const b of chunk) {
      read++;
      if ((b === LF && (p1 === LF || (p1 === CR && p2 === LF))) || (b === CR && p1 === CR)) end = read;
      p2 = p1;
      p1 = b;
    }
    this.before1 = p1;
    this.before2 = p2;
    return end;
  }
}

/** Thrown into `onError` when the upstream stream ended cleanly but inside an event, or with no event at all. */
export class StreamEndedMidEvent extends Error {}

/**
 * Passes an SSE body through event by event, unchanged, so a client only ever sees whole events. If the upstream
 * connection breaks mid-stream, or the stream ends without a blank line after its last event (or with no event at
 * all), the half-written event is dropped and the stream ends with one `data:` event carrying an error, so clients
 * raise that error instead of treating a truncated reply as complete (or choking on half a JSON object first). The
 * `openai` SDK and `@google/genai` both throw on a data event holding an `error` object.
 */
export function sseWithErrorEvent(
  upstream: ReadableStream<Uint8Array>,
  errorEvent: string,
  onError: (e: unknown) => void,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const encoder = new TextEncoder();
  const boundaries = new EventBoundaries();
  /** bytes of the event still being received, held back until it is complete */
  let held: Uint8Array[] = [];
  let receivedAny = false;
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, e: unknown): void => {
    onError(e);
    controller.enqueue(encoder.encode(`data: ${errorEvent}\n\n`));
    controller.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        // a pull that enqueues nothing is not called again, so read on until an event is complete
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            // line breaks alone after the last event are a blank line too
            const unfinished = held.some((chunk) => chunk.some((b) => b !== LF && b !== CR));
            if (!receivedAny || unfinished) fail(controller, new StreamEndedMidEvent());
            else controller.close();
            return;
          }
          if (value.byteLength === 0) continue;
          receivedAny = true;
          const end = boundaries.lastEnd(value);
          if (end === -1) {
            held.push(value);
            continue;
          }
          for (const chunk of held) controller.enqueue(chunk);
          controller.enqueue(value.subarray(0, end));
          held = end < value.byteLength ? [value.subarray(end)] : [];
          return;
        }
      } catch (e) {
        fail(controller, e);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
