/**
 * Gemini's replies (`GenerateContentResponse`, whole or one stream chunk at a time) as Anthropic messages. One
 * translator serves both: a stream is translated chunk by chunk into Anthropic's events as each chunk arrives, and a
 * whole reply is the same events assembled into a message, so both forms always agree.
 *
 * - thought parts (`thought: true`, with `includeThoughts`) become `thinking` blocks; the thought signature that
 *   Gemini puts on the part after a thought becomes the block's `signature` (and goes back on that part next turn);
 * - text parts become `text` blocks, consecutive ones (across chunks too) one block;
 * - each `functionCall` becomes a `tool_use` block whose id carries Gemini's call id and the part's thought
 *   signature (see `tool-use-ids.ts`); its arguments arrive as one `input_json_delta`;
 * - finish reasons: STOP → `end_turn` (`tool_use` when the reply called a function), MAX_TOKENS → `max_tokens`,
 *   Google's safety and policy stops → `refusal` with the reason in `stop_details`; any other (a malformed function
 *   call, OTHER, …) means the reply is not usable, and is answered as an error the client may retry.
 * Gemini does not say which stop sequence ended a reply, so `stop_sequence` is never set. A signature on a text
 * part with no thought before it is not carried: Gemini checks signatures only on function calls, which keep theirs.
 */
import { isJsonObject } from '../../../shared/json';
import type {
  AnthropicContentBlock,
  AnthropicFailure,
  AnthropicMessage,
  AnthropicStopDetails,
  AnthropicStopReason,
  AnthropicStreamEvent,
  AnthropicUsage,
} from './anthropic-types';
import { anthropicFailure } from './errors';
import type { GeminiUsage } from './gemini-types';
import { encodeToolUseId } from './tool-use-ids';
import { redact } from '../../core/redaction';
import { googleErrorOf } from '../../core/key-faults';

export interface ReplyTranslationOptions {
  /** the Anthropic message id (`msg_…`); tool_use ids are derived from it, so a reply translates the same each time */
  readonly messageId: string;
  /** the model name the client asked for, echoed in the message */
  readonly model: string;
  /** redacted from any error text Google sends inside a reply */
  readonly secrets?: readonly string[];
}

/** Finish reasons that mean Google withheld (part of) the reply for its content policies. */
export const REFUSALS = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

type Json = Record<string, unknown>;

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/** Gemini's usage in Anthropic's terms: cache reads apart from input, thinking inside output. */
export function anthropicUsage(usage: GeminiUsage | undefined): AnthropicUsage {
  const cached = count(usage?.cachedContentTokenCount);
  const prompt = count(usage?.promptTokenCount) + count(usage?.toolUsePromptTokenCount);
  return {
    input_tokens: Math.max(0, prompt - cached),
    output_tokens: count(usage?.candidatesTokenCount) + count(usage?.thoughtsTokenCount),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

/** Translates Gemini's reply, chunk by chunk, into Anthropic's stream events. */
export class ReplyTranslator {
  private started = false;
  private open: { readonly kind: 'text' | 'thinking'; readonly index: number } | undefined;
  private nextIndex = 0;
  /** the signature that will close the open thinking block */
  private thinkingSignature: string | undefined;
  private calls = 0;
  private usage: GeminiUsage | undefined;
  private sawCandidate = false;
  private finishReason: string | undefined;
  private finishMessage: string | undefined;
  private blockReason: string | undefined;
  private failure: AnthropicFailure | undefined;

  constructor(private readonly o: ReplyTranslationOptions) {}

  /** Set once the reply turned out unusable; no further events are produced. */
  get failed(): AnthropicFailure | undefined {
    return this.failure;
  }

  /** The last `usageMetadata` Gemini sent (a stream's last chunk carries the reply's totals), for metering. */
  get lastUsage(): GeminiUsage | undefined {
    return this.usage;
  }

  /** The events one Gemini chunk (or a whole reply) adds. */
  push(chunk: unknown): AnthropicStreamEvent[] {
    if (this.failure) return [];
    if (!isJsonObject(chunk)) {
      this.failure = anthropicFailure(502, 'Gemini sent a reply that is not a JSON object.');
      return [];
    }
    const google = googleErrorOf(chunk);
    if (google) {
      const status = google.code !== undefined && google.code >= 400 && google.code <= 599 ? google.code : 502;
      const message = redact(google.message ?? 'no message', this.o.secrets ?? []);
      this.failure = anthropicFailure(status, `Gemini ${google.status ?? `HTTP ${status}`}: ${message}`);
      return [];
    }
    const events: AnthropicStreamEvent[] = [];
    if (isJsonObject(chunk.usageMetadata)) this.usage = chunk.usageMetadata as GeminiUsage;
    if (!this.started) {
      this.started = true;
      events.push({ type: 'message_start', message: this.message([], null) }, { type: 'ping' });
    }
    const feedback = chunk.promptFeedback;
    if (isJsonObject(feedback) && typeof feedback.blockReason === 'string') this.blockReason = feedback.blockReason;
    const candidate = Array.isArray(chunk.candidates) ? chunk.candidates[0] : undefined;
    if (!isJsonObject(candidate)) return events;
    this.sawCandidate = true;
    const content = candidate.content;
    const parts = isJsonObject(content) && Array.isArray(content.parts) ? content.parts : [];
    for (const part of parts) if (isJsonObject(part)) this.part(part, events);
    if (typeof candidate.finishReason === 'string') this.finishReason = candidate.finishReason;
    if (typeof candidate.finishMessage === 'string') this.finishMessage = candidate.finishMessage;
    return events;
  }

  /** The closing events once Gemini's reply has ended, or why the reply cannot be given as a message. */
  finish(): AnthropicStreamEvent[] | AnthropicFailure {
    if (this.failure) return this.failure;
    const outcome = this.outcome();
    if ('ok' in outcome) {
      this.failure = outcome;
      return outcome;
    }
    const events: AnthropicStreamEvent[] = [];
    this.close(undefined, events);
    events.push(
      {
        type: 'message_delta',
        delta: {
          stop_reason: outcome.reason,
          stop_sequence: null,
          ...(outcome.details ? { stop_details: outcome.details } : {}),
        },
        usage: anthropicUsage(this.usage),
      },
      { type: 'message_stop' },
    );
    return events;
  }

  private outcome(): { reason: AnthropicStopReason; details?: AnthropicStopDetails } | AnthropicFailure {
    const finish = this.finishReason;
    if (finish === undefined && this.blockReason !== undefined) {
      return this.refusal(`Gemini blocked the prompt (blockReason ${this.blockReason}); rephrase it.`);
    }
    if (finish === undefined) {
      return anthropicFailure(
        502,
        this.sawCandidate
          ? 'Gemini ended its reply without a finish reason, so the reply is incomplete; retry the request.'
          : 'Gemini answered without any candidate reply; retry the request.',
      );
    }
    if (finish === 'STOP') return { reason: this.calls > 0 ? 'tool_use' : 'end_turn' };
    if (finish === 'MAX_TOKENS') return { reason: 'max_tokens' };
    const detail = this.finishMessage === undefined ? '' : ` (${redact(this.finishMessage, this.o.secrets ?? [])})`;
    if (REFUSALS.has(finish)) return this.refusal(`Gemini stopped the reply with finishReason ${finish}${detail}.`);
    return anthropicFailure(
      502,
      `Gemini stopped the reply with finishReason ${finish}${detail}, so the reply is not usable; retry the request.`,
    );
  }

  private refusal(explanation: string): { reason: AnthropicStopReason; details: AnthropicStopDetails } {
    return { reason: 'refusal', details: { type: 'refusal', category: null, explanation } };
  }

  private message(content: AnthropicContentBlock[], reason: AnthropicStopReason | null): AnthropicMessage {
    return {
      id: this.o.messageId,
      type: 'message',
      role: 'assistant',
      model: this.o.model,
      content,
      stop_reason: reason,
      stop_sequence: null,
      usage: anthropicUsage(this.usage),
    };
  }

  private part(part: Json, events: AnthropicStreamEvent[]): void {
    const signature =
      typeof part.thoughtSignature === 'string' && part.thoughtSignature !== '' ? part.thoughtSignature : undefined;
    const text = typeof part.text === 'string' ? part.text : undefined;
    if (part.thought === true && text !== undefined) {
      const index = this.ensureOpen('thinking', events);
      if (text !== '')
        events.push({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: text } });
      if (signature !== undefined) this.thinkingSignature = signature;
      return;
    }
    const call = part.functionCall;
    if (isJsonObject(call) && typeof call.name === 'string') {
      this.close(signature, events);
      const id = encodeToolUseId(`${this.o.messageId.replace(/^msg_/, '')}x${this.calls}`, {
        ...(typeof call.id === 'string' ? { callId: call.id } : {}),
        ...(signature !== undefined ? { signature } : {}),
      });
      this.calls++;
      const index = this.nextIndex++;
      const args = isJsonObject(call.args) ? call.args : {};
      events.push(
        { type: 'content_block_start', index, content_block: { type: 'tool_use', id, name: call.name, input: {} } },
        { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(args) } },
        { type: 'content_block_stop', index },
      );
      return;
    }
    if (text === undefined) return; // inline images, code execution parts: nothing Anthropic's format can hold
    if (text === '') {
      // Gemini may end with an empty part that only carries a signature; it belongs to an open thought
      if (this.open?.kind === 'thinking' && signature !== undefined) this.thinkingSignature ??= signature;
      return;
    }
    if (this.open?.kind === 'thinking') this.close(signature, events);
    const index = this.ensureOpen('text', events);
    events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
  }

  private ensureOpen(kind: 'text' | 'thinking', events: AnthropicStreamEvent[]): number {
    if (this.open?.kind === kind) return this.open.index;
    this.close(undefined, events);
    const index = this.nextIndex++;
    this.open = { kind, index };
    events.push({
      type: 'content_block_start',
      index,
      content_block: kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' },
    });
    return index;
  }

  /** Closes the open block; a thinking block takes its own signature, else `offered` (that of the next part). */
  private close(offered: string | undefined, events: AnthropicStreamEvent[]): void {
    const open = this.open;
    if (open === undefined) return;
    if (open.kind === 'thinking') {
      const signature = this.thinkingSignature ?? offered;
      if (signature !== undefined) {
        events.push({ type: 'content_block_delta', index: open.index, delta: { type: 'signature_delta', signature } });
      }
      this.thinkingSignature = undefined;
    }
    events.push({ type: 'content_block_stop', index: open.index });
    this.open = undefined;
  }
}

/** Builds the message a sequence of stream events describes (what Anthropic's SDKs do with a stream). */
export function assembleMessage(events: readonly AnthropicStreamEvent[]): AnthropicMessage | undefined {
  let message: AnthropicMessage | undefined;
  const blocks: AnthropicContentBlock[] = [];
  const json: string[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'message_start':
        message = event.message;
        break;
      case 'content_block_start':
        blocks[event.index] = event.content_block;
        json[event.index] = '';
        break;
      case 'content_block_delta': {
        const block = blocks[event.index];
        const d = event.delta;
        if (block?.type === 'text' && d.type === 'text_delta')
          blocks[event.index] = { ...block, text: block.text + d.text };
        else if (block?.type === 'thinking' && d.type === 'thinking_delta') {
          blocks[event.index] = { ...block, thinking: block.thinking + d.thinking };
        } else if (block?.type === 'thinking' && d.type === 'signature_delta') {
          blocks[event.index] = { ...block, signature: d.signature };
        } else if (block?.type === 'tool_use' && d.type === 'input_json_delta') {
          json[event.index] = (json[event.index] ?? '') + d.partial_json;
        }
        break;
      }
      case 'content_block_stop': {
        const block = blocks[event.index];
        const text = json[event.index];
        if (block?.type === 'tool_use' && text) blocks[event.index] = { ...block, input: JSON.parse(text) as unknown };
        break;
      }
      case 'message_delta':
        if (message) {
          message = {
            ...message,
            stop_reason: event.delta.stop_reason,
            stop_sequence: event.delta.stop_sequence,
            ...(event.delta.stop_details ? { stop_details: event.delta.stop_details } : {}),
            usage: event.usage,
          };
        }
        break;
      case 'message_stop':
      case 'ping':
        break;
    }
  }
  return message && { ...message, content: blocks };
}

export type MessageTranslation = { readonly ok: true; readonly message: AnthropicMessage } | AnthropicFailure;

/** A whole (non-streamed) Gemini reply as an Anthropic message. */
export function anthropicMessageFromGemini(reply: unknown, o: ReplyTranslationOptions): MessageTranslation {
  const translator = new ReplyTranslator(o);
  const events = translator.push(reply);
  const end = translator.finish();
  if (!Array.isArray(end)) return end;
  const message = assembleMessage([...events, ...end]);
  return message ? { ok: true, message } : anthropicFailure(502, 'Gemini sent an empty reply.');
}
