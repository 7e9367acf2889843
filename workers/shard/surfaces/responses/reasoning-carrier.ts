/**
 * What a `reasoning` item's `encrypted_content` carries from one turn to the next. Gemini 3 refuses a function-call
 * turn whose call comes back without the thought signature it was sent with, and a turn that used Google Search next
 * to functions must come back with its server-side tool parts; the Responses API has no place for either, but its
 * clients return reasoning items as they received them (Codex sends `store: false` with
 * `include: ["reasoning.encrypted_content"]` for exactly this), so the gateway keeps no state:
 *
 *   zr1.<base64url(JSON)>   {"s": the thought signature of the part after the item?, "p": Gemini parts to put back?}
 *
 * The signature goes back on the part that follows the reasoning item in the turn (a function call, or the text after
 * a thought); the parts go back where the item stands. Only the part kinds the gateway itself puts here are read back
 * (server-side tool calls and their results, code execution), so the field cannot smuggle file references or other
 * content past the request checks. Anything else in `encrypted_content` (OpenAI's own, or an altered value) carries
 * nothing.
 */
import { isJsonObject } from '../../../shared/json';
import { fromBase64Url, toBase64Url } from '../anthropic/tool-use-ids';
import type { GeminiPart } from './gemini-request';

const PREFIX = 'zr1.';
/** Longer values are not decoded: they are client input, and nothing the gateway writes comes near this. */
const MAX_DECODED_LENGTH = 4 * 1024 * 1024;

/** Gemini part kinds the Responses format cannot show, carried back to Gemini as they came. */
const CARRIED_PART_KINDS = ['toolCall', 'toolResponse', 'executableCode', 'codeExecutionResult'] as const;

/** What one reasoning item carries. */
export interface Carried {
  /** the `thoughtSignature` of the part that follows the item */
  readonly signature?: string;
  /** parts that stand where the item stands */
  readonly parts?: readonly GeminiPart[];
}

/** Whether Gemini's part is one the Responses format cannot show, so it travels in a reasoning item. */
export function isCarriedPart(part: Record<string, unknown>): boolean {
  return CARRIED_PART_KINDS.some((kind) => isJsonObject(part[kind]));
}

/** The `encrypted_content` for what an item carries, or null when it carries nothing. */
export function encodeCarried(carried: Carried): string | null {
  const payload: { s?: string; p?: readonly GeminiPart[] } = {};
  if (carried.signature !== undefined && carried.signature !== '') payload.s = carried.signature;
  if (carried.parts !== undefined && carried.parts.length > 0) payload.p = carried.parts;
  if (payload.s === undefined && payload.p === undefined) return null;
  return `${PREFIX}${toBase64Url(JSON.stringify(payload))}`;
}

/** A carried part as it may go back to Gemini: one of the carried kinds, with only its data and its signature. */
function carriedPart(value: unknown): GeminiPart | undefined {
  if (!isJsonObject(value) || !isCarriedPart(value)) return undefined;
  const part: Record<string, unknown> = {};
  for (const kind of CARRIED_PART_KINDS) if (isJsonObject(value[kind])) part[kind] = value[kind];
  if (typeof value.thoughtSignature === 'string') part.thoughtSignature = value.thoughtSignature;
  return part as GeminiPart;
}

/** What an `encrypted_content` value carries; nothing for values this gateway did not write. */
export function decodeCarried(value: unknown): Carried {
  if (typeof value !== 'string' || !value.startsWith(PREFIX) || value.length > MAX_DECODED_LENGTH) return {};
  const json = fromBase64Url(value.slice(PREFIX.length));
  if (json === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return {};
  }
  if (!isJsonObject(parsed)) return {};
  const parts = Array.isArray(parsed.p) ? parsed.p.map(carriedPart).filter((p) => p !== undefined) : [];
  return {
    ...(typeof parsed.s === 'string' && parsed.s !== '' ? { signature: parsed.s } : {}),
    ...(parts.length > 0 ? { parts } : {}),
  };
}
