/**
 * The two-way pipe of a Live API session: the client's WebSocket (the server end of a pair the worker made) and
 * Google's (from the upstream upgrade), each message passed on as it arrives, and the first close on either side
 * closing the other with the same code. Written over a minimal socket interface so it holds no Workers-only type;
 * `index.ts` supplies the runtime's sockets.
 */
import { redactMessage } from '../../core/redaction-stream';

/** The part of a WebSocket the bridge uses (Workers' `WebSocket` after `accept()`). */
export interface LiveSocket {
  send(message: string | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  /** a text frame as a string, a binary frame (every message Google sends) as an ArrayBuffer, each passed on as is */
  onMessage(listener: (data: string | ArrayBuffer) => void): void;
  /** a close frame arrived (`code` 1005 when it held none), or the connection dropped (1006) */
  onClose(listener: (code: number, reason: string) => void): void;
  onError(listener: () => void): void;
}

/** The runtime's WebSocket primitives; only workerd has them. */
export interface WebSocketRuntime {
  /** the accepted socket of an upgraded upstream response, or undefined when the response carries none */
  socketOf(response: Response): LiveSocket | undefined;
  /** a new pair: `server` accepted (the worker's end), `response` the 101 that hands the other end to the client */
  upgrade(headers: Headers): { readonly server: LiveSocket; readonly response: Response };
}

/** Code for a side that went away without a close frame: 1006 and 1015 are reserved and cannot be sent. */
export const PEER_LOST = 1011;

/** Codes a close frame may not carry: no status (1005), dropped (1006), TLS failure (1015). */
const UNSENDABLE: ReadonlySet<number> = new Set([1005, 1006, 1015]);

/** A close reason may hold at most 123 bytes (RFC 6455 §5.5). */
const MAX_REASON_BYTES = 123;

function closeQuietly(socket: LiveSocket, code: number | undefined, reason: string): void {
  try {
    if (code === undefined) socket.close();
    else socket.close(code, reason);
  } catch {
    // already closed
  }
}

/** The reason to pass on, without secrets and within the frame's limit. */
function passedReason(reason: string, redact: (text: string) => string): string {
  let out = redact(reason);
  while (new TextEncoder().encode(out).length > MAX_REASON_BYTES) out = out.slice(0, -1);
  return out;
}

/**
 * Pipes `client` and `upstream` both ways until one side closes, then closes the other with that side's code (no
 * code when it sent none; {@link PEER_LOST} when it dropped) and reports which side closed first and its code.
 * `redact` cleans the close reasons, which the other side receives, and every message Google sends the client.
 */
export function bridgeSockets(
  client: LiveSocket,
  upstream: LiveSocket,
  redact: (text: string) => string,
  onClosed: (by: 'client' | 'upstream', code: number) => void,
): void {
  let closed = false;
  const end = (by: 'client' | 'upstream', code: number, reason: string): void => {
    if (closed) return;
    closed = true;
    const [from, to] = by === 'client' ? [client, upstream] : [upstream, client];
    const passed = code === 1005 ? undefined : UNSENDABLE.has(code) ? PEER_LOST : code;
    closeQuietly(to, passed, passed === PEER_LOST && code !== PEER_LOST ? 'peer lost' : passedReason(reason, redact));
    // answers the close frame (or frees a dropped socket) on the side that closed first
    closeQuietly(from, UNSENDABLE.has(code) ? undefined : code, '');
    onClosed(by, code);
  };
  const forward = (to: LiveSocket, by: 'client' | 'upstream') => (data: string | ArrayBuffer) => {
    try {
      to.send(by === 'upstream' ? redactMessage(data, redact) : data);
    } catch {
      end(by === 'client' ? 'upstream' : 'client', 1006, '');
    }
  };
  client.onMessage(forward(upstream, 'client'));
  upstream.onMessage(forward(client, 'upstream'));
  client.onClose((code, reason) => end('client', code, reason));
  upstream.onClose((code, reason) => end('upstream', code, reason));
  client.onError(() => end('client', 1006, ''));
  upstream.onError(() => end('upstream', 1006, ''));
}
