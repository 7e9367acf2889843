/**
 * The request body as it goes to one shard, and the copy the orchestrator keeps of it to send it again: to another
 * shard after a pool refusal, or to the owning shard after a misdirect. Nothing here reads the body: the copy only
 * holds what the shard consumed.
 *
 * @module
 */

/** Releases a body: whatever it buffered is freed and, once every branch is gone, the client's upload is not read further. */
export function release(body: ReadableStream<Uint8Array> | null): void {
  body?.cancel().catch(() => undefined);
}

/**
 * `body` as it streams to the shard, counted: once more than `bound` bytes have passed, `onOverflow` runs (once), so
 * the copy kept for a second send is dropped instead of growing with the upload.
 */
function counted(body: ReadableStream<Uint8Array>, bound: number, onOverflow: () => void): ReadableStream<Uint8Array> {
  let size = 0;
  let overflowed = false;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (!overflowed && size > bound) {
          overflowed = true;
          onOverflow();
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/** One shard's branch of the body, and the copy kept beside it. */
export interface BodyCopy {
  /** what the shard reads: the body itself when no copy is kept; null for a request without a body */
  readonly sent: ReadableStream<Uint8Array> | null;
  /** whether the request can still be sent again: it has no body, or the copy is still held */
  replayable(): boolean;
  /** the copy, handed over for the next send (a bodyless request's is null); the copy is no longer held here */
  take(): ReadableStream<Uint8Array> | null;
  /** lets go of the copy */
  release(): void;
}

/**
 * Splits `body` into the branch a shard reads and, when `keep` is set, a copy (a tee). The copy is dropped once the
 * shard has read more than `bound` bytes: an isolate has 128 MB and serves several requests at once, so such a body
 * goes to that one shard alone.
 */
export function copyBody(body: ReadableStream<Uint8Array> | null, keep: boolean, bound: number): BodyCopy {
  if (body === null) return { sent: null, replayable: () => true, take: () => null, release: () => undefined };
  if (!keep) return { sent: body, replayable: () => false, take: () => null, release: () => undefined };
  const [branch, kept] = body.tee();
  let copy: ReadableStream<Uint8Array> | null = kept;
  const drop = (): void => {
    release(copy);
    copy = null;
  };
  return {
    sent: counted(branch, bound, drop),
    replayable: () => copy !== null,
    take: () => {
      const taken = copy;
      copy = null;
      return taken;
    },
    release: drop,
  };
}
