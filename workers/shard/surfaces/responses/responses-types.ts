/**
 * The parts of OpenAI's Responses API (`POST /v1/responses`, its response object and its stream events) that the
 * Responses surface writes, in OpenAI's JSON spelling. Only what the gateway produces is typed; what clients send is
 * checked field by field as it is read (`./request-translation.ts`).
 */

export interface ResponsesUsage {
  /** every prompt token, cached ones included (as OpenAI counts them) */
  readonly input_tokens: number;
  readonly input_tokens_details: { readonly cached_tokens: number };
  /** every generated token, thinking included */
  readonly output_tokens: number;
  readonly output_tokens_details: { readonly reasoning_tokens: number };
  readonly total_tokens: number;
}

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

export interface OutputText {
  readonly type: 'output_text';
  readonly text: string;
  readonly annotations: readonly never[];
}

export interface MessageItem {
  readonly type: 'message';
  readonly id: string;
  readonly role: 'assistant';
  readonly status: ItemStatus;
  readonly content: readonly OutputText[];
}

export interface FunctionCallItem {
  readonly type: 'function_call';
  readonly id: string;
  readonly call_id: string;
  readonly name: string;
  /** set when the function was declared inside a `namespace` tool */
  readonly namespace?: string;
  readonly arguments: string;
  readonly status: ItemStatus;
}

export interface SummaryText {
  readonly type: 'summary_text';
  readonly text: string;
}

export interface ReasoningItem {
  readonly type: 'reasoning';
  readonly id: string;
  /** Gemini's thought summaries, when the request asked for a reasoning summary */
  readonly summary: readonly SummaryText[];
  /** what Gemini needs back on the next turn (see `./reasoning-carrier.ts`), or null when there is nothing */
  readonly encrypted_content: string | null;
  readonly status?: ItemStatus;
}

export type OutputItem = MessageItem | FunctionCallItem | ReasoningItem;

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

/** `error` of a failed response, and of the `error` stream event. */
export interface ResponseError {
  readonly code: string;
  readonly message: string;
}

/** The request's settings a response object repeats (OpenAI's responses echo them). */
export interface EchoedSettings {
  readonly instructions: string | null;
  readonly max_output_tokens: number | null;
  readonly parallel_tool_calls: boolean;
  readonly temperature: number | null;
  readonly top_p: number | null;
  readonly tool_choice: unknown;
  readonly reasoning: { readonly effort: string | null; readonly summary: string | null };
  readonly text: { readonly format: unknown };
  readonly metadata: Readonly<Record<string, string>>;
  readonly prompt_cache_key?: string;
}

export interface ResponseObject extends EchoedSettings {
  readonly id: string;
  readonly object: 'response';
  readonly created_at: number;
  readonly status: ResponseStatus;
  readonly error: ResponseError | null;
  readonly incomplete_details: { readonly reason: string } | null;
  readonly model: string;
  readonly output: readonly OutputItem[];
  /** the tools are not repeated: the request's own, resent each turn, can be tens of kilobytes */
  readonly tools: readonly never[];
  readonly previous_response_id: null;
  /** nothing is stored: every turn is sent whole */
  readonly store: false;
  readonly background: false;
  readonly truncation: 'disabled';
  readonly usage: ResponsesUsage | null;
}

/** A stream event before its `sequence_number`, which the stream assigns as it sends. */
export type ResponsesStreamEvent =
  | { readonly type: 'response.created' | 'response.in_progress'; readonly response: ResponseObject }
  | { readonly type: 'response.completed' | 'response.incomplete'; readonly response: ResponseObject }
  | { readonly type: 'response.failed'; readonly response: ResponseObject }
  | {
      readonly type: 'response.output_item.added' | 'response.output_item.done';
      readonly output_index: number;
      readonly item: OutputItem;
    }
  | {
      readonly type: 'response.content_part.added' | 'response.content_part.done';
      readonly item_id: string;
      readonly output_index: number;
      readonly content_index: number;
      readonly part: OutputText;
    }
  | {
      readonly type: 'response.output_text.delta';
      readonly item_id: string;
      readonly output_index: number;
      readonly content_index: number;
      readonly delta: string;
      readonly logprobs: readonly never[];
    }
  | {
      readonly type: 'response.output_text.done';
      readonly item_id: string;
      readonly output_index: number;
      readonly content_index: number;
      readonly text: string;
      readonly logprobs: readonly never[];
    }
  | {
      readonly type: 'response.reasoning_summary_part.added' | 'response.reasoning_summary_part.done';
      readonly item_id: string;
      readonly output_index: number;
      readonly summary_index: number;
      readonly part: SummaryText;
    }
  | {
      readonly type: 'response.reasoning_summary_text.delta';
      readonly item_id: string;
      readonly output_index: number;
      readonly summary_index: number;
      readonly delta: string;
    }
  | {
      readonly type: 'response.reasoning_summary_text.done';
      readonly item_id: string;
      readonly output_index: number;
      readonly summary_index: number;
      readonly text: string;
    }
  | {
      readonly type: 'response.function_call_arguments.delta';
      readonly item_id: string;
      readonly output_index: number;
      readonly delta: string;
    }
  | {
      readonly type: 'response.function_call_arguments.done';
      readonly item_id: string;
      readonly output_index: number;
      readonly name: string;
      readonly arguments: string;
    }
  | {
      readonly type: 'error';
      readonly code: string;
      readonly message: string;
      readonly param: null;
    };

/** Why a request or a reply cannot be served, as the OpenAI error the client receives. */
export interface ResponsesFailure {
  readonly ok: false;
  readonly status: number;
  /** OpenAI's `error.code` (also the log line's `error` for the gateway's own refusals) */
  readonly code: string;
  readonly message: string;
  /** the request field at fault, as OpenAI's `error.param` */
  readonly param?: string;
}
