/**
 * The output items of one reply and the stream events that build them, as Gemini's parts arrive:
 * - thought parts (with `includeThoughts`) stream into a `reasoning` item's summary; the thought signature Gemini puts
 *   on the part after the thought (or on the thought itself) closes it, in its `encrypted_content`;
 * - text parts stream into one `message` item with one `output_text` part, consecutive ones (across chunks too) one
 *   item;
 * - each `functionCall` becomes a `function_call` item, its arguments in one delta, its `call_id` carrying Gemini's
 *   id for the call; a signature no open reasoning item took gets a reasoning item of its own just before the call;
 * - server-side tool parts (Google Search next to functions) travel in a reasoning item where they stood.
 * A signature on a text part with nothing before it to carry it is dropped: Gemini checks signatures on function
 * calls only, which always keep theirs.
 */
import { encodeCarryingId } from '../anthropic/tool-use-ids';
import type { FunctionNames } from './function-names';
import type { GeminiPart } from './gemini-request';
import { encodeCarried } from './reasoning-carrier';
import { CALL_ID_PREFIX } from './request-input';
import type { ItemStatus, OutputItem, OutputText, ResponsesStreamEvent } from './responses-types';

type Events = ResponsesStreamEvent[];

interface OpenReasoning {
  readonly kind: 'reasoning';
  readonly index: number;
  readonly id: string;
  text: string;
  summaryOpen: boolean;
  signature: string | undefined;
  readonly parts: GeminiPart[];
}

interface OpenMessage {
  readonly kind: 'message';
  readonly index: number;
  readonly id: string;
  text: string;
}

/** A Gemini function call as the builder needs it. */
export interface GeminiCall {
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly id?: string;
}

const outputText = (text: string): OutputText => ({ type: 'output_text', text, annotations: [] });

export class OutputItems {
  readonly items: OutputItem[] = [];
  private open: OpenReasoning | OpenMessage | undefined;
  /** server-side tool parts waiting for the reasoning item that carries them */
  private carried: GeminiPart[] = [];

  /** `unique`: letters and digits that make this reply's item ids its own (the response id's) */
  constructor(
    private readonly unique: string,
    private readonly names: FunctionNames,
  ) {}

  private nextId(prefix: string): string {
    return `${prefix}_${this.unique}_${this.items.length}`;
  }

  thought(text: string, signature: string | undefined, events: Events): void {
    if (this.open?.kind === 'message') this.closeMessage('completed', events);
    const reasoning = this.open?.kind === 'reasoning' ? this.open : this.openReasoning(events);
    if (signature !== undefined) reasoning.signature ??= signature;
    if (text === '') return;
    const at = { item_id: reasoning.id, output_index: reasoning.index, summary_index: 0 };
    if (!reasoning.summaryOpen) {
      reasoning.summaryOpen = true;
      events.push({ type: 'response.reasoning_summary_part.added', ...at, part: { type: 'summary_text', text: '' } });
    }
    reasoning.text += text;
    events.push({ type: 'response.reasoning_summary_text.delta', ...at, delta: text });
  }

  text(text: string, signature: string | undefined, events: Events): void {
    if (this.open?.kind === 'reasoning') this.closeReasoning(signature, events);
    else this.flushCarried(signature, events);
    let message = this.open;
    if (message?.kind !== 'message') {
      message = { kind: 'message', index: this.items.length, id: this.nextId('msg'), text: '' };
      this.open = message;
      this.items.push({ type: 'message', id: message.id, role: 'assistant', status: 'in_progress', content: [] });
      const at = { item_id: message.id, output_index: message.index, content_index: 0 };
      events.push(
        {
          type: 'response.output_item.added',
          output_index: message.index,
          item: this.items[message.index] as OutputItem,
        },
        { type: 'response.content_part.added', ...at, part: outputText('') },
      );
    }
    message.text += text;
    events.push({
      type: 'response.output_text.delta',
      item_id: message.id,
      output_index: message.index,
      content_index: 0,
      delta: text,
      logprobs: [],
    });
  }

  /** An empty text part: Gemini may end a thought's turn with one that only carries the signature. */
  signatureOnly(signature: string): void {
    if (this.open?.kind === 'reasoning') this.open.signature ??= signature;
  }

  call(call: GeminiCall, signature: string | undefined, events: Events): void {
    if (this.open?.kind === 'message') this.closeMessage('completed', events);
    const taken = this.open?.kind === 'reasoning' && this.closeReasoning(signature, events);
    this.flushCarried(taken ? undefined : signature, events, true);
    const index = this.items.length;
    const id = this.nextId('fc');
    const callId = encodeCarryingId(CALL_ID_PREFIX, `${this.unique}x${index}`, call.id ? { callId: call.id } : {});
    const { name, namespace } = this.names.clientName(call.name);
    const args = JSON.stringify(call.args);
    const item = { type: 'function_call', id, call_id: callId, name, ...(namespace ? { namespace } : {}) } as const;
    this.items.push({ ...item, arguments: args, status: 'completed' });
    events.push(
      {
        type: 'response.output_item.added',
        output_index: index,
        item: { ...item, arguments: '', status: 'in_progress' },
      },
      { type: 'response.function_call_arguments.delta', item_id: id, output_index: index, delta: args },
      { type: 'response.function_call_arguments.done', item_id: id, output_index: index, name, arguments: args },
      { type: 'response.output_item.done', output_index: index, item: this.items[index] as OutputItem },
    );
  }

  /** A part the Responses format cannot show: carried back to Gemini by a reasoning item where it stood. */
  carry(part: GeminiPart, events: Events): void {
    if (this.open?.kind === 'message') this.closeMessage('completed', events);
    if (this.open?.kind === 'reasoning') this.open.parts.push(part);
    else this.carried.push(part);
  }

  /** Closes what is open at the end of the reply; a cut-short message is `incomplete`. */
  close(status: ItemStatus, events: Events): void {
    if (this.open?.kind === 'message') this.closeMessage(status, events);
    if (this.open?.kind === 'reasoning') this.closeReasoning(undefined, events);
    this.flushCarried(undefined, events);
  }

  private openReasoning(events: Events): OpenReasoning {
    const reasoning: OpenReasoning = {
      kind: 'reasoning',
      index: this.items.length,
      id: this.nextId('rs'),
      text: '',
      summaryOpen: false,
      signature: undefined,
      parts: this.carried,
    };
    this.carried = [];
    this.open = reasoning;
    this.items.push({ type: 'reasoning', id: reasoning.id, summary: [], encrypted_content: null });
    events.push({
      type: 'response.output_item.added',
      output_index: reasoning.index,
      item: this.items[reasoning.index] as OutputItem,
    });
    return reasoning;
  }

  /**
   * Closes the open reasoning item; it takes its own signature, else `offered` (that of the part after it). Whether
   * it took `offered`.
   */
  private closeReasoning(offered: string | undefined, events: Events): boolean {
    const reasoning = this.open;
    if (reasoning?.kind !== 'reasoning') return false;
    this.open = undefined;
    const signature = reasoning.signature ?? offered;
    const summary = reasoning.summaryOpen ? [{ type: 'summary_text', text: reasoning.text } as const] : [];
    const at = { item_id: reasoning.id, output_index: reasoning.index, summary_index: 0 };
    if (reasoning.summaryOpen) {
      events.push(
        { type: 'response.reasoning_summary_text.done', ...at, text: reasoning.text },
        { type: 'response.reasoning_summary_part.done', ...at, part: { type: 'summary_text', text: reasoning.text } },
      );
    }
    const encrypted = encodeCarried({ ...(signature ? { signature } : {}), parts: reasoning.parts });
    const item: OutputItem = { type: 'reasoning', id: reasoning.id, summary, encrypted_content: encrypted };
    this.items[reasoning.index] = item;
    events.push({ type: 'response.output_item.done', output_index: reasoning.index, item });
    return reasoning.signature === undefined && offered !== undefined;
  }

  /**
   * A reasoning item of its own for the carried parts, with the signature of the part after them; before a call
   * (`forCall`), also for the signature alone, which Gemini will check.
   */
  private flushCarried(signature: string | undefined, events: Events, forCall = false): void {
    const offered = forCall ? signature : this.carried.length > 0 ? signature : undefined;
    if (this.carried.length === 0 && offered === undefined) return;
    this.openReasoning(events);
    this.closeReasoning(offered, events);
  }

  private closeMessage(status: ItemStatus, events: Events): void {
    const message = this.open;
    if (message?.kind !== 'message') return;
    this.open = undefined;
    const at = { item_id: message.id, output_index: message.index, content_index: 0 };
    const part = outputText(message.text);
    const item: OutputItem = { type: 'message', id: message.id, role: 'assistant', status, content: [part] };
    this.items[message.index] = item;
    events.push(
      { type: 'response.output_text.done', ...at, text: message.text, logprobs: [] },
      { type: 'response.content_part.done', ...at, part },
      { type: 'response.output_item.done', output_index: message.index, item },
    );
  }
}
