/**
 * Structured log lines (one JSON object per line, read by Workers Logs); `requestId` (from `../shared/request-id`)
 * ties them to a response. Lines carry key indices, never keys or passwords.
 */

export interface RequestLine {
  readonly event: 'request';
  readonly requestId: string;
  readonly route: string;
  /** who the request authenticated as: `pass` for the shared password, else the client token's name (never a token) */
  readonly client?: string;
  readonly model?: string;
  readonly keyIndex?: number;
  readonly attempts: number;
  readonly status: number;
  readonly upstreamStatus?: number;
  /** time the request spent waiting for a cooling key to free (MAX_WAIT_MS), when it waited at all */
  readonly waitedMs?: number;
  /** until the response headers; a streamed body may run on after the line is written */
  readonly ms: number;
  /** the worker's error code when it answered with its own error */
  readonly error?: string;
  /**
   * The owner tag (e.g. `z3k5qmfa`, see `../shared/owner-tag`) of the resources the request named: it could use that
   * key only. A tag names a key by index and a 4-letter fingerprint, never by value.
   */
  readonly owner?: string;
}

export interface KeyCooldownLine {
  readonly event: 'key_cooldown';
  readonly requestId: string;
  readonly keyIndex: number;
  readonly model: string;
  /** ISO-8601 instant the key frees */
  readonly until: string;
  readonly reason: import('./key-pool').CooldownReason;
  readonly quotaId?: string;
  /** a quota the project shares (`PerProject` in its id): its label, when the project has keys besides `keyIndex` */
  readonly project?: string;
  /** with `project`: every key of the project in this worker, all cooled with `keyIndex` */
  readonly projectKeys?: readonly number[];
  /**
   * keys of the worker's other projects presumed spent until `until`, having been used as much in this quota window
   * (see `./spent-projects`): tried then only by a request no other shard can take
   */
  readonly presumedSpentKeys?: readonly number[];
}

export interface KeyRemovedLine {
  readonly event: 'key_removed';
  readonly requestId: string;
  readonly keyIndex: number;
  /** the model of the request that revealed the fault; the key is out for every model */
  readonly model: string;
  /** Google's `ErrorInfo.reason`, `UNAUTHENTICATED` for a 401, or `PERMISSION_DENIED` when a probe confirmed a 403 */
  readonly reason: string;
  readonly upstreamStatus: number;
  /** always null: a removed key stays out for the life of the isolate */
  readonly until: null;
  /** the status of the probe call (GET models with the key alone) that confirmed a 403 was about the key */
  readonly probeStatus?: number;
}

/** The upstream answered a redirect; it was not followed, so the key went nowhere else. */
export interface UpstreamRedirectLine {
  readonly event: 'upstream_redirect';
  readonly requestId: string;
  readonly keyIndex: number;
  readonly upstreamStatus: number;
}

export interface StreamErrorLine {
  readonly event: 'stream_error';
  readonly requestId: string;
  readonly route: string;
  readonly keyIndex: number;
}

/** A Live API session ended; its `request` line (status 101) was written when it opened. */
export interface LiveClosedLine {
  readonly event: 'live_closed';
  readonly requestId: string;
  readonly route: string;
  /** absent on `live.bidiConstrained`, which runs on the client's own ephemeral token */
  readonly keyIndex?: number;
  /** which side closed first; the other was closed with the same code */
  readonly by: 'client' | 'upstream';
  /** the WebSocket close code that side sent (1005: none, 1006: the connection dropped without a close frame) */
  readonly code: number;
  /** session length from the upgrade */
  readonly ms: number;
}

export type LogLine =
  | RequestLine
  | KeyCooldownLine
  | KeyRemovedLine
  | UpstreamRedirectLine
  | StreamErrorLine
  | LiveClosedLine;

export type Logger = (line: LogLine) => void;

/** Writes to the console; key removals and redirects go to `console.error` so they stand out in the dashboard. */
export function consoleLogger(line: LogLine): void {
  const text = JSON.stringify(line);
  if (line.event === 'key_removed' || line.event === 'upstream_redirect') console.error(text);
  else console.log(text);
}
