/**
 * How the fake writes its answers: JSON, Google's errors, SSE streams, redirects, and the broken replies
 * (`cut-stream`, `truncated-stream`, `malformed-json`) a gateway must survive.
 *
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { Ctx, Settings, Surface } from './call';
import type { GoogleErrorObject } from './google-errors';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(JSON.stringify(body));
}

export function sendError(res: ServerResponse, surface: Surface, err: GoogleErrorObject): void {
  // Google's OpenAI-compatible endpoint wraps its error in an array; the native API does not
  sendJson(res, err.code, surface === 'openai' ? [{ error: err }] : { error: err });
}

/** The `redirect` behaviour: what a proxy or a hijacked host in front of Google might answer. */
export function sendRedirect(res: ServerResponse, settings: Settings, rawUrl: string): void {
  res.writeHead(settings.redirectStatus, {
    location: `${settings.redirectTo.replace(/\/$/, '')}${rawUrl}`,
    'content-type': 'text/html; charset=UTF-8',
  });
  res.end('<html><body>Moved</body></html>');
}

export function notFound(res: ServerResponse, surface: Surface, what: string): void {
  sendError(res, surface, { code: 404, message: what, status: 'NOT_FOUND' });
}

/** Google's answer to a request body that is not a JSON object. */
export function sendInvalidJson(res: ServerResponse, surface: Surface): void {
  sendError(res, surface, { code: 400, message: 'Invalid JSON payload received.', status: 'INVALID_ARGUMENT' });
}

/**
 * Writes SSE events with the configured delay; `cut` destroys the socket halfway instead of finishing; `truncate`
 * ends the reply cleanly halfway, inside an event (half of it written, no blank line after it).
 */
async function writeSse(ctx: Ctx, events: string[], terminator: string, cut: boolean, truncate = false): Promise<void> {
  const { res, settings } = ctx;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  const cutAt = Math.max(1, Math.floor(events.length / 2));
  let flushed: Promise<void> = Promise.resolve();
  for (const [i, event] of events.entries()) {
    if (settings.chunkDelayMs > 0) await sleep(settings.chunkDelayMs);
    if (res.destroyed) return;
    if (cut && i === cutAt) {
      // let the first half reach the client before the connection drops, as a real mid-stream failure would
      await flushed;
      res.socket?.destroy();
      return;
    }
    if (truncate && i === cutAt) {
      res.end(`data: ${event.slice(0, Math.floor(event.length / 2))}`);
      return;
    }
    flushed = new Promise((resolve) => res.write(`data: ${event}${terminator}`, () => resolve()));
  }
  res.end();
}

/** A success body cut off after its first bytes, as a dropped connection looks to the client. */
function writeCutJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  res.write(text.slice(0, Math.floor(text.length / 2)), () => res.socket?.destroy());
}

/** A success body that ends cleanly halfway: the connection closes normally, the JSON is incomplete. */
function writeTruncatedJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  res.end(text.slice(0, Math.floor(text.length / 2)));
}

function sendMalformed(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  res.end('{"candidates": [{"content": {"parts": [{"text": "Hello from fa');
}

/** A successful, unstreamed reply, broken the way the call's behaviour says. */
export function sendReply(ctx: Ctx, reply: unknown): void {
  if (ctx.behaviour === 'malformed-json') sendMalformed(ctx.res);
  else if (ctx.behaviour === 'cut-stream') writeCutJson(ctx.res, reply);
  else if (ctx.behaviour === 'truncated-stream') writeTruncatedJson(ctx.res, reply);
  else sendJson(ctx.res, 200, reply);
}

/** A successful streamed reply of `events`, broken the way the call's behaviour says. */
export function sendStream(ctx: Ctx, events: string[], terminator: string): Promise<void> {
  return writeSse(ctx, events, terminator, ctx.behaviour === 'cut-stream', ctx.behaviour === 'truncated-stream');
}
