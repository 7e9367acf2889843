/**
 * Gemini's `streamGenerateContent?alt=sse` body as the Responses API's event stream, translated as Gemini's chunks
 * arrive (see `../../core/translated-stream`): `response.created` and `response.in_progress` go out at once, and
 * every event carries its `sequence_number`. A reply that cannot be completed ends with `error` and `response.failed`,
 * so clients raise an error (Codex retries it) instead of taking a truncated reply for a whole one.
 */
import { type StreamDialect, type TranslatedStreamHooks, translatedStream } from '../../core/translated-stream';
import { responsesFailure } from './errors';
import { type ReplyOptions, ResponsesTranslator } from './reply-translation';
import type { ResponsesFailure, ResponsesStreamEvent } from './responses-types';

export interface StreamTranslationOptions extends ReplyOptions, TranslatedStreamHooks {}

/** The Responses stream: each event with the next sequence number, a failure as `error` and `response.failed`. */
function responsesDialect(translator: ResponsesTranslator): StreamDialect<ResponsesFailure> {
  let sequence = 0;
  const encode = (events: readonly ResponsesStreamEvent[]): string => {
    let text = '';
    for (const event of events) {
      text += `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: sequence++ })}\n\n`;
    }
    return text;
  };
  return {
    opening: () => encode(translator.start()),
    push: (chunk) => encode(translator.push(chunk)),
    get failed() {
      return translator.failed;
    },
    finish: () => {
      const end = translator.finish();
      return Array.isArray(end) ? encode(end) : end;
    },
    failureText: (failure) => encode(translator.failedEvents(failure)),
    failure: (code, message) => responsesFailure(502, code, message),
    messageOf: (failure) => failure.message,
    get lastUsage() {
      return translator.lastUsage;
    },
  };
}

/** Translates a Gemini SSE body into a Responses event stream (`content-type: text/event-stream`). */
export function responsesStreamFromGemini(
  upstream: ReadableStream<Uint8Array>,
  o: StreamTranslationOptions,
): ReadableStream<Uint8Array> {
  return translatedStream(upstream, responsesDialect(new ResponsesTranslator(o)), o);
}
