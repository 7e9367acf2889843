/**
 * The orchestrator's whole behaviour as one function over injected backends, randomness, time and logging, so it
 * runs unchanged in workerd (behind `index.ts`) and in unit tests.
 *
 * @module
 */
import { corsHeaders } from '../shared/cors';
import { jsonError } from '../shared/http';
import { isPoolRefusal } from '../shared/pool-refusal';
import type { Backend, BoundBackend } from './backends';
import { shardOrder, type RandomSource } from './pick';
import { REQUEST_ID_HEADER, requestIdOf } from '../shared/request-id';

export interface RouteDeps {
  readonly random: RandomSource;
  /** milliseconds; only differences are used */
  readonly now: () => number;
  readonly randomUUID: () => string;
  /** receives exactly one JSON line per request */
  readonly log: (line: string) => void;
  /** shards one request may try when a shard throws or refuses from its key pool (1 = no retry) */
  readonly attempts: number;
  /** deadline for a shard's response headers */
  readonly timeoutMs: number;
  /** runs `onExpire` after `ms` unless the returned cancel function is called first */
  readonly startTimer: (ms: number, onExpire: () => void) => () => void;
}

/** The orchestrator's log line; never holds a header or body value, so no key or password can reach the logs. */
export interface OrchestratorLogLine {
  readonly event: 'orchestrator_request';
  readonly requestId: string;
  /** n of the `BACKEND_SERVICE_<n>` that produced the answer (or failed last); absent when none is bound */
  readonly shard?: number;
  readonly status: number;
  /** time until the shard's response headers (a stream may go on much longer) */
  readonly ms: number;
  /** shards tried, only when more than one was */
  readonly attempts?: number;
  readonly error?: 'no_backend' | 'shard_error' | 'shard_timeout';
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

/** The refusal worth passing on: the one whose shard frees soonest, the later one on a tie. */
function preferred(held: Refused | undefined, next: Refused): Refused {
  if (held === undefined) return next;
  const [keep, drop] = retryAfter(next.response) <= retryAfter(held.response) ? [next, held] : [held, next];
  discard(drop.response);
  return keep;
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
 * Forwards `request` to one uniformly chosen shard and returns its response untouched except for `x-request-id`.
 *
 * Both bodies are streams passed through as they are; the request body is read into memory only when
 * `attempts > 1`, because a retry has to send it again. A retry happens only when the shard threw (it never produced
 * a response) or refused from its own key pool (a 429/503 marked `x-zen-pool: exhausted`: no billable upstream work),
 * never on another error status or a timeout: those may mean Gemini already did, and billed, the work. When every
 * shard tried refuses, the refusal with the smallest `retry-after` is returned as the shard sent it.
 */
export async function routeRequest(
  request: Request,
  backends: readonly BoundBackend[],
  deps: RouteDeps,
): Promise<Response> {
  const started = deps.now();
  const requestId = requestIdOf(request.headers, deps.randomUUID);
  const idHeader = { ...corsHeaders(), [REQUEST_ID_HEADER]: requestId };
  const log = (line: Omit<OrchestratorLogLine, 'event' | 'requestId' | 'ms'>): void =>
    deps.log(JSON.stringify({ event: 'orchestrator_request', requestId, ...line, ms: deps.now() - started }));

  if (backends.length === 0) {
    log({ status: 503, error: 'no_backend' });
    return jsonError(503, 'No backend shard is configured for this gateway', 'server_error', 'no_backend', idHeader);
  }

  const headers = new Headers(request.headers);
  headers.set(REQUEST_ID_HEADER, requestId);
  const order = shardOrder(backends.length, deps.attempts, deps.random);
  const replayable = order.length > 1 && request.body !== null ? await request.arrayBuffer() : undefined;
  const forwarded = (): Request =>
    replayable === undefined
      ? new Request(request, { headers, redirect: 'manual' })
      : new Request(request.url, { method: request.method, headers, body: replayable, redirect: 'manual' });

  let shard = -1;
  let refused: Refused | undefined;
  for (const [attempt, position] of order.entries()) {
    const bound = backends[position] as BoundBackend;
    shard = bound.index;
    const outcome = await callShard(bound.backend, forwarded(), deps);
    const tried = attempt > 0 ? { attempts: attempt + 1 } : {};
    if (outcome.kind === 'response') {
      const response = new Response(outcome.response.body, outcome.response);
      response.headers.set(REQUEST_ID_HEADER, requestId);
      if (isPoolRefusal(response)) {
        refused = preferred(refused, { shard, response });
        continue;
      }
      if (refused !== undefined) discard(refused.response);
      log({ shard, status: response.status, ...tried });
      return response;
    }
    if (outcome.kind === 'timeout') {
      // the stuck shard may be spending a key's quota, so its 504 is the honest answer even after a refusal
      if (refused !== undefined) discard(refused.response);
      log({ shard, status: 504, error: 'shard_timeout', ...tried });
      return jsonError(504, 'The backend shard did not answer in time', 'server_error', 'shard_timeout', idHeader);
    }
  }
  const attempts = order.length > 1 ? { attempts: order.length } : {};
  if (refused !== undefined) {
    // a refusal tells the client when to come back; a thrown shard's 502 would not
    log({ shard: refused.shard, status: refused.response.status, ...attempts });
    return refused.response;
  }
  log({ shard, status: 502, error: 'shard_error', ...attempts });
  // the shard's exception stays in the shard's own Workers Logs; the client only learns that it failed
  return jsonError(502, 'The backend shard failed to answer; retry the request', 'server_error', 'shard_error', idHeader);
}
