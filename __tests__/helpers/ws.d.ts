/**
 * The part of the `ws` package the Live API tests use. `ws` is installed as a dependency of `@google/genai` (whose
 * `live.connect` runs on it in Node); its own type package is not, so the few members used are declared here.
 */
declare module 'ws' {
  import type { IncomingMessage, Server } from 'node:http';

  type RawData = Buffer | ArrayBuffer | Buffer[];

  class WebSocket {
    constructor(url: string, options?: { readonly headers?: Record<string, string> });
    readonly readyState: number;
    send(data: string | Buffer): void;
    close(code?: number, reason?: string): void;
    terminate(): void;
    on(event: 'open', listener: () => void): this;
    on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): this;
    on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: 'unexpected-response', listener: (request: unknown, response: IncomingMessage) => void): this;
  }

  class WebSocketServer {
    constructor(options: { readonly server: Server });
    on(event: 'connection', listener: (socket: WebSocket, request: IncomingMessage) => void): this;
    close(callback?: () => void): void;
  }

  export { WebSocket, WebSocketServer };
  export default WebSocket;
}
