/**
 * The response object of the Responses API as the gateway fills it: its id, the settings it repeats, its output,
 * status and usage. Gemini's token counts become OpenAI's: input includes cached tokens (counted again apart), output
 * includes thinking (counted again as reasoning tokens).
 */
import type { GeminiUsage } from './gemini-request';
import type {
  EchoedSettings,
  OutputItem,
  ResponseError,
  ResponseObject,
  ResponseStatus,
  ResponsesUsage,
} from './responses-types';

/** What every response object of one reply shares. */
export interface ResponseIdentity {
  /** `resp_` and 32 hex digits */
  readonly id: string;
  /** the model name the client sent, repeated as it was */
  readonly model: string;
  /** seconds since the epoch */
  readonly createdAt: number;
  readonly echo: EchoedSettings;
}

/** A response id for a fresh UUID (the route's `randomUUID`): `resp_` and 32 hex digits. */
export function newResponseId(uuid: string): string {
  return `resp_${uuid.replace(/[^A-Za-z0-9]/g, '')}`;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

export function responsesUsage(usage: GeminiUsage | undefined): ResponsesUsage {
  const input = count(usage?.promptTokenCount) + count(usage?.toolUsePromptTokenCount);
  const reasoning = count(usage?.thoughtsTokenCount);
  const output = count(usage?.candidatesTokenCount) + reasoning;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: count(usage?.cachedContentTokenCount) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: input + output,
  };
}

export interface ResponseState {
  readonly status: ResponseStatus;
  readonly output: readonly OutputItem[];
  readonly usage: ResponsesUsage | null;
  readonly error?: ResponseError;
  /** why a response is incomplete: `max_output_tokens` or `content_filter` */
  readonly incompleteReason?: string;
}

export function responseObject(identity: ResponseIdentity, state: ResponseState): ResponseObject {
  return {
    id: identity.id,
    object: 'response',
    created_at: identity.createdAt,
    status: state.status,
    error: state.error ?? null,
    incomplete_details: state.incompleteReason !== undefined ? { reason: state.incompleteReason } : null,
    model: identity.model,
    output: state.output,
    ...identity.echo,
    tools: [],
    previous_response_id: null,
    store: false,
    background: false,
    truncation: 'disabled',
    usage: state.usage,
  };
}
