/**
 * The seam between a surface and the key core: a surface describes the call it needs (an upstream plan: path,
 * method, headers, body, how Google takes the key, the cooldown scope, the conversation id its body holds) and
 * `sendPlan` has `sendUpstream` make it with this worker's keys and projects, deadlines and waiting budget: a
 * resource's call on its owner's project, a conversation's on its home project (or, for an id only the body held, a
 * misdirect to its home shard), anything else drawn by quota share. What the key core reports when no answer came
 * from Google becomes the same refusal on every surface; only its shape differs (see `./refusal`).
 */
import { AFFINITY_HEADER, HOME_SHARD_HEADER, MISDIRECTED_STATUS, SHARD_COUNT_HEADER } from '../../shared/contract';
import { parseJson } from '../../shared/json';
import { REROUTE_AVAILABLE, REROUTE_HEADER } from '../../shared/pool-refusal';
import type { PoolKey, ShardConfig } from '../edge/bindings';
import { redact } from './redaction';
import { POOL_REFUSAL, Refusal } from '../edge/refusal';
import type { Admitted, HandlerDeps, LineFacts } from '../surfaces/contract';
import { conversationOf, homeElsewhere, rankedProjects } from './conversation';
import { ownerProject, workerProjects } from './key-projects';
import { sendUpstream, type UpstreamRequest, type UpstreamResult } from './upstream';

export interface UpstreamPlan {
  /** path and query on Google's host, built from validated parts only (e.g. `/v1beta/models/m:generateContent`) */
  readonly path: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** headers without any credential; the key core adds the pool key */
  readonly headers: Headers;
  /** a stream (a body over the replay bound) is sent once, on one key, without failover */
  readonly body?: Uint8Array | string | ReadableStream<Uint8Array>;
  readonly keyStyle: 'bearer' | 'goog-header';
  /** cooldown scope: the Gemini model id, or ANY_MODEL */
  readonly model: string;
  /**
   * The key that owns a resource the request names (see `../surfaces/resources/owner-keys`): Google keeps resources
   * per project, so the call is made with a key of its project (any that is not cooling or removed), never another
   * project's, and a refusal says the owner is cooling or gone instead of refusing for the pool.
   *
   * @default - any key of the pool
   */
  readonly owner?: PoolKey;
  /** the call is made with `owner` itself, no other key of its project (an upload session Google opened for it) */
  readonly ownerOnly?: true;
  /**
   * The conversation id the request body holds (see `./conversation`'s `bodyConversationId`), read where the surface
   * parsed the body; headers are read here.
   */
  readonly conversation?: string;
}

export type GoogleAnswer = Extract<UpstreamResult, { kind: 'response' }>;
export type NoAnswer = Exclude<UpstreamResult, { kind: 'response' }>;

type KeyChoice = Pick<UpstreamRequest, 'keys' | 'projects' | 'ordered'>;
type Elsewhere = Extract<UpstreamResult, { kind: 'conversation-elsewhere' }>;

/** Which keys the plan's call may use, in which order; or the conversation's home shard when it is another one. */
function keyChoice(plan: UpstreamPlan, a: Admitted): KeyChoice | Elsewhere {
  const { config } = a;
  if (plan.owner !== undefined) {
    const project = ownerProject(config, plan.owner, plan.ownerOnly === true);
    return { keys: config.keys.filter((k) => project.keys.includes(k.index)), projects: [project] };
  }
  const { projects } = workerProjects(config);
  const conversation = conversationOf(a.request.headers, plan.conversation);
  if (conversation === undefined) return { keys: config.keys, projects };
  const { fingerprint } = conversation;
  // a body over the replay bound streams to Google unread: no copy of it is left to send to another shard
  const shardCount = Number(a.request.headers.get(SHARD_COUNT_HEADER));
  const elsewhere =
    conversation.fromBody && !(plan.body instanceof ReadableStream)
      ? homeElsewhere(fingerprint, config.shardIndex, config.layout, shardCount)
      : undefined;
  if (elsewhere !== undefined) {
    return { kind: 'conversation-elsewhere', ...elsewhere, fingerprint, attempts: 0, waitedMs: 0 };
  }
  return { keys: config.keys, projects: rankedProjects(projects, fingerprint), ordered: true };
}

/** Sends the plan through the key pool: failover, cooldowns, MAX_WAIT_MS and the deadline as on every route. */
export async function sendPlan(plan: UpstreamPlan, a: Admitted, deps: HandlerDeps): Promise<UpstreamResult> {
  const { config } = a;
  const choice = keyChoice(plan, a);
  if ('kind' in choice) return choice;
  return sendUpstream(
    {
      requestId: a.requestId,
      url: `${config.baseUrl}${plan.path}`,
      probeUrl: `${config.baseUrl}/v1beta/models?pageSize=1`,
      method: plan.method,
      headers: plan.headers,
      ...(plan.body !== undefined ? { body: plan.body } : {}),
      keyStyle: plan.keyStyle,
      model: plan.model,
      ...choice,
      // a shard whose projects are presumed spent declines only when the orchestrator can send the request elsewhere
      presumed: a.request.headers.get(REROUTE_HEADER) === REROUTE_AVAILABLE ? 'skip' : 'last',
      timeoutMs: config.timeoutMs,
      maxWaitMs: config.maxWaitMs,
      signal: a.request.signal,
    },
    deps,
  );
}

/** The refusal when the worker holds no key at all; a pool refusal, so the orchestrator tries another shard. */
export function noKeysConfigured(): Refusal {
  return new Refusal(
    503,
    'no_keys_configured',
    'This worker has no Gemini API keys (KEY1, KEY2, ... bindings).',
    POOL_REFUSAL,
  );
}

/** The log facts every outcome of the key core has: attempts, the last key tried, time spent waiting. */
export function attemptFacts(result: UpstreamResult): Partial<LineFacts> {
  return {
    attempts: result.attempts,
    ...(result.keyIndex !== undefined ? { keyIndex: result.keyIndex } : {}),
    ...(result.waitedMs > 0 ? { waitedMs: result.waitedMs } : {}),
  };
}

function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/**
 * The answer when the one key that owns the resource could not serve the request: cooling (429 with retry-after) or
 * removed after Google rejected it (410). Never a pool refusal: no other key or shard holds the resource.
 */
function ownerKeyUnavailable(deps: HandlerDeps, config: ShardConfig, owner: PoolKey, model: string): Refusal {
  const status = deps.pool.status(ownerProject(config, owner).keys, model, deps.now());
  if (status.kind === 'exhausted') {
    return new Refusal(
      410,
      'owner_key_removed',
      'Google rejected the Gemini API key that owns the resources this request names (invalid, suspended or leaked), so the gateway took it out of use; those resources cannot be reached any more: create them again.',
    );
  }
  const retryAfterMs = status.kind === 'cooling' ? status.retryAfterMs : 1000;
  return new Refusal(
    429,
    'owner_key_cooling',
    "The Gemini API key that owns the resources this request names is rate limited for this model (with every other key of its Google project in this gateway), and only that project's keys can use them (Google keeps files, cached contents, batches and interactions per project); retry after the retry-after delay.",
    { 'retry-after': retryAfterSeconds(retryAfterMs) },
  );
}

/**
 * The answer when no key could serve the request: cooling (429 with retry-after) or gone (503). By then the request
 * has waited for a cooling key whenever MAX_WAIT_MS allowed it (see `sendUpstream`).
 */
function keysUnavailable(deps: HandlerDeps, config: ShardConfig, model: string): Refusal {
  const status = deps.pool.status(
    config.keys.map((k) => k.index),
    model,
    deps.now(),
  );
  switch (status.kind) {
    case 'cooling':
      return new Refusal(
        429,
        status.allDay ? 'daily_quota_exhausted' : 'all_keys_cooling',
        status.allDay
          ? 'Every Gemini API key of this worker has used its daily quota for this model; quotas reset at midnight Pacific time.'
          : 'Every Gemini API key of this worker is rate limited for this model; retry after the retry-after delay.',
        {
          'retry-after': retryAfterSeconds(status.retryAfterMs),
          ...(status.allDay ? { 'x-should-retry': 'false' } : {}),
          ...POOL_REFUSAL,
        },
      );
    case 'exhausted':
      return new Refusal(
        503,
        'no_usable_keys',
        'Every Gemini API key of this worker was rejected by Google as invalid, suspended or leaked.',
        POOL_REFUSAL,
      );
    case 'available':
      // keys remain, but every attempt of this request met a key fault (a 429 or a rejected key), which Google does
      // not bill: so this is a pool refusal too, and another shard may serve the request at once. Many isolates of
      // one shard each learn a cooldown separately, so this is how a request survives landing on one that learns late.
      return new Refusal(429, 'rate_limited', 'Gemini rate limited every key this request tried; retry shortly.', {
        'retry-after': '1',
        ...POOL_REFUSAL,
      });
  }
}

/**
 * The answer of a shard sent a request whose conversation (an id found in its body) lives on another shard, `home`
 * when it knows which: nothing went to Google, and the orchestrator sends its copy of the request there once, with the
 * fingerprint.
 */
function conversationElsewhere(home: number | undefined, fingerprint: string): Refusal {
  const where = home === undefined ? 'on another shard' : `on shard ${home}`;
  return new Refusal(
    MISDIRECTED_STATUS,
    'conversation_elsewhere',
    `This request continues a conversation that the gateway serves ${where}, so that it stays on one Google project (whose implicit cache holds its earlier turns); the gateway could not send it there.`,
    { ...(home !== undefined ? { [HOME_SHARD_HEADER]: String(home) } : {}), [AFFINITY_HEADER]: fingerprint },
  );
}

/** Why Google's refusal of the Worker's region is not the client's to fix, and what the operator can do. */
function unsupportedLocationMessage(googleMessage: string | undefined, secrets: readonly string[]): string {
  const quoted = googleMessage === undefined ? '' : ` ("${redact(googleMessage, secrets)}")`;
  return (
    `Gemini refused the request with FAILED_PRECONDITION${quoted}: Google does not serve the region the gateway's Worker ran in. ` +
    'This depends on the Cloudflare location, not on the request or the keys, and retrying from the same place will not help. ' +
    'The operator can enable Smart Placement on the shard workers so they run near Google.'
  );
}

/**
 * The refusal for a call that got no answer to pass on, and the log facts beyond `attemptFacts`. `owner` is the
 * plan's owning key, when the request named an owned resource.
 */
export function noAnswerRefusal(
  result: NoAnswer,
  a: Admitted,
  deps: HandlerDeps,
  model: string,
  secrets: readonly string[],
  owner?: PoolKey,
): { readonly refusal: Refusal; readonly facts: Partial<LineFacts> } {
  switch (result.kind) {
    case 'timeout':
      return {
        refusal: new Refusal(504, 'upstream_timeout', `Gemini did not answer within ${a.config.timeoutMs} ms.`),
        facts: {},
      };
    case 'unreachable':
      return { refusal: new Refusal(502, 'upstream_unreachable', 'Could not connect to Gemini.'), facts: {} };
    case 'redirect':
      return {
        refusal: new Refusal(
          502,
          'upstream_redirect',
          `The upstream answered with a redirect (HTTP ${result.upstreamStatus}), which the gateway never follows so that no key leaves for another host. Google does not redirect API calls: check GEMINI_BASE_URL and any proxy in front of Google.`,
        ),
        facts: { upstreamStatus: result.upstreamStatus },
      };
    case 'unsupported-location':
      // 502: the fault is the gateway's placement, which operators watch for; x-should-retry stops the SDKs from
      // repeating a request that will be refused from the same place
      return {
        refusal: new Refusal(502, 'unsupported_location', unsupportedLocationMessage(result.googleMessage, secrets), {
          'x-should-retry': 'false',
        }),
        facts: { upstreamStatus: 400 },
      };
    case 'client-gone':
      // nobody reads this answer; the status is for the log line (nginx's "client closed request")
      return {
        refusal: new Refusal(499, 'client_disconnected', 'The client went away before the answer was ready.'),
        facts: {},
      };
    case 'conversation-elsewhere':
      return { refusal: conversationElsewhere(result.home, result.fingerprint), facts: {} };
    case 'keys-failed':
      return {
        refusal:
          owner !== undefined
            ? ownerKeyUnavailable(deps, a.config, owner, model)
            : keysUnavailable(deps, a.config, model),
        facts: result.upstreamStatus !== undefined ? { upstreamStatus: result.upstreamStatus } : {},
      };
  }
}

/** What to do when a stream Google began breaks off: the key's status shows it, and a log line records it. */
export function streamCutReporter(answer: GoogleAnswer, a: Admitted, route: string, deps: HandlerDeps): () => void {
  return () => {
    deps.pool.recordError(answer.keyIndex, { code: 'upstream_stream_interrupted', at: deps.now() });
    deps.log({ event: 'stream_error', requestId: a.requestId, route, keyIndex: answer.keyIndex });
  };
}

/** The log facts of an answer from Google. */
export function answerFacts(answer: GoogleAnswer): LineFacts {
  const { keyIndex, attempts, waitedMs, response } = answer;
  return {
    keyIndex,
    attempts,
    status: response.status,
    upstreamStatus: response.status,
    ...(waitedMs > 0 ? { waitedMs } : {}),
  };
}

/**
 * A non-streamed reply read whole and parsed: small enough to check, which turns a cut or garbled body into a clear
 * 502 instead of a client's parse error.
 */
export async function readWholeReply(
  upstream: Response,
): Promise<{ readonly text: string; readonly json: unknown } | Refusal> {
  let text: string;
  try {
    text = await upstream.text();
  } catch {
    return new Refusal(502, 'upstream_interrupted', 'The connection to Gemini broke before the reply was complete.');
  }
  const json = parseJson(text);
  if (json === undefined) {
    return new Refusal(502, 'upstream_invalid_response', 'Gemini answered with a body that is not valid JSON.');
  }
  return { text, json };
}
