/**
 * Gemini's `streamGenerateContent?alt=sse` body as another API's event stream, translated as Gemini's chunks arrive:
 * each read from Google that completes an event is answered with the events it adds, nothing is held back for the
 * end. A reply that cannot be completed (the connection broke, the stream ended inside an event or before Gemini's
 * last chunk, Gemini sent an error or an unusable finish reason) ends with the API's own failure events, so clients
 * raise an error instead of taking a truncated reply for a whole one. The surfaces that translate (Anthropic's
 * Messages, OpenAI's Responses) each bring their dialect: their translator, and how their events and failures are
 * written on the wire.
 */
import { SseDataDecoder } from './sse-decoder';
import type { StreamEnd, StreamMeter } from './stream-meter';
import { geminiTokens } from './usage-tokens';

/** How one API's stream is written: its translator of Gemini's chunks and its wire text, failures of type `F`. */
export interface StreamDialect<F extends object> {
  /** the wire text sent as soon as the stream opens ('' for none) */
  opening(): string;
  /** the wire text of the events one parsed Gemini chunk adds */
  push(chunk: unknown): string;
  /** the failure the translator stopped on, if it did */
  readonly failed: F | undefined;
  /** Gemini's stream ended whole: the closing wire text, or the failure its end revealed */
  finish(): string | F;
  /** the wire text that ends a failed stream */
  failureText(failure: F): string;
  /** a failure the stream meets itself: a broken connection, or an event that is not JSON */
  failure(code: 'upstream_interrupted' | 'upstream_invalid_response', message: string): F;
  /** a failure's message, for the reason `onError` is given */
  messageOf(failure: F): string;
  /** the last `usageMetadata` Gemini sent, for the meter */
  readonly lastUsage: unknown;
}

export interface TranslatedStreamHooks {
  /** called once when the stream ends in failure (for the log line; the reason never reaches the client) */
  readonly onError?: (reason: unknown) => void;
  /** told how the stream ended and Gemini's last usage, for the request's data point */
  readonly meter?: StreamMeter;
}

/** Why a translated stream failed, for `onError` (the client gets the failure in its API's terms). */
export class UpstreamStreamCut extends Error {}

const CUT_MESSAGE = 'The connection to Gemini broke before the reply was complete; retry the request.';
const NOT_JSON_MESSAGE = 'Gemini sent a stream event that is not JSON; retry the request.';

const encoder = new TextEncoder();

type Controller = ReadableStreamDefaultController<Uint8Array>;

/** One translated stream, as its pulls share it. */
class Translation<F extends object> {
  readonly decoder = new SseDataDecoder();
  /** the stream was closed (its end or its failure sent) or cancelled: nothing more is read or sent */
  finished = false;

  constructor(
    readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    private readonly dialect: StreamDialect<F>,
    private readonly hooks: TranslatedStreamHooks,
  ) {}

  /** Feeds event payloads to the translator: the wire text they add, and the failure that stopped them, if any. */
  translate(payloads: readonly string[]): { text: string; failure?: F } {
    let text = '';
    for (const payload of payloads) {
      let chunk: unknown;
      try {
        chunk = JSON.parse(payload);
      } catch {
        return { text, failure: this.dialect.failure('upstream_invalid_response', NOT_JSON_MESSAGE) };
      }
      text += this.dialect.push(chunk);
      const failure = this.dialect.failed;
      if (failure) return { text, failure };
    }
    return { text };
  }

  /** The stream is over: its meter learns how it ended and Gemini's last usage. */
  ended(how: StreamEnd['how']): void {
    this.hooks.meter?.end(how, geminiTokens(this.dialect.lastUsage));
  }

  /** Sends what was translated before a failure, then the failure's events, and closes the stream. */
  failAfter(controller: Controller, text: string, failure: F, reason: unknown): void {
    this.finished = true;
    this.ended('cut');
    this.hooks.onError?.(reason);
    controller.enqueue(encoder.encode(text + this.dialect.failureText(failure)));
    controller.close();
  }

  /** A failure of Gemini's stream itself, with its message as the reason. */
  failWith(controller: Controller, text: string, failure: F): void {
    this.failAfter(controller, text, failure, new UpstreamStreamCut(this.dialect.messageOf(failure)));
  }

  /** Gemini's stream ended: sends the events its last bytes complete and the closing events, or the failure. */
  finish(controller: Controller) {
    const tail = this.decoder.end();
    const { text, failure } = this.translate(tail.events);
    if (failure) return this.failWith(controller, text, failure);
    if (!tail.complete) {
      const cut = this.dialect.failure('upstream_interrupted', CUT_MESSAGE);
      return this.failAfter(controller, text, cut, new UpstreamStreamCut('ended inside an event'));
    }
    const end = this.dialect.finish();
    if (typeof end !== 'string') return this.failWith(controller, text, end);
    this.finished = true;
    this.ended('complete');
    controller.enqueue(encoder.encode(text + end));
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
        return this.failAfter(controller, '', this.dialect.failure('upstream_interrupted', CUT_MESSAGE), e);
      }
      if (read.done) return this.finish(controller);
      const payloads = this.decoder.push(read.value);
      if (payloads.length === 0) continue;
      const { text, failure } = this.translate(payloads);
      if (failure) {
        await this.reader.cancel().catch(() => undefined);
        return this.failWith(controller, text, failure);
      }
      if (text === '') continue;
      controller.enqueue(encoder.encode(text));
      return;
    }
  }
}

/** Translates a Gemini SSE body with `dialect` into that API's event stream (`content-type: text/event-stream`). */
export function translatedStream<F extends object>(
  upstream: ReadableStream<Uint8Array>,
  dialect: StreamDialect<F>,
  hooks: TranslatedStreamHooks,
): ReadableStream<Uint8Array> {
  const t = new Translation(upstream.getReader(), dialect, hooks);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const opening = dialect.opening();
      if (opening !== '') controller.enqueue(encoder.encode(opening));
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
