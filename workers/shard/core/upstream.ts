/**
 * Sends one client request to Google on a pool key, failing over to another key when the first is rate limited or
 * rejected. Only key faults fail over; the response is handed back before any byte reaches the client, so a stream
 * that has begun is never replayed. A body given as a stream (one over the replay bound) is sent once, on one key:
 * a key fault still cools or removes that key, and Google's answer goes to the client. Keys go only to the
 * configured base URL: redirects are never followed.
 */
import { parseJson } from '../../shared/json';
import type { PoolKey } from '../edge/bindings';
import type { KeyPool } from './key-pool';
import type { Logger } from './log';
import {
  errorCodeOf,
  googleErrorOf,
  isUnsupportedLocation,
  keyFaultOf,
  needsKeyProbe,
  probeBlamesKey,
  type GoogleError,
} from './key-faults';

/** Attempts per request, first try included; each is a subrequest, and Workers Free allows 50. */
export const MAX_ATTEMPTS = 3;

export interface UpstreamDeps {
  readonly fetch: (url: string, init: RequestInit) => Promise<Response>;
  readonly now: () => number;
  readonly random: () => number;
  /** resolves true after `ms`, or false as soon as `signal` aborts (at once if it already has) */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<boolean>;
  readonly log: Logger;
  readonly pool: KeyPool;
}

export interface UpstreamRequest {
  readonly requestId: string;
  readonly url: string;
  /**
   * The URL that asks Google about the key alone (a one-entry model list): its answer cannot depend on anything the
   * client sent. Used to tell a 403 about the key from a 403 about the request.
   */
  readonly probeUrl: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** headers without any credential; the pool key is added per attempt */
  readonly headers: Headers;
  /** a stream is sent once, without failover: it cannot be read twice */
  readonly body?: Uint8Array | string | ReadableStream<Uint8Array>;
  /** how Google expects the key on this surface */
  readonly keyStyle: 'bearer' | 'goog-header';
  /** cooldown scope: the model id, or ANY_MODEL */
  readonly model: string;
  readonly keys: readonly PoolKey[];
  readonly timeoutMs: number;
  /** the longest this request may wait, in total, for a cooling key to free (0: refuse at once) */
  readonly maxWaitMs: number;
  /** the client's request signal: when it aborts, the upstream call and any wait stop */
  readonly signal?: AbortSignal;
}

interface Attempted {
  readonly attempts: number;
  /** time spent waiting for a cooling key, in milliseconds */
  readonly waitedMs: number;
}

export type UpstreamResult = Attempted &
  /** Google answered with something to give the client (success, or an error that is not the key's fault) */
  (
    | { readonly kind: 'response'; readonly response: Response; readonly keyIndex: number; readonly errorText?: string }
    /** every attempt hit a key fault, or no key was available to try */
    | { readonly kind: 'keys-failed'; readonly keyIndex?: number; readonly upstreamStatus?: number }
    | { readonly kind: 'timeout'; readonly keyIndex: number }
    | { readonly kind: 'unreachable'; readonly keyIndex: number }
    /** the upstream answered 3xx: not followed, so the key went nowhere but the configured base URL */
    | { readonly kind: 'redirect'; readonly keyIndex: number; readonly upstreamStatus: number }
    /** Google refuses the region the Worker ran in; no key is to blame */
    | { readonly kind: 'unsupported-location'; readonly keyIndex: number; readonly googleMessage?: string }
    /** the client went away; nothing more was sent upstream */
    | { readonly kind: 'client-gone'; readonly keyIndex?: number }
  );

class DeadlineExceeded extends Error {}
class ClientGone extends Error {}

/**
 * fetch() with a deadline on the response headers (the body may then take as long as it needs: a long stream), that
 * stops when the client's signal aborts, and that never follows a redirect.
 */
async function fetchWithDeadline(
  deps: UpstreamDeps,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  clientSignal?: AbortSignal,
): Promise<Response> {
  if (clientSignal?.aborted) throw new ClientGone();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  // left attached after the headers: a client that leaves mid-stream also stops the upstream body
  clientSignal?.addEventListener('abort', () => controller.abort(), { once: true });
  try {
    return await deps.fetch(url, { ...init, redirect: 'manual', signal: controller.signal });
  } catch (e) {
    if (clientSignal?.aborted) throw new ClientGone();
    throw timedOut ? new DeadlineExceeded() : e;
  } finally {
    clearTimeout(timer);
  }
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

async function googleErrorFrom(
  response: Response,
): Promise<{ readonly text: string; readonly err: GoogleError | undefined }> {
  const text = await response.text().catch(() => '');
  return { text, err: googleErrorOf(parseJson(text)) };
}

/** Asks Google about the key alone; undefined when the probe itself failed (no answer, or a redirect). */
async function probeKey(
  req: UpstreamRequest,
  deps: UpstreamDeps,
  key: string,
  keyIndex: number,
): Promise<{ status: number; err: GoogleError | undefined } | undefined> {
  let response: Response;
  deps.pool.recordCall(keyIndex);
  try {
    response = await fetchWithDeadline(
      deps,
      req.probeUrl,
      { method: 'GET', headers: { 'x-goog-api-key': key } },
      req.timeoutMs,
      req.signal,
    );
  } catch (e) {
    if (e instanceof ClientGone) throw e;
    return undefined;
  }
  if (response.ok || isRedirect(response.status)) {
    await response.body?.cancel().catch(() => undefined);
    return isRedirect(response.status) ? undefined : { status: response.status, err: undefined };
  }
  const { err } = await googleErrorFrom(response);
  recordError(deps, keyIndex, response.status, errorCodeOf(err));
  return { status: response.status, err };
}

function recordError(deps: UpstreamDeps, keyIndex: number, status: number | undefined, code?: string): void {
  deps.pool.recordError(keyIndex, {
    ...(status !== undefined ? { status } : {}),
    ...(code !== undefined ? { code } : {}),
    at: deps.now(),
  });
}

export async function sendUpstream(req: UpstreamRequest, deps: UpstreamDeps): Promise<UpstreamResult> {
  const indices = req.keys.map((k) => k.index);
  const keyByIndex = new Map(req.keys.map((k) => [k.index, k.value]));
  const tried = new Set<number>();
  let attempts = 0;
  let waitedMs = 0;
  let last: { keyIndex: number; status: number } | undefined;
  const once = req.body instanceof ReadableStream;
  const maxAttempts = once ? 1 : MAX_ATTEMPTS;

  /** The next key to try, waiting within the request's budget when every key for the model is cooling. */
  const nextKey = async (): Promise<number | undefined> => {
    for (;;) {
      const keyIndex = deps.pool.pick(indices, req.model, deps.now(), tried, deps.random);
      if (keyIndex !== undefined) return keyIndex;
      const status = deps.pool.status(indices, req.model, deps.now());
      if (status.kind !== 'cooling' || status.retryAfterMs > req.maxWaitMs - waitedMs) return undefined;
      if (!(await deps.sleep(status.retryAfterMs, req.signal))) throw new ClientGone();
      waitedMs += status.retryAfterMs;
      // a key this request already tried may serve again now that its cooldown is over
      tried.clear();
    }
  };

  try {
    while (attempts < maxAttempts) {
      const keyIndex = await nextKey();
      if (keyIndex === undefined) break;
      tried.add(keyIndex);
      attempts++;
      const key = keyByIndex.get(keyIndex);
      // the pool picks from `indices` only; this guards that contract, and names an index, never a key
      if (key === undefined) throw new Error(`the key pool picked key ${keyIndex}, which this request does not hold`);
      deps.pool.recordCall(keyIndex);
      const headers = new Headers(req.headers);
      if (req.keyStyle === 'bearer') headers.set('authorization', `Bearer ${key}`);
      else headers.set('x-goog-api-key', key);

      let response: Response;
      try {
        response = await fetchWithDeadline(
          deps,
          req.url,
          { method: req.method, headers, ...(req.body !== undefined ? { body: req.body } : {}) },
          req.timeoutMs,
          req.signal,
        );
      } catch (e) {
        if (e instanceof ClientGone) throw e;
        // neither a hang nor a refused connection is the key's fault, and trying another key would only repeat it
        const kind = e instanceof DeadlineExceeded ? 'timeout' : 'unreachable';
        recordError(deps, keyIndex, undefined, `upstream_${kind}`);
        return { kind, attempts, waitedMs, keyIndex };
      }
      if (isRedirect(response.status)) {
        // Google does not redirect API calls: a 3xx comes from a proxy or a misconfiguration, and following it would
        // send the key to whatever host it names
        await response.body?.cancel().catch(() => undefined);
        recordError(deps, keyIndex, response.status, 'upstream_redirect');
        deps.log({ event: 'upstream_redirect', requestId: req.requestId, keyIndex, upstreamStatus: response.status });
        return { kind: 'redirect', attempts, waitedMs, keyIndex, upstreamStatus: response.status };
      }
      if (response.status !== 429 && response.status !== 400 && response.status !== 401 && response.status !== 403) {
        // the body of a 5xx is the client's to read; its status is enough for the status view
        if (response.status >= 400) recordError(deps, keyIndex, response.status);
        return { kind: 'response', response, keyIndex, attempts, waitedMs };
      }
      const { text: errorText, err } = await googleErrorFrom(response);
      recordError(deps, keyIndex, response.status, errorCodeOf(err));
      const now = deps.now();
      const fault = keyFaultOf(response.status, err, now);
      if (!fault) {
        if (isUnsupportedLocation(response.status, err)) {
          return {
            kind: 'unsupported-location',
            attempts,
            waitedMs,
            keyIndex,
            ...(err?.message !== undefined ? { googleMessage: err.message } : {}),
          };
        }
        const probe = needsKeyProbe(response.status, err) ? await probeKey(req, deps, key, keyIndex) : undefined;
        const passOn = (): UpstreamResult => {
          const replay = new Response(errorText, { status: response.status, headers: response.headers });
          return { kind: 'response', response: replay, keyIndex, attempts, waitedMs, errorText };
        };
        if (!probe || !probeBlamesKey(probe.status, probe.err, deps.now())) return passOn();
        last = { keyIndex, status: response.status };
        deps.pool.remove(keyIndex, 'PERMISSION_DENIED');
        deps.log({
          event: 'key_removed',
          requestId: req.requestId,
          keyIndex,
          model: req.model,
          reason: 'PERMISSION_DENIED',
          upstreamStatus: response.status,
          until: null,
          probeStatus: probe.status,
        });
        if (once) return passOn();
        continue;
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
        deps.log({
          event: 'key_removed',
          requestId: req.requestId,
          keyIndex,
          model: req.model,
          reason: fault.reason,
          upstreamStatus: response.status,
          until: null,
        });
      }
      // the body is spent: Google's answer about the key is the client's, with its status
      if (once)
        return {
          kind: 'response',
          response: new Response(errorText, { status: response.status, headers: response.headers }),
          keyIndex,
          attempts,
          waitedMs,
          errorText,
        };
    }
  } catch (e) {
    if (e instanceof ClientGone)
      return { kind: 'client-gone', attempts, waitedMs, ...(last ? { keyIndex: last.keyIndex } : {}) };
    throw e;
  }
  return {
    kind: 'keys-failed',
    attempts,
    waitedMs,
    ...(last ? { keyIndex: last.keyIndex, upstreamStatus: last.status } : {}),
  };
}
