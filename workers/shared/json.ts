/**
 * Parsing of JSON the workers did not write (client bodies, Google's answers): one rule for what counts as JSON.
 */

/**
 * The value a JSON text (or its UTF-8 bytes) encodes, or undefined when it is not JSON: JSON has no `undefined`, so
 * the two cannot be confused. Bytes must be valid UTF-8 (a leading byte-order mark is dropped), as RFC 8259 requires.
 */
export function parseJson(input: string | Uint8Array): unknown {
  try {
    const text =
      typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(input);
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether a parsed JSON value is an object (not null, not an array): the shape every request and reply body has. */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The JSON object a text or its UTF-8 bytes encode; undefined for anything else (invalid JSON, an array, a number). */
export function parseJsonObject(input: string | Uint8Array): Record<string, unknown> | undefined {
  const value = parseJson(input);
  return isJsonObject(value) ? value : undefined;
}
