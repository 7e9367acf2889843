/**
 * Structured log lines (one JSON object per line, read by Workers Logs); `requestId` (from `../shared/request-id`)
 * ties them to a response. Lines carry key indices, never keys or passwords.
 */

export interface RequestLine {
  readonly event: 'request';
  readonly requestId: string;
  readonly route: string;
  readonly model?: string;
  readonly keyIndex?: number;
  readonly attempts: number;
  readonly status: number;
  readonly upstreamStatus?: number;
  /** until the response headers; a streamed body may run on after the line is written */
  readonly ms: number;
  /** the worker's error code when it answered with its own error */
  readonly error?: string;
}

export interface KeyCooldownLine {
  readonly event: 'key_cooldown';
  readonly requestId: string;
  readonly keyIndex: number;
  readonly model: string;
  /** ISO-8601 instant the key frees */
  readonly until: string;
  readonly reason: 'quota-minute' | 'quota-day';
  readonly quotaId?: string;
}

export interface KeyRemovedLine {
  readonly event: 'key_removed';
  readonly requestId: string;
  readonly keyIndex: number;
  readonly reason: string;
  readonly upstreamStatus: number;
}

export interface StreamErrorLine {
  readonly event: 'stream_error';
  readonly requestId: string;
  readonly route: string;
  readonly keyIndex: number;
}

export type LogLine = RequestLine | KeyCooldownLine | KeyRemovedLine | StreamErrorLine;

export type Logger = (line: LogLine) => void;

/** Writes to the console; key removals go to `console.error` so they stand out in the dashboard. */
export function consoleLogger(line: LogLine): void {
  const text = JSON.stringify(line);
  if (line.event === 'key_removed') console.error(text);
  else console.log(text);
}
