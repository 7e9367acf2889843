/**
 * What routing one request shares with the routes it hands on to (`./listing`, `./status`): the orchestrator's
 * injected backends, randomness, time and logging, its log line, and the context of a request being forwarded. A
 * module of its own so that those routes and `./route-request` import it, not each other.
 *
 * @module
 */
import type { ErrorReply } from '../shared/error-shapes';
import type { BoundBackend } from './backends';
import type { RandomSource } from './pick';

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
  /** the `KEY_PROJECTS` binding as bound (see `poolWeights`); absent means every key is its own project */
  readonly keyProjects?: unknown;
  /** the `KEYS_PER_SHARD` binding as bound, read with `KEY_PROJECTS` */
  readonly keysPerShard?: unknown;
}

/** The orchestrator's log line; never holds a header or body value, so no key or password can reach the logs. */
export interface OrchestratorLogLine {
  readonly event: 'orchestrator_request';
  readonly requestId: string;
  /** only on `GET /zen/status`, which asks every shard instead of one, and `GET /zen`, which asks none */
  readonly route?: 'zen.status' | 'zen.page';
  /** n of the `BACKEND_SERVICE_<n>` that produced the answer (or failed); absent when none is bound */
  readonly shard?: number;
  readonly status: number;
  /** time until the shard's response headers (a stream may go on much longer) */
  readonly ms: number;
  /** shards called, only when more than one was (a followed misdirect counts its second call) */
  readonly attempts?: number;
  /**
   * The shard that owns a resource the request names, when the orchestrator learned it: from the owner tag in the URL
   * (then `shard` is the owner, or absent with the 404 `unknown_resource_owner` when no bound shard is), or from a
   * shard's misdirect (421 with `x-zen-owner`; then `misdirectedBy` is set too)
   */
  readonly owner?: number;
  /**
   * The shard that answered a misdirect naming `owner` (or `home`). The request then went on to `owner` (which `shard`
   * names), except when `shard` equals this: the body was past the replay bound and the shard's 421 was passed on, or
   * `owner` is not bound and the answer is the 404 `unknown_resource_owner`.
   */
  readonly misdirectedBy?: number;
  /**
   * The request's conversation fingerprint (the hash of its conversation id, never the id), as sent to the shards in
   * `x-zen-affinity`: from the request's `x-claude-code-session-id` or `session-id` header, or from a shard's home
   * misdirect (the shard read the id in the body; then `misdirectedBy` is set too)
   */
  readonly affinity?: string;
  /** the conversation's home shard: the first of its order, tried first unless a misdirect named another */
  readonly home?: number;
  /**
   * Merged listings only, when more than one shard was called: the shards called, in order (empty pages followed,
   * then shards asked ahead for one item); `shard` is the one whose page the client got
   */
  readonly asked?: readonly number[];
  /** merged listings only: the page's `nextPageToken` was removed because every shard after it was empty */
  readonly nextPageToken?: 'dropped';
  readonly error?: 'no_backend' | 'shard_error' | 'shard_timeout' | 'invalid_query' | 'unknown_resource_owner';
  /** only when shards were drawn uniformly because `SHARD_KEY_COUNTS` was missing or malformed */
  readonly shardKeyCounts?: 'missing' | 'malformed';
  /** only when `KEY_PROJECTS` is bound but unusable, so shards were weighted by key count instead of quota share */
  readonly layout?: 'malformed';
  /** status view only: shards asked, and of those, shards that answered with their view */
  readonly queried?: number;
  readonly answered?: number;
}

export type LogFields = Omit<OrchestratorLogLine, 'event' | 'requestId' | 'ms'>;

/** What every send of one request shares. */
export interface Forwarding {
  readonly request: Request;
  /** the client's headers with this request's id and the shard count */
  readonly headers: Headers;
  readonly backends: readonly BoundBackend[];
  /** each backend's share of the pool's quota, aligned with `backends` */
  readonly weights: readonly number[];
  readonly deps: RouteDeps;
  readonly requestId: string;
  /** how the orchestrator's own errors reach this client: its error shape, the request id and their headers */
  readonly reply: ErrorReply;
  readonly log: (line: LogFields) => void;
}
