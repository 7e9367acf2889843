/**
 * Gemini's `streamGenerateContent?alt=sse` body as the Responses API's event stream, translated as Gemini's chunks
 * arrive: `response.created` and `response.in_progress` go out at once, and each read from Google that completes an
 * event is answered with the events it adds; nothing is held back for the end. Every event carries its
 * `sequence_number`. A reply that cannot be completed (the connection broke, the stream ended inside an event or
 * before Gemini's last chunk, Gemini sent an error or an unusable finish reason) ends with `error` and
 * `response.failed`, so clients raise an error (Codex retries it) instead of taking a truncated reply for a whole one.
 */
import { SseDataDecoder } from '../../core/sse-decoder';
import type { StreamEnd, StreamMeter } from '../../core/stream-meter';
import { geminiTokens } from '../../core/usage-tokens';
import { responsesFailure } from './errors';
import { type ReplyOptions, ResponsesTranslator } from './reply-translation';
import type { ResponsesFailure, ResponsesStreamEvent } from './responses-types';

export interface StreamTranslationOptions extends ReplyOptions {
  /** called once when the stream ends in failure (for the log line; the reason never reaches the client) */
  readonly onError?: (reason: unknown) => void;
  /** told how the stream ended and Gemini's last usage, for the request's data point */
  readonly meter?: StreamMeter;
}

/** Why a stream failed, for `onError` (the client gets the failure's message). */
export class UpstreamStreamFailure extends Error {}

const CUT_MESSAGE = 'The connection to Gemini broke before the reply was complete; retry the request.';

const encoder = new TextEncoder();

type Controller = ReadableStreamDefaultController<Uint8Array>;

/** One translated stream, as its pulls share it. */
class Translation {
  readonly decoder = new SseDataDecoder();
  readonly translator: ResponsesTranslator;
  private sequence = 0;
  /** the stream was closed (its end or its failure sent) or cancelled: nothing more is read or sent */
  finished = false;

  constructor(
    readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly o: StreamTranslationOptions,
  ) {
    this.translator = new ResponsesTranslator(o);
  }

  /** Events as sent on the wire, each with the next sequence number. */
  encode(events: readonly ResponsesStreamEvent[]): string {
    let text = '';
    for (const event of events) {
      text += `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: this.sequence++ })}\n\n`;
    }
    return text;
  }

  /** Feeds event payloads to the translator: the wire text they add, and the failure that stopped them, if any. */
  translate(payloads: readonly string[]): { text: string; failure?: ResponsesFailure } {
    let text = '';
    for (const payload of payloads) {
      let chunk: unknown;
      try {
        chunk = JSON.parse(payload);
      } catch {
        const failure = responsesFailure(
          502,
          'upstream_invalid_response',
          'Gemini sent a stream event that is not JSON; retry the request.',
        );
        return { text, failure };
      }
      text += this.encode(this.translator.push(chunk));
      const failure = this.translator.failed;
      if (failure) return { text, failure };
    }
    return { text };
  }

  /** The stream is over: its meter learns how it ended and Gemini's last usage. */
  ended(how: StreamEnd['how']): void {
    this.o.meter?.end(how, geminiTokens(this.translator.lastUsage));
  }

  /** Sends what was translated before a failure, then the failure's events, and closes the stream. */
  failAfter(controller: Controller, text: string, failure: ResponsesFailure, reason: unknown): void {
    this.finished = true;
    this.ended('cut');
    this.o.onError?.(reason);
    controller.enqueue(encoder.encode(text + this.encode(this.translator.failedEvents(failure))));
    controller.close();
  }

  /** Gemini's stream ended: sends the events its last bytes complete and the closing events, or the failure. */
  finish(controller: Controller) {
    const tail = this.decoder.end();
    const { text, failure } = this.translate(tail.events);
    if (failure) return this.failAfter(controller, text, failure, new UpstreamStreamFailure(failure.message));
    if (!tail.complete) {
      const cut = responsesFailure(502, 'upstream_interrupted', CUT_MESSAGE);
      return this.failAfter(controller, text, cut, new UpstreamStreamFailure('ended inside an event'));
    }
    const end = this.translator.finish();
    if (!Array.isArray(end)) return this.failAfter(controller, text, end, new UpstreamStreamFailure(end.message));
    this.finished = true;
    this.ended('complete');
    controller.enqueue(encoder.encode(text + this.encode(end)));
    controller.close();
  }

  /** Reads from Gemini until there is something to send, and sends it. */
  async pull(controller: Controller): Promise<void> {
    // a pull that enqueues nothing is not called again, so read on until there is something to send
    for (;;) {
      let read: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
      try {
        read = await this.reader.read();
      } catch (e) {
        return this.failAfter(controller, '', responsesFailure(502, 'upstream_interrupted', CUT_MESSAGE), e);
      }
      if (read.done) return this.finish(controller);
      const payloads = this.decoder.push(read.value);
      if (payloads.length === 0) continue;
      const { text, failure } = this.translate(payloads);
      if (failure) {
        await this.reader.cancel().catch(() => undefined);
        return this.failAfter(controller, text, failure, new UpstreamStreamFailure(failure.message));
      }
      if (text === '') continue;
      controller.enqueue(encoder.encode(text));
      return;
    }
  }
}

/** Translates a Gemini SSE body into a Responses event stream (`content-type: text/event-stream`). */
export function responsesStreamFromGemini(
  upstream: ReadableStream<Uint8Array>,
  o: StreamTranslationOptions,
): ReadableStream<Uint8Array> {
  const t = new Translation(upstream.getReader(), o);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(t.encode(t.translator.start())));
    },
    async pull(controller) {
      if (!t.finished) await t.pull(controller);
    },
    cancel(reason) {
      t.finished = true;
      t.ended('cancelled');
      return t.reader.cancel(reason);
    },
  });
}
