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
