/**
 * One call of one shard through its service binding, with the deadline on its response headers, and the
 * orchestrator's answers when that call fails. Shared by the forwarding of any request and by merged listings.
 *
 * @module
 */
import { type ErrorReply, replyError } from '../shared/error-shapes';
import type { Backend } from './backends';

/** The deadline and the timer a shard call needs. */
export interface CallDeps {
  /** deadline for a shard's response headers */
  readonly timeoutMs: number;
  /** runs `onExpire` after `ms` unless the returned cancel function is called first */
  readonly startTimer: (ms: number, onExpire: () => void) => () => void;
}

/** `request` with `headers` and `body` instead of its own; a shard's redirect is passed back, never followed. */
export function withBody(request: Request, headers: Headers, body: ReadableStream<Uint8Array> | null): Request {
  // the client's own body untouched (or none): the request as it came, so the runtime keeps its known length
  if (body === null || body === request.body) return new Request(request, { headers, redirect: 'manual' });
  // `duplex` is what Node's Request needs for a stream body (the unit tests); workerd ignores it
  const init = { method: request.method, headers, body, redirect: 'manual' as const, duplex: 'half' as const };
  return new Request(request.url, init);
}

export type ShardOutcome = { kind: 'response'; response: Response } | { kind: 'threw' } | { kind: 'timeout' };

/** Calls the shard; `timeout` when its response headers take longer than the deadline, `threw` when the call failed. */
export async function callShard(backend: Backend, request: Request, deps: CallDeps): Promise<ShardOutcome> {
  let cancel: () => void = () => undefined;
  const deadline = new Promise<ShardOutcome>((resolve) => {
    cancel = deps.startTimer(deps.timeoutMs, () => resolve({ kind: 'timeout' }));
  });
  const call = backend.fetch(request).then(
    (response): ShardOutcome => ({ kind: 'response', response }),
    (): ShardOutcome => ({ kind: 'threw' }),
  );
  try {
    return await Promise.race([call, deadline]);
  } finally {
    cancel();
  }
}

/** The client's answer when a shard hung (504 `shard_timeout`) or failed (502 `shard_error`). */
export function shardFailure(kind: 'threw' | 'timeout', reply: ErrorReply): Response {
  if (kind === 'timeout') return replyError(reply, 504, 'shard_timeout', 'The backend shard did not answer in time');
  // the shard's exception stays in the shard's own Workers Logs; the client only learns that it failed
  return replyError(reply, 502, 'shard_error', 'The backend shard failed to answer; retry the request');
}
