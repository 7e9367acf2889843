/**
 * Thin fix-ups where Google's OpenAI-compatible endpoint differs from what OpenAI clients require. Everything else
 * is forwarded byte for byte, so tools, JSON schema output and Gemini 3 thought signatures survive untouched.
 */
import { errorBody, type OpenAIErrorBody } from '../shared/http';
import { googleErrorOf } from './quota';

/** OpenAI's error `type` for an HTTP status, so SDKs classify errors the way they do for OpenAI itself. */
export function openAIErrorType(status: number): string {
  if (status === 400 || status === 404 || status === 409 || status === 413 || status === 414 || status === 422) return 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

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
  if (Array.isArray(value)) return value.map(v => redactValue(v, secrets));
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
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return redact(text, secrets);
  }
  const redacted = redactValue(parsed, secrets);
  return JSON.stringify(redacted) === JSON.stringify(parsed) ? text : JSON.stringify(redacted);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
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
  return errorBody(`Gemini returned HTTP ${status} with a body that is not a Gemini error.`, openAIErrorType(status), 'upstream_error');
}

/** Encodes numbers as little-endian float32 bytes in base64, as OpenAI's `encoding_format: "base64"` specifies. */
export function encodeFloat32Base64(values: readonly number[]): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  let binary = '';
  // String.fromCharCode over large arrays overflows the call stack; 32 KiB slices stay well within it
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export type EmbeddingsRequest =
  | { readonly ok: true; readonly upstreamBody: string; readonly base64: boolean }
  | { readonly ok: false; readonly message: string };

/**
 * Prepares an embeddings request for Google. The `openai` SDK sends `encoding_format: "base64"` unless told
 * otherwise; Google's endpoint answers floats, so the field is dropped upstream and the worker encodes instead.
 */
export function embeddingsRequest(body: Record<string, unknown>): EmbeddingsRequest {
  const format = body.encoding_format;
  if (format !== undefined && format !== 'base64' && format !== 'float') {
    return { ok: false, message: 'encoding_format must be "float" or "base64".' };
  }
  const { encoding_format: _dropped, ...rest } = body;
  return { ok: true, upstreamBody: JSON.stringify(rest), base64: format !== 'float' };
}

/** Rewrites Google's float embeddings to base64 when the client asked for it; undefined when the shape is wrong. */
export function embeddingsResponse(body: unknown, base64: boolean): unknown {
  if (!body || typeof body !== 'object' || !Array.isArray((body as { data?: unknown }).data)) return undefined;
  const data = (body as { data: unknown[] }).data;
  if (!base64) return body;
  const encoded = data.map(item => {
    const embedding = (item as { embedding?: unknown }).embedding;
    if (!Array.isArray(embedding) || !embedding.every(v => typeof v === 'number')) return undefined;
    return { ...(item as object), embedding: encodeFloat32Base64(embedding as number[]) };
  });
  if (encoded.some(e => e === undefined)) return undefined;
  return { ...(body as object), data: encoded };
}

/** Whether an SSE body that ends with `tail` ended on an event boundary: a blank line, in any of SSE's line endings. */
export function endsOnEventBoundary(tail: string): boolean {
  return tail.endsWith('\n\n') || tail.endsWith('\r\r') || tail.endsWith('\r\n\r\n') || tail.endsWith('\n\r\n');
}

/** Thrown into `onError` when the upstream stream ended cleanly but not on an event boundary (or empty). */
export class StreamEndedMidEvent extends Error {}

/**
 * Passes an SSE body through unchanged, but if the upstream connection breaks mid-stream, or the stream ends
 * without a blank line after its last event (or with no event at all), ends it with one `data:` event carrying an
 * error, so clients raise an error instead of treating a truncated reply as complete. The `openai` SDK and
 * `@google/genai` both throw on a data event holding an `error` object.
 */
export function sseWithErrorEvent(upstream: ReadableStream<Uint8Array>, errorEvent: string, onError: (e: unknown) => void): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const encoder = new TextEncoder();
  // the last few bytes are all it takes to see whether the stream stopped between events
  let tail = '';
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, e: unknown): void => {
    onError(e);
    // a blank line first terminates any event the cut left half-written
    controller.enqueue(encoder.encode(`\n\ndata: ${errorEvent}\n\n`));
    controller.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          if (endsOnEventBoundary(tail)) controller.close();
          else fail(controller, new StreamEndedMidEvent());
          return;
        }
        if (value.byteLength > 0) {
          const last = value.subarray(Math.max(0, value.byteLength - 4));
          tail = (tail + String.fromCharCode(...last)).slice(-4);
        }
        controller.enqueue(value);
      } catch (e) {
        fail(controller, e);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
