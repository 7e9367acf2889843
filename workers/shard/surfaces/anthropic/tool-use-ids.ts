/**
 * Anthropic `tool_use` ids that carry what Gemini needs back on the next turn. Gemini 3 refuses a function call
 * turn whose call comes back without the thought signature it was sent with, and an Anthropic client returns only
 * what it received: the one thing every client returns for certain is the tool_use id (in the `tool_use` block and
 * in the `tool_result` that answers it). So the id holds Gemini's call id and the part's thought signature:
 *
 *   toolu_<unique>                       nothing to carry
 *   toolu_<unique>_<base64url(JSON)>     {"i": Gemini's functionCall.id?, "s": thoughtSignature?}
 *
 * `<unique>` (letters and digits) keeps two calls apart when neither carries anything. Ids in any other form (from
 * Anthropic's API, or made up by a client) are valid too: they simply carry nothing.
 */

/** What one function call needs back on the next turn. */
export interface CarriedCall {
  /** Gemini's `functionCall.id`, returned as the `functionResponse.id` */
  readonly callId?: string;
  /** the `thoughtSignature` of the function call's part */
  readonly signature?: string;
}

const PREFIX = 'toolu_';
/** Longer ids are not decoded: no signature comes near it, and decoding is work spent on client input. */
const MAX_DECODED_ID_LENGTH = 64 * 1024;

/** UTF-8 text as unpadded base64url, which ids and opaque fields carry without escaping. */
export function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  // String.fromCharCode over large arrays overflows the call stack; 32 KiB slices stay well within it
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The text {@link toBase64Url} encoded; undefined for anything else (bad characters, invalid UTF-8). */
export function fromBase64Url(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * An id in the form above under another surface's prefix (the Responses surface's `call_` ids); `unique` is made of
 * letters and digits only (anything else is dropped from it).
 */
export function encodeCarryingId(prefix: string, unique: string, carried: CarriedCall): string {
  const base = `${prefix}${unique.replace(/[^A-Za-z0-9]/g, '')}`;
  const payload: { i?: string; s?: string } = {};
  if (carried.callId !== undefined && carried.callId !== '') payload.i = carried.callId;
  if (carried.signature !== undefined && carried.signature !== '') payload.s = carried.signature;
  return payload.i === undefined && payload.s === undefined ? base : `${base}_${toBase64Url(JSON.stringify(payload))}`;
}

/** The tool_use id for a call; `unique` is made of letters and digits only (anything else is dropped from it). */
export function encodeToolUseId(unique: string, carried: CarriedCall): string {
  return encodeCarryingId(PREFIX, unique, carried);
}

/** What an id of {@link encodeCarryingId} under `prefix` carries; nothing for ids this gateway did not make. */
export function decodeCarryingId(prefix: string, id: string): CarriedCall {
  if (!id.startsWith(prefix) || id.length > MAX_DECODED_ID_LENGTH) return {};
  const rest = id.slice(prefix.length);
  const separator = rest.indexOf('_');
  if (separator === -1) return {};
  const json = fromBase64Url(rest.slice(separator + 1));
  if (json === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return {};
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const { i, s } = parsed as { i?: unknown; s?: unknown };
  return {
    ...(typeof i === 'string' && i !== '' ? { callId: i } : {}),
    ...(typeof s === 'string' && s !== '' ? { signature: s } : {}),
  };
}

/** What a tool_use id carries; nothing for ids this gateway did not make (or that were altered). */
export function decodeToolUseId(id: string): CarriedCall {
  return decodeCarryingId(PREFIX, id);
}
