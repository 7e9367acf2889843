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
import type { StreamEnd, StreamMeter } from '../../core/stream-meter';
import { geminiTokens } from '../../core/usage-tokens';

export interface StreamTranslationOptions extends ReplyTranslationOptions {
  /** called once when the stream ends in an error event (for the log line; the reason never reaches the client) */
  readonly onError?: (reason: unknown) => void;
  /** told how the stream ended and Gemini's last usage, for the request's data point */
  readonly meter?: StreamMeter;
}

/** Why a stream was cut, for `onError` (the client gets Anthropic's error body). */
export class UpstreamStreamCut extends Error {}

const CUT_MESSAGE = 'The connection to Gemini broke before the reply was complete; retry the request.';

/** One Anthropic SSE event as sent on the wire. */
export function encodeEvent(event: AnthropicStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

const encoder = new TextEncoder();

/** One translated stream, as its pulls share it. */
interface Translation {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly decoder: SseDataDecoder;
  readonly translator: ReplyTranslator;
  readonly onError: StreamTranslationOptions['onError'];
  readonly meter: StreamTranslationOptions['meter'];
  /** the stream was closed (its end or an error event sent) or cancelled: nothing more is read or sent */
  finished: boolean;
}

type Controller = ReadableStreamDefaultController<Uint8Array>;

/** Feeds event payloads to the translator: the wire text they add, and the failure that stopped them, if any. */
function translate(
  translator: ReplyTranslator,
  payloads: readonly string[],
): { text: string; failure?: AnthropicFailure } {
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
}

/** The stream is over: its meter learns how it ended and Gemini's last usage. */
function ended(t: Translation, how: StreamEnd['how']): void {
  t.meter?.end(how, geminiTokens(t.translator.lastUsage));
}

/** Sends what was translated before a failure, then the error event, and closes the stream. */
function failAfter(t: Translation, controller: Controller, text: string, failure: AnthropicFailure, reason: unknown) {
  if (text) controller.enqueue(encoder.encode(text));
  t.finished = true;
  ended(t, 'cut');
  t.onError?.(reason);
  controller.enqueue(encoder.encode(anthropicErrorEvent(failure.body)));
  controller.close();
}

/** Gemini's stream ended: sends the events its last bytes complete and Anthropic's closing events, or an error. */
function finish(t: Translation, controller: Controller) {
  const tail = t.decoder.end();
  const { text, failure } = translate(t.translator, tail.events);
  if (failure) return failAfter(t, controller, text, failure, new UpstreamStreamCut(failure.body.error.message));
  if (!tail.complete) {
    return failAfter(
      t,
      controller,
      text,
      anthropicFailure(502, CUT_MESSAGE),
      new UpstreamStreamCut('ended inside an event'),
    );
  }
  const end = t.translator.finish();
  if (!Array.isArray(end)) return failAfter(t, controller, text, end, new UpstreamStreamCut(end.body.error.message));
  t.finished = true;
  ended(t, 'complete');
  controller.enqueue(encoder.encode(text + end.map(encodeEvent).join('')));
  controller.close();
}

/** Reads from Gemini until there is something to send, and sends it. */
async function pull(t: Translation, controller: Controller): Promise<void> {
  // a pull that enqueues nothing is not called again, so read on until there is something to send
  for (;;) {
    let read: Awaited<ReturnType<typeof t.reader.read>>;
    try {
      read = await t.reader.read();
    } catch (e) {
      return failAfter(t, controller, '', anthropicFailure(502, CUT_MESSAGE), e);
    }
    if (read.done) return finish(t, controller);
    const payloads = t.decoder.push(read.value);
    if (payloads.length === 0) continue;
    const { text, failure } = translate(t.translator, payloads);
    if (failure) {
      await t.reader.cancel().catch(() => undefined);
      return failAfter(t, controller, text, failure, new UpstreamStreamCut(failure.body.error.message));
    }
    if (text === '') continue;
    controller.enqueue(encoder.encode(text));
    return;
  }
}

/** Translates a Gemini SSE body into an Anthropic SSE body (`content-type: text/event-stream`). */
export function anthropicStreamFromGemini(
  upstream: ReadableStream<Uint8Array>,
  o: StreamTranslationOptions,
): ReadableStream<Uint8Array> {
  const t: Translation = {
    reader: upstream.getReader(),
    decoder: new SseDataDecoder(),
    translator: new ReplyTranslator(o),
    onError: o.onError,
    meter: o.meter,
    finished: false,
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!t.finished) await pull(t, controller);
    },
    cancel(reason) {
      t.finished = true;
      ended(t, 'cancelled');
      return t.reader.cancel(reason);
    },
  });
}
