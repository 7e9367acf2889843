/**
 * Gemini's replies (`GenerateContentResponse`, whole or one stream chunk at a time) as the Responses API's stream
 * events and response object. One translator serves both: a stream is translated chunk by chunk as each chunk
 * arrives, and a whole reply is the same events, of which the last carries the response; so both forms agree.
 *
 * Finish reasons: STOP → `completed`; MAX_TOKENS → `incomplete` (`max_output_tokens`); Google's safety and policy
 * stops, and a blocked prompt → `incomplete` (`content_filter`); any other (a malformed function call, OTHER, …) means
 * the reply is not usable, and is answered as an error the client may retry (a `server_error`, which Codex retries).
 */
import { isJsonObject } from '../../../shared/json';
import { googleErrorOf } from '../../core/key-faults';
import { redact } from '../../core/redaction';
import { REFUSALS } from '../anthropic/reply-translation';
import { responsesFailure, streamErrorCode } from './errors';
import type { FunctionNames } from './function-names';
import type { GeminiPart, GeminiUsage } from './gemini-request';
import { OutputItems } from './output-items';
import { isCarriedPart } from './reasoning-carrier';
import { type ResponseIdentity, type ResponseState, responseObject, responsesUsage } from './response-object';
import type { ResponseObject, ResponsesFailure, ResponsesStreamEvent } from './responses-types';

export interface ReplyOptions extends ResponseIdentity {
  /** the request's functions, to name Gemini's calls as the client declared them */
  readonly names: FunctionNames;
  /** redacted from any error text Google sends inside a reply */
  readonly secrets?: readonly string[];
}

type Json = Record<string, unknown>;
type Events = ResponsesStreamEvent[];

/** How the reply ended, once Gemini said so. */
type Ending = { readonly status: 'completed' } | { readonly status: 'incomplete'; readonly reason: string };

export class ResponsesTranslator {
  private readonly output: OutputItems;
  private usage: GeminiUsage | undefined;
  private sawCandidate = false;
  private finishReason: string | undefined;
  private finishMessage: string | undefined;
  private blockReason: string | undefined;
  private failure: ResponsesFailure | undefined;

  constructor(private readonly o: ReplyOptions) {
    this.output = new OutputItems(o.id.replace(/^resp_/, ''), o.names);
  }

  /** Set once the reply turned out unusable; no further events are produced. */
  get failed(): ResponsesFailure | undefined {
    return this.failure;
  }

  /** The last `usageMetadata` Gemini sent (a stream's last chunk carries the reply's totals), for metering. */
  get lastUsage(): GeminiUsage | undefined {
    return this.usage;
  }

  /** `response.created` and `response.in_progress`, sent as soon as Google has begun to answer. */
  start(): Events {
    const response = this.response({ status: 'in_progress', usage: null });
    return [
      { type: 'response.created', response },
      { type: 'response.in_progress', response },
    ];
  }

  /** The events one Gemini chunk (or a whole reply) adds. */
  push(chunk: unknown): Events {
    if (this.failure) return [];
    if (!isJsonObject(chunk)) {
      this.failure = responsesFailure(
        502,
        'upstream_invalid_response',
        'Gemini sent a reply that is not a JSON object.',
      );
      return [];
    }
    const google = googleErrorOf(chunk);
    if (google) {
      const status = google.code !== undefined && google.code >= 400 && google.code <= 599 ? google.code : 502;
      const message = redact(google.message ?? 'no message', this.o.secrets ?? []);
      this.failure = responsesFailure(
        status,
        google.status ?? 'upstream_error',
        `Gemini ${google.status ?? `HTTP ${status}`}: ${message}`,
      );
      return [];
    }
    if (isJsonObject(chunk.usageMetadata)) this.usage = chunk.usageMetadata as GeminiUsage;
    const feedback = chunk.promptFeedback;
    if (isJsonObject(feedback) && typeof feedback.blockReason === 'string') this.blockReason = feedback.blockReason;
    const candidate = Array.isArray(chunk.candidates) ? chunk.candidates[0] : undefined;
    if (!isJsonObject(candidate)) return [];
    this.sawCandidate = true;
    const events: Events = [];
    const content = candidate.content;
    const parts = isJsonObject(content) && Array.isArray(content.parts) ? content.parts : [];
    for (const part of parts) if (isJsonObject(part)) this.part(part, events);
    if (typeof candidate.finishReason === 'string') this.finishReason = candidate.finishReason;
    if (typeof candidate.finishMessage === 'string') this.finishMessage = candidate.finishMessage;
    return events;
  }

  /** The closing events once Gemini's reply has ended (the last carries the response), or why it is unusable. */
  finish(): Events | ResponsesFailure {
    if (this.failure) return this.failure;
    const ending = this.ending();
    if ('ok' in ending) {
      this.failure = ending;
      return ending;
    }
    const events: Events = [];
    this.output.close(ending.status, events);
    const usage = responsesUsage(this.usage);
    if (ending.status === 'completed') {
      events.push({ type: 'response.completed', response: this.response({ status: 'completed', usage }) });
    } else {
      const response = this.response({ status: 'incomplete', usage, incompleteReason: ending.reason });
      events.push({ type: 'response.incomplete', response });
    }
    return events;
  }

  /** The events that end a stream that failed: OpenAI's `error`, then `response.failed` with what was done. */
  failedEvents(failure: ResponsesFailure): Events {
    const error = { code: streamErrorCode(failure.status), message: failure.message };
    const usage = this.usage === undefined ? null : responsesUsage(this.usage);
    return [
      { type: 'error', ...error, param: null },
      { type: 'response.failed', response: this.response({ status: 'failed', usage, error }) },
    ];
  }

  private response(state: Omit<ResponseState, 'output'>): ResponseObject {
    return responseObject(this.o, { ...state, output: [...this.output.items] });
  }

  private ending(): Ending | ResponsesFailure {
    const finish = this.finishReason;
    if (finish === undefined && this.blockReason !== undefined)
      return { status: 'incomplete', reason: 'content_filter' };
    if (finish === undefined) {
      return responsesFailure(
        502,
        'upstream_incomplete_reply',
        this.sawCandidate
          ? 'Gemini ended its reply without a finish reason, so the reply is incomplete; retry the request.'
          : 'Gemini answered without any candidate reply; retry the request.',
      );
    }
    if (finish === 'STOP') return { status: 'completed' };
    if (finish === 'MAX_TOKENS') return { status: 'incomplete', reason: 'max_output_tokens' };
    if (REFUSALS.has(finish)) return { status: 'incomplete', reason: 'content_filter' };
    const detail = this.finishMessage === undefined ? '' : ` (${redact(this.finishMessage, this.o.secrets ?? [])})`;
    return responsesFailure(
      502,
      'upstream_unusable_reply',
      `Gemini stopped the reply with finishReason ${finish}${detail}, so the reply is not usable; retry the request.`,
    );
  }

  private part(part: Json, events: Events) {
    const signature =
      typeof part.thoughtSignature === 'string' && part.thoughtSignature !== '' ? part.thoughtSignature : undefined;
    const text = typeof part.text === 'string' ? part.text : undefined;
    if (part.thought === true && text !== undefined) return this.output.thought(text, signature, events);
    const call = part.functionCall;
    if (isJsonObject(call) && typeof call.name === 'string') {
      const args = isJsonObject(call.args) ? call.args : {};
      const id = typeof call.id === 'string' && call.id !== '' ? { id: call.id } : {};
      return this.output.call({ name: call.name, args, ...id }, signature, events);
    }
    if (isCarriedPart(part)) return this.output.carry(part as GeminiPart, events);
    if (text === undefined) return; // inline images and other parts: nothing the Responses format holds
    if (text === '') {
      if (signature !== undefined) this.output.signatureOnly(signature);
      return;
    }
    this.output.text(text, signature, events);
  }
}

/** The response a sequence of events ends in (what a client makes of a stream), for whole replies and tests. */
export function finalResponse(events: readonly ResponsesStreamEvent[]): ResponseObject | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i];
    if (event !== undefined && 'response' in event) return event.response;
  }
  return undefined;
}

export type ReplyTranslation = { readonly ok: true; readonly response: ResponseObject } | ResponsesFailure;

/** A whole (non-streamed) Gemini reply as a response object. */
export function responseFromGemini(reply: unknown, o: ReplyOptions): ReplyTranslation {
  const translator = new ResponsesTranslator(o);
  translator.push(reply);
  const end = translator.finish();
  if (!Array.isArray(end)) return end;
  const response = finalResponse(end);
  return response
    ? { ok: true, response }
    : responsesFailure(502, 'upstream_invalid_response', 'Gemini sent an empty reply.');
}
