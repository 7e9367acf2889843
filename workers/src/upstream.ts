/**
 * Sends one client request to Google on a pool key, failing over to another key when the first is rate limited or
 * rejected. Only key faults fail over; the response is handed back before any byte reaches the client, so a stream
 * that has begun is never replayed.
 */
import type { PoolKey } from './config';
import type { KeyPool } from './key-pool';
import type { Logger } from './log';
import { googleErrorOf, keyFaultOf } from './quota';

/** Attempts per request, first try included; each is a subrequest, and Workers Free allows 50. */
export const MAX_ATTEMPTS = 3;

export interface UpstreamDeps {
  readonly fetch: (url: string, init: RequestInit) => Promise<Response>;
  readonly now: () => number;
  readonly random: () => number;
  readonly log: Logger;
  readonly pool: KeyPool;
}

export interface UpstreamRequest {
  readonly requestId: string;
  readonly url: string;
  readonly method: 'GET' | 'POST';
  /** headers without any credential; the pool key is added per attempt */
  readonly headers: Headers;
  readonly body?: Uint8Array | string;
  /** how Google expects the key on this surface */
  readonly keyStyle: 'bearer' | 'goog-header';
  /** cooldown scope: the model id, or ANY_MODEL */
  readonly model: string;
  readonly keys: readonly PoolKey[];
  readonly timeoutMs: number;
}

export type UpstreamResult =
  /** Google answered with something to give the client (success, or an error that is not the key's fault) */
  | { readonly kind: 'response'; readonly response: Response; readonly keyIndex: number; readonly attempts: number; readonly errorText?: string }
  /** every attempt hit a key fault, or no key was available to try */
  | { readonly kind: 'keys-failed'; readonly attempts: number; readonly keyIndex?: number; readonly upstreamStatus?: number }
  | { readonly kind: 'timeout'; readonly attempts: number; readonly keyIndex: number }
  | { readonly kind: 'unreachable'; readonly attempts: number; readonly keyIndex: number };

class DeadlineExceeded extends Error {}

/** fetch() with a deadline on the response headers; the body may then take as long as it needs (a long stream). */
async function fetchWithDeadline(deps: UpstreamDeps, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    return await deps.fetch(url, { ...init, signal: controller.signal });
  } catch (e) {
    throw timedOut ? new DeadlineExceeded() : e;
  } finally {
    clearTimeout(timer);
  }
}

export async function sendUpstream(req: UpstreamRequest, deps: UpstreamDeps): Promise<UpstreamResult> {
  const indices = req.keys.map(k => k.index);
  const tried = new Set<number>();
  let last: { keyIndex: number; status: number } | undefined;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const keyIndex = deps.pool.pick(indices, req.model, deps.now(), tried, deps.random);
    if (keyIndex === undefined) break;
    tried.add(keyIndex);
    const key = req.keys.find(k => k.index === keyIndex)!.value;
    const headers = new Headers(req.headers);
    if (req.keyStyle === 'bearer') headers.set('authorization', `Bearer ${key}`);
    else headers.set('x-goog-api-key', key);

    let response: Response;
    try {
      response = await fetchWithDeadline(deps, req.url, { method: req.method, headers, ...(req.body !== undefined ? { body: req.body } : {}) }, req.timeoutMs);
    } catch (e) {
      // neither a hang nor a refused connection is the key's fault, and trying another key would only repeat it
      return { kind: e instanceof DeadlineExceeded ? 'timeout' : 'unreachable', attempts: attempt, keyIndex };
    }
    if (response.status !== 429 && response.status !== 400 && response.status !== 403) {
      return { kind: 'response', response, keyIndex, attempts: attempt };
    }
    const errorText = await response.text().catch(() => '');
    let parsed: unknown;
    try {
      parsed = JSON.parse(errorText);
    } catch {
      parsed = undefined;
    }
    const now = deps.now();
    const fault = keyFaultOf(response.status, googleErrorOf(parsed), now);
    if (!fault) {
      const replay = new Response(errorText, { status: response.status, headers: response.headers });
      return { kind: 'response', response: replay, keyIndex, attempts: attempt, errorText };
    }
    last = { keyIndex, status: response.status };
    if (fault.kind === 'cooldown') {
      deps.pool.coolDown(keyIndex, req.model, fault.cooldown);
      deps.log({
        event: 'key_cooldown',
        requestId: req.requestId,
        keyIndex,
        model: req.model,
        until: new Date(fault.cooldown.until).toISOString(),
        reason: fault.cooldown.reason,
        ...(fault.quotaId ? { quotaId: fault.quotaId } : {}),
      });
    } else {
      deps.pool.remove(keyIndex, fault.reason);
      deps.log({ event: 'key_removed', requestId: req.requestId, keyIndex, reason: fault.reason, upstreamStatus: response.status });
    }
  }
  return {
    kind: 'keys-failed',
    attempts: tried.size,
    ...(last ? { keyIndex: last.keyIndex, upstreamStatus: last.status } : {}),
  };
}
