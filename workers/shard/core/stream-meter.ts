/**
 * What a surface hands the edge about its answer's tokens (`Usage`): known at once for a whole reply, or when its
 * stream ends. A streamed body reports through a {@link StreamMeter}: a surface that parses the stream anyway (the
 * Anthropic and Responses translations) gives it the last usage it saw; one that passes bytes through (the
 * OpenAI-compatible and native routes) taps the stream with {@link tailTap}, which keeps the stream's last bytes by
 * reference and reads their usage once, at the end.
 */
import { StreamTail, type TokenCounts } from './usage-tokens';

/** How a streamed body ended, with the tokens its last chunk reported. */
export interface StreamEnd {
  /** `complete`: Google's stream ended whole; `cut`: it broke off; `cancelled`: the client went away */
  readonly how: 'complete' | 'cut' | 'cancelled';
  readonly tokens?: TokenCounts;
}

/** What a surface reports of its answer's tokens: now, for a whole reply, or when its stream ends. */
export type Usage =
  | { readonly kind: 'whole'; readonly tokens?: TokenCounts }
  | { readonly kind: 'stream'; readonly ended: Promise<StreamEnd> };

/** A whole reply's usage, as a surface reports it. */
export function wholeUsage(tokens: TokenCounts | undefined): Usage {
  return tokens === undefined ? { kind: 'whole' } : { kind: 'whole', tokens };
}

/**
 * A streamed body's meter: the stream's wrapper reports, once, how it ended and the last usage it saw; the edge
 * writes the data point then.
 */
export class StreamMeter {
  readonly usage: Usage;
  private settle: ((end: StreamEnd) => void) | undefined;

  constructor() {
    const ended = new Promise<StreamEnd>((resolve) => {
      this.settle = resolve;
    });
    this.usage = { kind: 'stream', ended };
  }

  /** The stream ended; later calls are ignored (a cancel after the end, an error after a cut). */
  end(how: StreamEnd['how'], tokens?: TokenCounts): void {
    const settle = this.settle;
    this.settle = undefined;
    settle?.(tokens === undefined ? { how } : { how, tokens });
  }
}

/** What a stream passed through tells its meter: each chunk as it goes by, and how it ended. */
export interface StreamTap {
  readonly seen: (chunk: Uint8Array) => void;
  readonly ended: (how: StreamEnd['how']) => void;
}

/** A tap that keeps the stream's tail and, at its end, reports the last usage the tail holds. */
export function tailTap(meter: StreamMeter): StreamTap {
  const tail = new StreamTail();
  return {
    seen: (chunk) => tail.push(chunk),
    ended: (how) => meter.end(how, tail.tokens()),
  };
}

/** `body` passed through unchanged, each chunk shown to `tap` (for a stream no other wrapper reads). */
export function tappedStream(body: ReadableStream<Uint8Array>, tap: StreamTap): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          tap.ended('complete');
          controller.close();
          return;
        }
        tap.seen(value);
        controller.enqueue(value);
      } catch (e) {
        tap.ended('cut');
        controller.error(e);
      }
    },
    cancel(reason) {
      tap.ended('cancelled');
      return reader.cancel(reason);
    },
  });
}
