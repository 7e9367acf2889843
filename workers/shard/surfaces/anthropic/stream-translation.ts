/**
 * Gemini's `streamGenerateContent?alt=sse` body as Anthropic's Messages stream, translated as Gemini's chunks
 * arrive: each read from upstream that completes an event is answered with the Anthropic events it adds, nothing is
 * held back for the end. A reply that cannot be completed (the connection broke, the stream ended inside an event
 * or before Gemini's last chunk, Gemini sent an error or an unusable finish reason) ends with Anthropic's
 * `event: error`, so clients raise an error instead of taking a truncated reply for a whole one.
 */
import type { AnthropicFailure, AnthropicStreamEvent } from './anthropic-types';
import { anthropicErrorEvent, anthropicFailure } from './errors';
import { ReplyTranslator, type ReplyTranslationOptions } from './reply-translation';
import { SseDataDecoder } from '../../core/sse-decoder';

export interface StreamTranslationOptions extends ReplyTranslationOptions {
  /** called once when the stream ends in an error event (for the log line; the reason never reaches the client) */
  readonly onError?: (reason: unknown) => void;
}

/** Why a stream was cut, for `onError` (the client gets Anthropic's error body). */
export class UpstreamStreamCut extends Error {}

const CUT_MESSAGE = 'The connection to Gemini broke before the reply was complete; retry the request.';

/** One Anthropic SSE event as sent on the wire. */
export function encodeEvent(event: AnthropicStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Translates a Gemini SSE body into an Anthropic SSE body (`content-type: text/event-stream`). */
export function anthropicStreamFromGemini(
  upstream: ReadableStream<Uint8Array>,
  o: StreamTranslationOptions,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const encoder = new TextEncoder();
  const decoder = new SseDataDecoder();
  const translator = new ReplyTranslator(o);
  let finished = false;

  const fail = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    failure: AnthropicFailure,
    reason: unknown,
  ) => {
    finished = true;
    o.onError?.(reason);
    controller.enqueue(encoder.encode(anthropicErrorEvent(failure.body)));
    controller.close();
  };

  /** Feeds event payloads to the translator: the wire text they add, and the failure that stopped them, if any. */
  const translate = (payloads: readonly string[]): { text: string; failure?: AnthropicFailure } => {
    let text = '';
    for (const payload of payloads) {
      let chunk: unknown;
      try {
        chunk = JSON.parse(payload);
      } catch {
        return {
          text,
          failure: anthropicFailure(502, 'Gemini sent a stream event that is not JSON; retry the request.'),
        };
      }
      for (const event of translator.push(chunk)) text += encodeEvent(event);
      const failure = translator.failed;
      if (failure) return { text, failure };
    }
    return { text };
  };

  /** Sends what was translated before a failure, then the error event. */
  const failAfter = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    text: string,
    failure: AnthropicFailure,
    reason: unknown,
  ) => {
    if (text) controller.enqueue(encoder.encode(text));
    fail(controller, failure, reason);
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (finished) return;
      // a pull that enqueues nothing is not called again, so read on until there is something to send
      for (;;) {
        let read: Awaited<ReturnType<typeof reader.read>>;
        try {
          read = await reader.read();
        } catch (e) {
          fail(controller, anthropicFailure(502, CUT_MESSAGE), e);
          return;
        }
        if (read.done) {
          const tail = decoder.end();
          const { text, failure } = translate(tail.events);
          if (failure) return failAfter(controller, text, failure, new UpstreamStreamCut(failure.body.error.message));
          if (!tail.complete) {
            return failAfter(
              controller,
              text,
              anthropicFailure(502, CUT_MESSAGE),
              new UpstreamStreamCut('ended inside an event'),
            );
          }
          const end = translator.finish();
          if (!Array.isArray(end))
            return failAfter(controller, text, end, new UpstreamStreamCut(end.body.error.message));
          finished = true;
          controller.enqueue(encoder.encode(text + end.map(encodeEvent).join('')));
          controller.close();
          return;
        }
        const payloads = decoder.push(read.value);
        if (payloads.length === 0) continue;
        const { text, failure } = translate(payloads);
        if (failure) {
          await reader.cancel().catch(() => undefined);
          return failAfter(controller, text, failure, new UpstreamStreamCut(failure.body.error.message));
        }
        if (text === '') continue;
        controller.enqueue(encoder.encode(text));
        return;
      }
    },
    cancel(reason) {
      finished = true;
      return reader.cancel(reason);
    },
  });
}
