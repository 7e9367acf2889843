/**
 * How the fake counts a prompt's tokens: one per whitespace-separated word of its text, so tests can predict counts
 * (Google's tokenizer gives about 4 characters per token; the fake's counts are smaller and exact). The same words
 * are the prompt an implicit cache compares (`./implicit-cache.ts`).
 *
 * @module
 */

/**
 * The words of `value`: strings under the `textKeys` field names or directly in an array, in document order, from
 * every nested object and array.
 */
function wordsOf(value: unknown, textKeys: ReadonlySet<string>, out: string[]): string[] {
  if (typeof value === 'string') {
    for (const word of value.split(/\s+/)) if (word !== '') out.push(word);
  } else if (Array.isArray(value)) {
    for (const item of value) wordsOf(item, textKeys, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (textKeys.has(k) || typeof v === 'object') wordsOf(v, textKeys, out);
  }
  return out;
}

const NATIVE_TEXT = new Set(['text']);
const CHAT_TEXT = new Set(['text', 'content']);

/** The words of a native `contents` (or any part of a request), as `countTokens` counts them. */
export function nativeWords(value: unknown): string[] {
  return wordsOf(value, NATIVE_TEXT, []);
}

/**
 * A native request's prompt, in the order Google reads it: the system instruction, then the contents. Its length is
 * the reply's `promptTokenCount`.
 */
export function nativePrompt(body: Record<string, unknown>): string[] {
  return wordsOf([body.systemInstruction ?? body.system_instruction, body.contents], NATIVE_TEXT, []);
}

/** A chat completion's prompt: the text of its messages, system messages included. */
export function chatPrompt(body: Record<string, unknown>): string[] {
  return wordsOf(body.messages, CHAT_TEXT, []);
}
