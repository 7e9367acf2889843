/**
 * Server-sent events passed through whole: where events end in a byte stream, and a stream that ends with an error
 * event instead of half an event when Google's connection breaks.
 */

import type { StreamTap } from './stream-meter';

const LF = 0x0a;
const CR = 0x0d;

/**
 * Finds where SSE events end in a byte stream fed chunk by chunk: after a blank line, in any of SSE's line endings
 * (LF LF, CRLF CRLF, LF CRLF, CR CR). It remembers the last two bytes, so a boundary split across chunks is found.
 */
export class EventBoundaries {
  private before1 = -1;
  private before2 = -1;

  /** The end (exclusive) of the last event boundary in `chunk`, or -1 when the chunk completes no event. */
  lastEnd(chunk: Uint8Array): number {
    let end = -1;
    let read = 0;
    // the byte before and the one before that, starting from the previous chunk's tail
    let p1 = this.before1;
    let p2 = this.before2;
    for (const b of chunk) {
      read++;
      if ((b === LF && (p1 === LF || (p1 === CR && p2 === LF))) || (b === CR && p1 === CR)) end = read;
      p2 = p1;
      p1 = b;
    }
    this.before1 = p1;
    this.before2 = p2;
    return end;
  }
}

/** Sends a chunk on, shown to the tap first. */
function passOn(controller: ReadableStreamDefaultController<Uint8Array>, chunk: Uint8Array, tap?: StreamTap): void {
  tap?.seen(chunk);
  controller.enqueue(chunk);
}

/** Thrown into `onError` when the upstream stream ended cleanly but inside an event, or with no event at all. */
export class StreamEndedMidEvent extends Error {}

/**
 * Passes an SSE body through event by event, unchanged, so a client only ever sees whole events. If the upstream
 * connection breaks mid-stream, or the stream ends without a blank line after its last event (or with no event at
 * all), the half-written event is dropped and the stream ends with one `data:` event carrying an error, so clients
 * raise that error instead of treating a truncated reply as complete (or choking on half a JSON object first). The
 * `openai` SDK and `@google/genai` both throw on a data event holding an `error` object. `tap`, when given, sees each
 * chunk passed on and how the stream ended (for its usage data point).
 */
export function sseWithErrorEvent(
  upstream: ReadableStream<Uint8Array>,
  errorEvent: string,
  onError: (e: unknown) => void,
  tap?: StreamTap,
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const encoder = new TextEncoder();
  const boundaries = new EventBoundaries();
  /** bytes of the event still being received, held back until it is complete */
  let held: Uint8Array[] = [];
  let receivedAny = false;
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, e: unknown): void => {
    tap?.ended('cut');
    onError(e);
    controller.enqueue(encoder.encode(`data: ${errorEvent}\n\n`));
    controller.close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        // a pull that enqueues nothing is not called again, so read on until an event is complete
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            // line breaks alone after the last event are a blank line too
            const unfinished = held.some((chunk) => chunk.some((b) => b !== LF && b !== CR));
            if (!receivedAny || unfinished) fail(controller, new StreamEndedMidEvent());
            else {
              tap?.ended('complete');
              controller.close();
            }
            return;
          }
          if (value.byteLength === 0) continue;
          receivedAny = true;
          const end = boundaries.lastEnd(value);
          if (end === -1) {
            held.push(value);
            continue;
          }
          for (const chunk of [...held, value.subarray(0, end)]) passOn(controller, chunk, tap);
          held = end < value.byteLength ? [value.subarray(end)] : [];
          return;
        }
      } catch (e) {
        fail(controller, e);
      }
    },
    cancel(reason) {
      tap?.ended('cancelled');
      return reader.cancel(reason);
    },
  });
}
