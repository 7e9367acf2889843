import type { AnthropicErrorType } from '../../../shared/error-shapes';

/**
 * The parts of Anthropic's Messages API shapes that the adapter produces: the message, its content blocks, the
 * streaming events and the error body. Requests are read from `unknown` (see `request-translation.ts`), so only
 * the answer side is typed here.
 */

export interface AnthropicTextBlock {
  readonly type: 'text';
  readonly text: string;
}

export interface AnthropicThinkingBlock {
  readonly type: 'thinking';
  readonly thinking: string;
  /** Gemini's thought signature, returned by the client in its next request */
  readonly signature: string;
}

export interface AnthropicToolUseBlock {
  readonly type: 'tool_use';
  /** carries Gemini's call id and thought signature, see `tool-use-ids.ts` */
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
}

export type AnthropicContentBlock = AnthropicTextBlock | AnthropicThinkingBlock | AnthropicToolUseBlock;

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

export interface AnthropicUsage {
  /** prompt tokens not read from a cache (Anthropic counts cache reads apart) */
  readonly input_tokens: number;
  /** answer tokens, thinking included */
  readonly output_tokens: number;
  readonly cache_creation_input_tokens: number;
  readonly cache_read_input_tokens: number;
}

/** Why a reply was refused, in the field Anthropic's API uses for it. */
export interface AnthropicStopDetails {
  readonly type: 'refusal';
  readonly category: null;
  readonly explanation: string;
}

export interface AnthropicMessage {
  readonly id: string;
  readonly type: 'message';
  readonly role: 'assistant';
  /** the model name the client asked for (e.g. `claude-opus-4-8`), not the Gemini model that answered */
  readonly model: string;
  readonly content: readonly AnthropicContentBlock[];
  readonly stop_reason: AnthropicStopReason | null;
  readonly stop_sequence: string | null;
  readonly stop_details?: AnthropicStopDetails;
  readonly usage: AnthropicUsage;
}

export type AnthropicContentDelta =
  | { readonly type: 'text_delta'; readonly text: string }
  | { readonly type: 'thinking_delta'; readonly thinking: string }
  | { readonly type: 'signature_delta'; readonly signature: string }
  | { readonly type: 'input_json_delta'; readonly partial_json: string };

export type AnthropicStreamEvent =
  | { readonly type: 'message_start'; readonly message: AnthropicMessage }
  | { readonly type: 'content_block_start'; readonly index: number; readonly content_block: AnthropicContentBlock }
  | { readonly type: 'content_block_delta'; readonly index: number; readonly delta: AnthropicContentDelta }
  | { readonly type: 'content_block_stop'; readonly index: number }
  | {
      readonly type: 'message_delta';
      readonly delta: {
        readonly stop_reason: AnthropicStopReason;
        readonly stop_sequence: string | null;
        readonly stop_details?: AnthropicStopDetails;
      };
      readonly usage: AnthropicUsage;
    }
  | { readonly type: 'message_stop' }
  | { readonly type: 'ping' };

/** Anthropic's error types: shared with the orchestrator, which answers Anthropic's clients too. */
export type { AnthropicErrorType } from '../../../shared/error-shapes';

/** `{"type":"error","error":{"type","message"}}`, the body of every error on the Anthropic surface. */
export interface AnthropicErrorBody {
  readonly type: 'error';
  readonly error: { readonly type: AnthropicErrorType; readonly message: string };
  readonly request_id?: string;
}

/** A refusal by the adapter itself: the HTTP status to answer with and the body. */
export interface AnthropicFailure {
  readonly ok: false;
  readonly status: number;
  readonly body: AnthropicErrorBody;
}
