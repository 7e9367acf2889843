/**
 * The orchestrator's whole behaviour as one function over injected backends, randomness, time and logging, so it
 * runs unchanged in workerd (behind `index.ts`) and in unit tests.
 *
 * @module
 */
import { REPLAY_MAX_BYTES } from '../shared/contract';
import { corsHeaders } from '../shared/cors';
import { jsonError } from '../shared/http';
import { isPoolRefusal } from '../shared/pool-refusal';
import { REQUEST_ID_HEADER, requestIdOf } from '../shared/request-id';
import { shardWeights, type Backend, type BoundBackend } from './backends';
import { shardOrder, type RandomSource } from './pick';
import { STATUS_PATH, statusRequest } from './status';

export interface RouteDeps {
  readonly random: RandomSource;
  /** milliseconds; only differences are used */
  readonly now: () => number;
  readonly randomUUID: () => string;
  /** receives exactly one JSON line per request */
  readonly log: (line: string) => void;
  /** shards one request may try while shards refuse from their own key pool (1 = never re-route) */
  readonly attempts: number;
  /** deadline for a shard's response headers */
  readonly timeoutMs: number;
  /** runs `onExpire` after `ms` unless the returned cancel function is called first */
  readonly startTimer: (ms: number, onExpire: () => void) => () => void;
  /** the `SHARD_KEY_COUNTS` binding as bound (see {@link shardWeights}); absent means uniform, noted in the log */
  readonly shardKeyCounts?: unknown;
}

/** The orchestrator's log line; never holds a header or body value, so no key or password can reach the logs. */
export interface OrchestratorLogLine {
  readonly event: 'orchestrator_request';
  readonly requestId: string;
  /** only on `GET /zen/status`, which asks every shard instead of one */
  readonly route?: 'zen.status';
  /** n of the `BACKEND_SERVICE_<n>` that produced the answer (or failed); absent when none is bound */
  readonly shard?: number;
  readonly status: number;
  /** time until the shard's response headers (a stream may go on much longer) */
  readonly ms: number;
  /** shards tried, only when more than one was */
  readonly attempts?: number;
  readonly error?: 'no_backend' | 'shard_error' | 'shard_timeout' | 'invalid_query';
  /** only when shards were drawn uniformly because `SHARD_KEY_COUNTS` was missing or malformed */
  readonly shardKeyCounts?: 'missing' | 'malformed';
  /** status view only: shards asked, and of those, shards that answered with their view */
  readonly queried?: number;
  readonly answered?: number;
}

/** A shard's pool refusal held back while other shards are tried. */
interface Refused {
  readonly shard: number;
  readonly response: Response;
}

/** `retry-after` in seconds; a refusal without one (no usable key) ranks last. */
function retryAfter(response: Response): number {
  const seconds = Number(response.headers.get('retry-after') ?? Number.NaN);
  return Number.isFinite(seconds) ? seconds : Number.POSITIVE_INFINITY;
}

/** Drops a response the client will never see, so its shard's stream is released. */
function discard(response: Response): void {
  response.body?.cancel().catch(() => undefined);
}

/** Releases the replay copy of the body: whatever it buffered is freed and the client's upload is not read further. */
function release(body: ReadableStream<Uint8Array> | null): void {
  body?.cancel().catch(() => undefined);
}

/**
 * A refusal read to its end (a few hundred bytes the shard wrote itself). Finishing it ends the refusing shard's
 * subrequest, which releases its branch of the teed body: until then workerd holds reads of the other branch, and
 * the next shard would wait for the body for ever.
 */
async function settled(response: Response): Promise<Response> {
  return new Response(await response.arrayBuffer(), response);
}

/** The refusal worth passing on: the one whose shard frees soonest, the later one on a tie. */
function preferred(held: Refused | undefined, next: Refused): Refused {
  if (held === undefined) return next;
  const [keep, drop] = retryAfter(next.response) <= retryAfter(held.response) ? [next, held] : [held, next];
  discard(drop.response);
  return keep;
}

/** `request` with `headers` and `body` instead of its own; a shard's redirect is passed back, never followed. */
function withBody(request: Request, headers: Headers, body: ReadableStream<Uint8Array> | null): Request {
  // `duplex` is what Node's Request needs for a stream body (the unit tests); workerd ignores it
  const init = { method: request.method, headers, body, redirect: 'manual' as const, duplex: 'half' as const };
  return new Request(request.url, init);
}

/**
 * `body` as it streams to the shard, counted: once more than `bound` bytes have passed, `onOverflow` runs (once), so
 * the copy kept for a re-route is dropped instead of growing with the upload.
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

type Outcome = { kind: 'response'; response: Response } | { kind: 'threw' } | { kind: 'timeout' };

async function callShard(backend: Backend, request: Request, deps: RouteDeps): Promise<Outcome> {
  let cancel: () => void = () => undefined;
  const deadline = new Promise<Outcome>((resolve) => {
    cancel = deps.startTimer(deps.timeoutMs, () => resolve({ kind: 'timeout' }));
  });
  const call = backend.fetch(request).then(
    (response): Outcome => ({ kind: 'response', response }),
    (): Outcome => ({ kind: 'threw' }),
  );
  try {
    return await Promise.race([call, deadline]);
  } finally {
    cancel();
  }
}

/**
 * Forwards `request` to one shard drawn at random in proportion to its key count, and returns the shard's response
 * untouched except for `x-request-id`. `GET /zen/status` is the exception: it asks every shard (see `./status`).
 *
 * Only a pool refusal (a 429/503 marked `x-zen-pool: exhausted`: the shard did no billable work) sends the request
 * on to another shard not tried yet, up to `attempts` shards; when every shard tried refuses, the refusal with the
 * smallest `retry-after` goes to the client as the shard sent it. Anything else is the answer: a shard's own status,
 * or, when the shard threw or hung past the deadline, a failure that is logged and answered with 502 / 504 and never
 * retried, because that shard may already have had Gemini do (and bill) the work.
 *
 * The request body streams through. When another shard may still be tried it is teed: the shard reads one branch and
 * the other keeps a copy of only what the shard consumed. A shard checks the credential and `content-length` before
 * reading, so an unauthenticated or oversized upload is refused while this worker holds nothing, and the copy is
 * released as soon as the answer is not a pool refusal.
 * The copy is also dropped once the shard has read more than `REPLAY_MAX_BYTES`: such a request goes to that shard
 * alone, and its pool refusal reaches the client as the shard sent it.
 */
export async function routeRequest(
  request: Request,
  backends: readonly BoundBackend[],
  deps: RouteDeps,
): Promise<Response> {
  if (request.method === 'GET' && new URL(request.url).pathname === STATUS_PATH) {
    return statusRequest(request, backends, deps);
  }
  const started = deps.now();
  const requestId = requestIdOf(request.headers, deps.randomUUID);
  const idHeader = { ...corsHeaders(), [REQUEST_ID_HEADER]: requestId };
  const { weights, fallback } = shardWeights(deps.shardKeyCounts, backends);
  const noted = fallback === undefined ? {} : { shardKeyCounts: fallback };
  const log = (line: Omit<OrchestratorLogLine, 'event' | 'requestId' | 'ms'>): void =>
    deps.log(JSON.stringify({ event: 'orchestrator_request', requestId, ...line, ...noted, ms: deps.now() - started }));

  if (backends.length === 0) {
    log({ status: 503, error: 'no_backend' });
    return jsonError(503, 'No backend shard is configured for this gateway', 'server_error', 'no_backend', idHeader);
  }

  const headers = new Headers(request.headers);
  headers.set(REQUEST_ID_HEADER, requestId);
  const order = shardOrder(weights, deps.attempts, deps.random);

  let body = request.body;
  let refused: Refused | undefined;
  for (const [attempt, position] of order.entries()) {
    const chosen = backends[position];
    // shardOrder draws positions among `weights`, one per backend, so this holds unless that contract breaks
    if (chosen === undefined) throw new Error(`shard position ${position} is outside the ${backends.length} backends`);
    const { index: shard, backend } = chosen;
    const tried = attempt > 0 ? { attempts: attempt + 1 } : {};
    let mayReplay = attempt < order.length - 1;
    let [sent, copy] = body !== null && mayReplay ? body.tee() : [body, null];
    if (sent !== null && copy !== null) {
      // a body over the replay bound goes to this shard alone: the copy would hold it all (an isolate has 128 MB)
      sent = counted(sent, REPLAY_MAX_BYTES, () => {
        release(copy);
        copy = null;
        mayReplay = false;
      });
    }
    const forwarded =
      attempt === 0 && copy === null
        ? new Request(request, { headers, redirect: 'manual' })
        : withBody(request, headers, sent);
    const outcome = await callShard(backend, forwarded, deps);

    if (outcome.kind === 'response') {
      if (outcome.response.status === 101) {
        // a WebSocket upgrade (a Live API session): a rebuilt response would drop its socket, and an upgrade has no
        // body to replay; the shard set x-request-id from the header forwarded to it
        release(copy);
        if (refused !== undefined) discard(refused.response);
        log({ shard, status: 101, ...tried });
        return outcome.response;
      }
      const response = new Response(outcome.response.body, outcome.response);
      response.headers.set(REQUEST_ID_HEADER, requestId);
      if (isPoolRefusal(response) && mayReplay) {
        refused = preferred(refused, { shard, response: await settled(response) });
        body = copy;
        continue;
      }
      release(copy);
      if (isPoolRefusal(response)) {
        // the last shard tried refused too: pass on whichever refusal frees soonest
        const chosen = preferred(refused, { shard, response });
        log({ shard: chosen.shard, status: chosen.response.status, ...tried });
        return chosen.response;
      }
      if (refused !== undefined) discard(refused.response);
      log({ shard, status: response.status, ...tried });
      return response;
    }

    // a failure: the shard may have spent a key's quota, so its error is the honest answer even after a refusal
    release(copy);
    if (refused !== undefined) discard(refused.response);
    if (outcome.kind === 'timeout') {
      log({ shard, status: 504, error: 'shard_timeout', ...tried });
      return jsonError(504, 'The backend shard did not answer in time', 'server_error', 'shard_timeout', idHeader);
    }
    log({ shard, status: 502, error: 'shard_error', ...tried });
    // the shard's exception stays in the shard's own Workers Logs; the client only learns that it failed
    return jsonError(
      502,
      'The backend shard failed to answer; retry the request',
      'server_error',
      'shard_error',
      idHeader,
    );
  }
  // only with attempts < 1: shardWeights always leaves a positive weight, so any other order holds a shard
  log({ status: 503, error: 'no_backend' });
  return jsonError(503, 'No backend shard is configured for this gateway', 'server_error', 'no_backend', idHeader);
}
