/**
 * The edge's fair-share check, run once the client is known and before anything of the body is read: a client that
 * `CLIENT_LIMITS` names asks its Durable Object (`./limiter-object.ts`, one per client name, shared by every isolate
 * of every shard) for one request, and one over its limit is refused with 429 and `retry-after`, in the surface's own
 * error shape, with nothing sent to Google. A client without a limit, and the operator (`PASS`), costs no call at all.
 *
 * A request is counted once wherever it goes: when this shard answers by sending it on (a misdirect to the shard that
 * owns what it names, or a pool refusal the orchestrator retries elsewhere), the request is given back before the
 * answer leaves, and the shard that serves it counts it.
 *
 * @module
 */
import {
  CLIENT_LIMITER_BINDING,
  CLIENT_LIMITS_BINDING,
  type ClientLimit,
  type ClientLimitsParse,
  MISDIRECTED_STATUS,
  parseClientLimits,
} from '../../shared/contract';
import { isPoolRefusal } from '../../shared/pool-refusal';
import type { ShardEnv } from '../edge/bindings';
import { misconfigured, Refusal } from '../edge/refusal';
import type { Admitted, HandlerDeps, Outcome } from '../surfaces/contract';
import { retryAfterSeconds } from './request-bucket';
import { type LimiterAnswer, REFUND_PATH, TAKE_PATH } from './limiter-object';

/** A matched route's `serve`, as the edge dispatches it. */
export type Serve = (a: Admitted, deps: HandlerDeps) => Promise<Outcome>;

/** The part of a Durable Object stub the gate uses. */
export interface LimiterStub {
  fetch(url: string, init: RequestInit): Promise<Response>;
}

/** The part of the `CLIENT_LIMITER` Durable Object namespace the gate uses. */
export interface LimiterNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): LimiterStub;
}

// the binding is read on every limited request; its text only changes with a deploy, so one parse per isolate
let parsedText: string | undefined;
let parsed: ClientLimitsParse = { ok: true, limits: {} };

function limitsOf(text: string | undefined): ClientLimitsParse {
  if (text !== parsedText) {
    parsed = parseClientLimits(text);
    parsedText = text;
  }
  return parsed;
}

function isNamespace(value: unknown): value is LimiterNamespace {
  const candidate = value as Partial<LimiterNamespace> | null | undefined;
  return typeof candidate?.idFromName === 'function' && typeof candidate.get === 'function';
}

function limiterCall(limit: ClientLimit): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(limit) };
}

/** The limiter's answer, or undefined when it could not give one (unreachable, or an answer it never sends). */
async function askLimiter(stub: LimiterStub, limit: ClientLimit): Promise<LimiterAnswer | undefined> {
  try {
    const response = await stub.fetch(`https://limiter${TAKE_PATH}`, limiterCall(limit));
    const answer = (await response.json()) as Partial<LimiterAnswer> | null;
    if (answer?.admitted === true) return { admitted: true };
    if (answer?.admitted === false && typeof answer.retryAfterMs === 'number') return answer as LimiterAnswer;
  } catch {
    // fall through: counted as no answer
  }
  return undefined;
}

function overLimit(limit: ClientLimit, retryAfterMs: number): Refusal {
  const rate = `${limit.rpm} request${limit.rpm === 1 ? '' : 's'} a minute`;
  return new Refusal(
    429,
    'client_rate_limited',
    `This client may send ${rate} (${limit.burst} at once); retry after the retry-after delay.`,
    { 'retry-after': retryAfterSeconds(retryAfterMs) },
  );
}

/** `serve`, giving the request back when its answer sends it on to another shard (where it is counted again). */
function givingBackWhenSentOn(serve: Serve, stub: LimiterStub, limit: ClientLimit): Serve {
  return async (a, deps) => {
    const outcome = await serve(a, deps);
    const { response } = outcome;
    if (response.status === MISDIRECTED_STATUS || isPoolRefusal(response)) {
      // best effort: a lost refund only leaves the client one request short for one interval
      await stub
        .fetch(`https://limiter${REFUND_PATH}`, limiterCall(limit))
        .then((r) => r.body?.cancel())
        .catch(() => undefined);
    }
    return outcome;
  };
}

/**
 * Counts the request of `client` when it has a limit: the `serve` to run (wrapped so a request sent on is given
 * back), or the refusal to answer with: 429 over the limit, 503 when the limiter cannot answer (a limited client is
 * never served uncounted), 500 when the limits binding is malformed or the namespace is not bound.
 */
export async function chargeClient(client: string, env: ShardEnv, serve: Serve): Promise<Serve | Refusal> {
  const bindings: Readonly<Record<string, unknown>> = env;
  const text = bindings[CLIENT_LIMITS_BINDING];
  if (text === undefined) return serve;
  const limits = limitsOf(typeof text === 'string' ? text : JSON.stringify(text));
  if (!limits.ok) return misconfigured(limits.problem);
  const limit = limits.limits[client];
  if (limit === undefined) return serve;
  const namespace = bindings[CLIENT_LIMITER_BINDING];
  if (!isNamespace(namespace)) {
    return misconfigured(
      `${CLIENT_LIMITS_BINDING} is set but the ${CLIENT_LIMITER_BINDING} Durable Object is not bound`,
    );
  }
  const stub = namespace.get(namespace.idFromName(client));
  const answer = await askLimiter(stub, limit);
  if (answer === undefined) {
    return new Refusal(503, 'client_limiter_unavailable', "This client's request limit could not be checked.", {
      'retry-after': '1',
    });
  }
  if (!answer.admitted) return overLimit(limit, answer.retryAfterMs);
  return givingBackWhenSentOn(serve, stub, limit);
}
