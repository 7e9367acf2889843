/**
 * Gemini's `streamGenerateContent?alt=sse` body as Anthropic's Messages stream, translated as Gemini's chunks arrive
 * (see `../../core/translated-stream`): a reply that cannot be completed ends with Anthropic's `event: error`, so
 * clients raise an error instead of taking a truncated reply for a whole one.
 */
import type { AnthropicFailure, AnthropicStreamEvent } from './anthropic-types';
import { anthropicErrorEvent, anthropicFailure } from './errors';
import { ReplyTranslator, type ReplyTranslationOptions } from './reply-translation';
import { type StreamDialect, type TranslatedStreamHooks, translatedStream } from '../../core/translated-stream';

export { UpstreamStreamCut } from '../../core/translated-stream';

export interface StreamTranslationOptions extends ReplyTranslationOptions, TranslatedStreamHooks {}

/** One Anthropic SSE event as sent on the wire. */
export function encodeEvent(event: AnthropicStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

const encodeEvents = (events: readonly AnthropicStreamEvent[]): string => events.map(encodeEvent).join('');

/** Anthropic's stream: its events as they are, and a failure as its `event: error`. */
function anthropicDialect(translator: ReplyTranslator): StreamDialect<AnthropicFailure> {
  return {
    opening: () => '',
    push: (chunk) => encodeEvents(translator.push(chunk)),
    get failed() {
      return translator.failed;
    },
    finish: () => {
      const end = translator.finish();
      return Array.isArray(end) ? encodeEvents(end) : end;
    },
    failureText: (failure) => anthropicErrorEvent(failure.body),
    failure: (_code, message) => anthropicFailure(502, message),
    messageOf: (failure) => failure.body.error.message,
    get lastUsage() {
      return translator.lastUsage;
    },
  };
}

/** Translates a Gemini SSE body into an Anthropic SSE body (`content-type: text/event-stream`). */
export function anthropicStreamFromGemini(
  upstream: ReadableStream<Uint8Array>,
  o: StreamTranslationOptions,
): ReadableStream<Uint8Array> {
  return translatedStream(upstream, anthropicDialect(new ReplyTranslator(o)), o);
}
