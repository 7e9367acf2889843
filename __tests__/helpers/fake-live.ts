/**
 * A fake of Google's Live API WebSocket endpoint on 127.0.0.1: answers `setup` with `setupComplete` and each
 * `clientContent` turn with a `serverContent` turn that echoes its text, each as a binary frame holding JSON (as
 * Google sends every Live API message, which is why the SDKs decode Blob and ArrayBuffer messages), and records every
 * connection it accepted (path, query, credential headers, the kind of each frame) so a test can tell which key
 * reached Google and that a refused client never did. A turn whose text is {@link CLOSE_TEXT} makes it close the
 * session with {@link CLOSE_CODE}, as Google does when a session breaks a limit mid-way. A frame that is not JSON
 * comes back byte for byte in a frame of its own kind, so a test can tell that frames pass the gateway unchanged.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

/** The text of a turn that makes the fake close the session. */
export const CLOSE_TEXT = 'please close now';
/** The code it closes with (1008, policy violation, what Google sends when a session breaks its quota). */
export const CLOSE_CODE = 1008;
export const CLOSE_REASON = 'fake: session closed by the server';

export interface LiveConnection {
  /** path with query, as received */
  readonly url: string;
  readonly apiKeyHeader?: string;
  readonly authorization?: string;
  /** every message the client sent, parsed (a frame that is not JSON: its bytes as a Buffer) */
  readonly received: unknown[];
  /** the kind of each frame the client sent, in order */
  readonly frames: ('text' | 'binary')[];
}

export interface FakeLive {
  /** origin, e.g. `http://127.0.0.1:12345` */
  readonly url: string;
  readonly connections: LiveConnection[];
  /** resolves once the connection `index` has closed, with the code the client's side sent or 1005 */
  closed(index: number): Promise<number>;
  reset(): void;
  close(): Promise<void>;
}

function textOf(message: unknown): string {
  const turns = (message as { clientContent?: { turns?: { parts?: { text?: string }[] }[] } }).clientContent?.turns;
  return (turns ?? [])
    .flatMap((t) => t.parts ?? [])
    .map((p) => p.text ?? '')
    .join('');
}

/** A frame's JSON object, or undefined when it holds none. */
function parsed(bytes: Buffer): object | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function startFakeLive(): Promise<FakeLive> {
  const server = createServer((_request, response) => {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end('{"error":{"code":404,"message":"only WebSockets here","status":"NOT_FOUND"}}');
  });
  const wss = new WebSocketServer({ server });
  const connections: LiveConnection[] = [];
  const closes: Promise<number>[] = [];
  wss.on('connection', (socket, request) => {
    const apiKeyHeader = request.headers['x-goog-api-key'];
    const authorization = request.headers.authorization;
    const connection: LiveConnection = {
      url: request.url ?? '',
      ...(typeof apiKeyHeader === 'string' ? { apiKeyHeader } : {}),
      ...(authorization !== undefined ? { authorization } : {}),
      received: [],
      frames: [],
    };
    connections.push(connection);
    closes.push(new Promise((resolve) => socket.on('close', (code) => resolve(code))));
    // Google sends every message as a binary frame holding JSON, never as a text frame
    const send = (message: unknown): void => socket.send(Buffer.from(JSON.stringify(message)), { binary: true });
    socket.on('message', (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
      connection.frames.push(isBinary ? 'binary' : 'text');
      const message = parsed(bytes);
      if (message === undefined) {
        connection.received.push(bytes);
        socket.send(bytes, { binary: isBinary });
        return;
      }
      connection.received.push(message);
      if ('setup' in message) send({ setupComplete: {} });
      if ('clientContent' in message) {
        const text = textOf(message);
        if (text === CLOSE_TEXT) {
          socket.close(CLOSE_CODE, CLOSE_REASON);
          return;
        }
        const reply = { modelTurn: { role: 'model', parts: [{ text: `echo: ${text}` }] }, turnComplete: true };
        send({ serverContent: reply });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    closed: (index) => closes[index] ?? Promise.reject(new Error(`no connection ${index}`)),
    reset() {
      connections.length = 0;
      closes.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
