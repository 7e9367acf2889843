/**
 * Sends one client request to Google on a pool key, failing over to another key when the first is rate limited or
 * rejected. Keys are drawn by project (`./key-projects`): by quota share, or in a conversation's order; a quota the
 * project shares cools all its keys at once, so failover goes straight to another project. Only key faults fail over; the response is handed back before any byte reaches the client, so a stream
 * that has begun is never replayed. A body given as a stream (one over the replay bound) is sent once, on one key:
 * a key fault still cools or removes that key, and Google's answer goes to the client. Keys go only to the
 * configured base URL: redirects are never followed.
 */
import { parseJson } from '../../shared/json';
import { ClientGone, DeadlineExceeded, fetchWithDeadline } from './upstream-fetch';
import type { PoolKey } from '../edge/bindings';
import type { KeyGroup, KeyPool, PresumedSpent } from './key-pool';
import type { KeyProject } from './key-projects';
import type { Logger } from './log';
import {
  errorCodeOf,
  googleErrorOf,
  isProjectQuota,
  isUnsupportedLocation,
  keyFaultOf,
  needsKeyProbe,
  probeBlamesKey,
  type GoogleError,
  type KeyFault,
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
  /**
   * The Google projects of `keys` (no other key), each with its share of the pool's quota.
   *
   * @default - every key its own project of weight 1
   */
  readonly projects?: readonly KeyProject[];
  /** try `projects` in their order (a conversation's ranking: its home first) instead of drawing by quota share */
  readonly ordered?: boolean;
  /**
   * `skip` when another shard can take the request (the orchestrator says so): then projects presumed spent for this
   * window are not tried, and the request is declined without a call Google would refuse.
   *
   * @default 'last'
   */
  readonly presumed?: PresumedSpent;
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

/** How a request to Google ended, whichever attempt it took. */
export type UpstreamOutcome =
  /** Google answered with something to give the client (success, or an error that is not the key's fault) */
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
  /**
   * the request's conversation lives on shard `home`, or (`home` absent) on a shard this worker cannot name (see
   * `./conversation`); nothing was sent upstream
   */
  | {
      readonly kind: 'conversation-elsewhere';
      readonly home?: number;
      readonly fingerprint: string;
      readonly keyIndex?: never;
    };

export type UpstreamResult = Attempted & UpstreamOutcome;

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
      deps.fetch,
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

/** Where a request stands between attempts. */
interface Progress {
  /** keys this request has tried since its last wait for a cooling key */
  readonly tried: Set<number>;
  attempts: number;
  waitedMs: number;
  /** the last key a fault was blamed on, and Google's status then */
  last?: { readonly keyIndex: number; readonly status: number };
}

/**
 * What one attempt came to: an outcome for the client, or a fault of the key's (already acted on: the key cooled or
 * removed) after which another key may be tried; `errorText` is the body of Google's answer, already read.
 */
type AttemptOutcome =
  | UpstreamOutcome
  | { readonly kind: 'key-fault'; readonly response: Response; readonly errorText: string };

/** Statuses whose error body may blame the key; any other answer goes to the client as it is. */
const KEY_FAULT_STATUSES: ReadonlySet<number> = new Set([400, 401, 403, 429]);

/** The request's projects, or every key its own project of weight 1. */
function groupsOf(req: UpstreamRequest): readonly KeyGroup[] {
  return req.projects ?? req.keys.map((k) => ({ keys: [k.index], weight: 1 }));
}

/** The next key to try, waiting within the request's budget when every key for the model is cooling. */
async function nextKey(req: UpstreamRequest, deps: UpstreamDeps, progress: Progress): Promise<number | undefined> {
  const indices = req.keys.map((k) => k.index);
  const groups = groupsOf(req);
  const pick = req.ordered === true ? deps.pool.pickFirst : deps.pool.pickSpread;
  for (;;) {
    const now = deps.now();
    const keyIndex = pick.call(deps.pool, groups, req.model, now, progress.tried, deps.random, req.presumed);
    if (keyIndex !== undefined) return keyIndex;
    const status = deps.pool.status(indices, req.model, now);
    if (status.kind !== 'cooling' || status.retryAfterMs > req.maxWaitMs - progress.waitedMs) return undefined;
    if (!(await deps.sleep(status.retryAfterMs, req.signal))) throw new ClientGone();
    progress.waitedMs += status.retryAfterMs;
    // a key this request already tried may serve again now that its cooldown is over
    progress.tried.clear();
  }
}

/** The value of pool key `keyIndex`, which the pool picked from this request's keys. */
function keyValueOf(req: UpstreamRequest, keyIndex: number): string {
  const key = new Map(req.keys.map((k) => [k.index, k.value])).get(keyIndex);
  // the pool picks from `req.keys` only; this guards that contract, and names an index, never a key
  if (key === undefined) throw new Error(`the key pool picked key ${keyIndex}, which this request does not hold`);
  return key;
}

/** The client's headers with the pool key added the way this surface's Google endpoint expects it. */
function headersWithKey(req: UpstreamRequest, key: string): Headers {
  const headers = new Headers(req.headers);
  if (req.keyStyle === 'bearer') headers.set('authorization', `Bearer ${key}`);
  else headers.set('x-goog-api-key', key);
  return headers;
}

/** Google's error answer handed to the client as it came: its body was read, so it is replayed from the text. */
function replayed(response: Response, errorText: string, keyIndex: number): UpstreamOutcome {
  const replay = new Response(errorText, { status: response.status, headers: response.headers });
  return { kind: 'response', response: replay, keyIndex, errorText };
}

/** Makes one call to Google on key `keyIndex` and reads what its answer says, acting on any fault of the key's. */
async function attemptOnce(req: UpstreamRequest, deps: UpstreamDeps, keyIndex: number): Promise<AttemptOutcome> {
  const key = keyValueOf(req, keyIndex);
  deps.pool.recordCall(keyIndex);
  const init = {
    method: req.method,
    headers: headersWithKey(req, key),
    ...(req.body !== undefined ? { body: req.body } : {}),
  };
  let response: Response;
  try {
    response = await fetchWithDeadline(deps.fetch, req.url, init, req.timeoutMs, req.signal);
  } catch (e) {
    if (e instanceof ClientGone) throw e;
    // neither a hang nor a refused connection is the key's fault, and trying another key would only repeat it
    const kind = e instanceof DeadlineExceeded ? 'timeout' : 'unreachable';
    recordError(deps, keyIndex, undefined, `upstream_${kind}`);
    return { kind, keyIndex };
  }
  if (isRedirect(response.status)) {
    // Google does not redirect API calls: a 3xx comes from a proxy or a misconfiguration, and following it would
    // send the key to whatever host it names
    await response.body?.cancel().catch(() => undefined);
    recordError(deps, keyIndex, response.status, 'upstream_redirect');
    deps.log({ event: 'upstream_redirect', requestId: req.requestId, keyIndex, upstreamStatus: response.status });
    return { kind: 'redirect', keyIndex, upstreamStatus: response.status };
  }
  if (!KEY_FAULT_STATUSES.has(response.status)) {
    // the body of a 5xx is the client's to read; its status is enough for the status view
    if (response.status >= 400) recordError(deps, keyIndex, response.status);
    return { kind: 'response', response, keyIndex };
  }
  return readKeyError(req, deps, key, keyIndex, response);
}

/**
 * Reads a 400, 401, 403 or 429 for what it says about the key: a quota or key fault cools or removes the key; a
 * region refusal blames no key; a bare 403 is told apart by a probe; anything else is the client's answer.
 */
async function readKeyError(
  req: UpstreamRequest,
  deps: UpstreamDeps,
  key: string,
  keyIndex: number,
  response: Response,
): Promise<AttemptOutcome> {
  const { text: errorText, err } = await googleErrorFrom(response);
  recordError(deps, keyIndex, response.status, errorCodeOf(err));
  const fault = keyFaultOf(response.status, err, deps.now());
  if (fault) {
    applyKeyFault(req, deps, keyIndex, response.status, fault);
    return { kind: 'key-fault', response, errorText };
  }
  if (isUnsupportedLocation(response.status, err)) {
    return {
      kind: 'unsupported-location',
      keyIndex,
      ...(err?.message !== undefined ? { googleMessage: err.message } : {}),
    };
  }
  const probe = needsKeyProbe(response.status, err) ? await probeKey(req, deps, key, keyIndex) : undefined;
  if (!probe || !probeBlamesKey(probe.status, probe.err, deps.now())) return replayed(response, errorText, keyIndex);
  removeKey(req, deps, keyIndex, 'PERMISSION_DENIED', response.status, probe.status);
  return { kind: 'key-fault', response, errorText };
}

/**
 * Cools the key for the request's model (every key of its project, for a quota the project shares), or takes it out
 * of rotation, as the fault says, and logs it.
 */
function applyKeyFault(
  req: UpstreamRequest,
  deps: UpstreamDeps,
  keyIndex: number,
  status: number,
  fault: KeyFault,
): void {
  if (fault.kind === 'removed') {
    removeKey(req, deps, keyIndex, fault.reason, status);
    return;
  }
  const project = isProjectQuota(fault.quotaId) ? req.projects?.find((p) => p.keys.includes(keyIndex)) : undefined;
  const cooled = project !== undefined && project.keys.length > 1 ? project : undefined;
  for (const index of cooled?.keys ?? [keyIndex]) deps.pool.coolDown(index, req.model, fault.cooldown);
  // only a window end Google stated says where the window ends: the 60 s fallback without a RetryInfo does not
  const presumed =
    isProjectQuota(fault.quotaId) && fault.cooldown.reason === 'quota-minute' && fault.untilPrecisionMs !== undefined
      ? deps.pool.presumeSpent(
          {
            spent: project ?? { keys: [keyIndex], weight: 1 },
            model: req.model,
            until: fault.cooldown.until,
            now: deps.now(),
            ...(fault.requestLimit !== undefined ? { requestLimit: fault.requestLimit } : {}),
            endPrecisionMs: fault.untilPrecisionMs,
          },
          groupsOf(req),
        )
      : [];
  deps.log({
    event: 'key_cooldown',
    requestId: req.requestId,
    keyIndex,
    model: req.model,
    until: new Date(fault.cooldown.until).toISOString(),
    reason: fault.cooldown.reason,
    ...(fault.quotaId ? { quotaId: fault.quotaId } : {}),
    ...(cooled !== undefined ? { project: cooled.label, projectKeys: cooled.keys } : {}),
    ...(presumed.length > 0 ? { presumedSpentKeys: presumed } : {}),
  });
}

function removeKey(
  req: UpstreamRequest,
  deps: UpstreamDeps,
  keyIndex: number,
  reason: string,
  upstreamStatus: number,
  probeStatus?: number,
): void {
  deps.pool.remove(keyIndex, reason);
  deps.log({
    event: 'key_removed',
    requestId: req.requestId,
    keyIndex,
    model: req.model,
    reason,
    upstreamStatus,
    until: null,
    ...(probeStatus !== undefined ? { probeStatus } : {}),
  });
}

/** Tries keys one after another until Google gives an answer for the client, or the attempts or keys run out. */
export async function sendUpstream(req: UpstreamRequest, deps: UpstreamDeps): Promise<UpstreamResult> {
  const progress: Progress = { tried: new Set<number>(), attempts: 0, waitedMs: 0 };
  const once = req.body instanceof ReadableStream;
  const maxAttempts = once ? 1 : MAX_ATTEMPTS;
  const ended = (outcome: UpstreamOutcome): UpstreamResult => ({
    ...outcome,
    attempts: progress.attempts,
    waitedMs: progress.waitedMs,
  });
  try {
    while (progress.attempts < maxAttempts) {
      const keyIndex = await nextKey(req, deps, progress);
      if (keyIndex === undefined) break;
      progress.tried.add(keyIndex);
      progress.attempts++;
      const outcome = await attemptOnce(req, deps, keyIndex);
      if (outcome.kind !== 'key-fault') return ended(outcome);
      progress.last = { keyIndex, status: outcome.response.status };
      // the body is spent: Google's answer about the key is the client's, with its status
      if (once) return ended(replayed(outcome.response, outcome.errorText, keyIndex));
    }
  } catch (e) {
    if (e instanceof ClientGone)
      return ended({ kind: 'client-gone', ...(progress.last ? { keyIndex: progress.last.keyIndex } : {}) });
    throw e;
  }
  const last = progress.last;
  return ended({ kind: 'keys-failed', ...(last ? { keyIndex: last.keyIndex, upstreamStatus: last.status } : {}) });
}
