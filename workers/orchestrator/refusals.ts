/**
 * Shards' answers the client will not see, or not yet: pool refusals held back while other shards are tried, and the
 * ones dropped in favour of a better answer.
 *
 * @module
 */

/** A shard's pool refusal held back while other shards are tried. */
export interface Refused {
  readonly shard: number;
  readonly response: Response;
}

/** `retry-after` in seconds; a refusal without one (no usable key) ranks last. */
function retryAfter(response: Response): number {
  const seconds = Number(response.headers.get('retry-after') ?? Number.NaN);
  return Number.isFinite(seconds) ? seconds : Number.POSITIVE_INFINITY;
}

/** Drops a response the client will never see, so its shard's stream is released. */
export function discard(response: Response): void {
  response.body?.cancel().catch(() => undefined);
}

/**
 * A shard's own short answer (a refusal, a misdirect: a few hundred bytes it wrote itself) read to its end. Finishing
 * it ends that shard's subrequest, which releases its branch of the teed body: until then workerd holds reads of the
 * other branch, and the next shard would wait for the body for ever.
 */
export async function settled(response: Response): Promise<Response> {
  return new Response(await response.arrayBuffer(), response);
}

/** The refusal worth passing on: the one whose shard frees soonest, the later one on a tie. */
export function preferred(held: Refused | undefined, next: Refused): Refused {
  if (held === undefined) return next;
  const [keep, drop] = retryAfter(next.response) <= retryAfter(held.response) ? [next, held] : [held, next];
  discard(drop.response);
  return keep;
}
