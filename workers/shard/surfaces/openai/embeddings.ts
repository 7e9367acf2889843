/**
 * The one fix-up of the OpenAI-compatible embeddings route: OpenAI's `encoding_format`, which Google's endpoint
 * ignores (it answers floats). Every other OpenAI-compatible body is forwarded byte for byte, so tools, JSON schema
 * output and Gemini 3 thought signatures survive untouched.
 */

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
