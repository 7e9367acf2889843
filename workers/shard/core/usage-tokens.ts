/**
 * Google's token counts of an answer, read where the gateway already holds them: the `usageMetadata` of a native
 * reply (or of the last chunk of a stream, which carries the reply's totals), or the `usage` of an OpenAI-compatible
 * one. A stream passed through unparsed is not parsed for them chunk by chunk: {@link StreamTail} keeps references to
 * its last few kilobytes as they go by, and only those are read, once, when the stream ends.
 */
import { isJsonObject } from '../../shared/json';

/** One answer's tokens; the cached tokens are part of the prompt's. */
export interface TokenCounts {
  readonly prompt: number;
  readonly output: number;
  readonly cached: number;
  readonly thinking: number;
  readonly total: number;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** A native reply's `usageMetadata`, or undefined when it is not one. */
export function geminiTokens(usage: unknown): TokenCounts | undefined {
  if (!isJsonObject(usage)) return undefined;
  const prompt = count(usage.promptTokenCount);
  const output = count(usage.candidatesTokenCount);
  const thinking = count(usage.thoughtsTokenCount);
  return {
    prompt,
    output,
    cached: count(usage.cachedContentTokenCount),
    thinking,
    total: count(usage.totalTokenCount) || prompt + output + thinking + count(usage.toolUsePromptTokenCount),
  };
}

/** An OpenAI-compatible reply's `usage` (chat completions, embeddings), or undefined when it is not one. */
export function openaiTokens(usage: unknown): TokenCounts | undefined {
  if (!isJsonObject(usage)) return undefined;
  const prompt = count(usage.prompt_tokens);
  const completion = count(usage.completion_tokens);
  const details = isJsonObject(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  const promptDetails = isJsonObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  // OpenAI counts reasoning inside the completion; the data point keeps them apart, as Google reports them
  const thinking = Math.min(count(details.reasoning_tokens), completion);
  return {
    prompt,
    output: completion - thinking,
    cached: count(promptDetails.cached_tokens),
    thinking,
    total: count(usage.total_tokens) || prompt + completion,
  };
}

/** The tokens of a whole reply, native (`usageMetadata`) or OpenAI-compatible (`usage`). */
export function replyTokens(reply: unknown): TokenCounts | undefined {
  if (!isJsonObject(reply)) return undefined;
  return geminiTokens(reply.usageMetadata) ?? openaiTokens(reply.usage);
}

/** How many bytes of a stream's end are kept: the last chunk's usage and what follows it fit many times over. */
export const TAIL_BYTES = 8 * 1024;

/** How many occurrences of the field, from the last, are tried before giving up (an OpenAI chunk may say `null`). */
const TRIES = 4;

/**
 * The last bytes of a stream as it goes by: references to its last chunks (never a copy), enough to hold
 * {@link TAIL_BYTES}. Reading the tokens decodes those bytes once.
 */
export class StreamTail {
  private chunks: Uint8Array[] = [];
  private size = 0;

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
    for (;;) {
      const first = this.chunks[0];
      if (first === undefined || this.chunks.length === 1 || this.size - first.byteLength < TAIL_BYTES) return;
      this.chunks.shift();
      this.size -= first.byteLength;
    }
  }

  /** The last usage the kept bytes report: a native stream's `usageMetadata`, else an OpenAI stream's `usage`. */
  tokens(): TokenCounts | undefined {
    if (this.size === 0) return undefined;
    const text = this.text();
    return geminiTokens(lastObject(text, '"usageMetadata"')) ?? openaiTokens(lastObject(text, '"usage"'));
  }

  /** The kept bytes' last {@link TAIL_BYTES}, decoded (a character cut at the start decodes as U+FFFD). */
  private text(): string {
    const bytes = new Uint8Array(this.size);
    let at = 0;
    for (const chunk of this.chunks) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    return new TextDecoder().decode(bytes.subarray(Math.max(0, bytes.byteLength - TAIL_BYTES)));
  }
}

/**
 * The JSON object that follows the last occurrence of `field` (a quoted name) and a colon in `text`. A quoted name
 * inside a JSON string has its quotes escaped, so only a real field matches.
 */
export function lastObject(text: string, field: string): unknown {
  let at = text.lastIndexOf(field);
  for (let tries = 0; at >= 0 && tries < TRIES; tries++) {
    const value = objectAt(text, at + field.length);
    if (value !== undefined) return value;
    at = at === 0 ? -1 : text.lastIndexOf(field, at - 1);
  }
  return undefined;
}

/** The object after `: ` at `from`, parsed; undefined when there is none or it is cut off. */
function objectAt(text: string, from: number): unknown {
  let i = from;
  while (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t') i++;
  if (text[i] !== ':') return undefined;
  i++;
  while (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t') i++;
  if (text[i] !== '{') return undefined;
  const end = objectEnd(text, i);
  if (end < 0) return undefined;
  try {
    return JSON.parse(text.slice(i, end)) as unknown;
  } catch {
    return undefined;
  }
}

/** The index after the `}` that closes the object opening at `start`, or -1 when the text ends first. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}
