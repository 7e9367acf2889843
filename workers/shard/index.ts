/**
 * The shard worker: holds a shard of Gemini API keys and serves OpenAI-compatible and native Gemini requests on
 * them, cooling rate-limited keys and failing over between them. Logic lives in the modules beside this file;
 * this handler only supplies the real clock, timers, randomness, network and the per-isolate key pool.
 */
import type { ShardEnv } from './edge/bindings';
import { handleRequest } from './edge/handler';
import { KeyPool } from './core/key-pool';
import type { LiveSocket, WebSocketRuntime } from './surfaces/live/bridge';
import { consoleLogger } from './core/log';

// the Durable Object class of the `CLIENT_LIMITER` binding: a limited client's request bucket (see ./fair-share)
export { ClientRateLimiter } from './fair-share/limiter-object';

// module scope: cooldowns and removed keys last as long as the isolate, shared by its concurrent requests
const pool = new KeyPool();

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A runtime WebSocket, accepted, behind the bridge's interface. */
function liveSocket(socket: WebSocket): LiveSocket {
  // Google sends every Live API message as a binary frame, which the runtime hands over as a Blob by default (the
  // standard binary type of recent compatibility dates): an ArrayBuffer can be passed on at once, and in order
  socket.binaryType = 'arraybuffer';
  socket.accept();
  return {
    send: (message) => socket.send(message),
    close: (code, reason) => socket.close(code, reason),
    onMessage: (listener) =>
      socket.addEventListener('message', (event) => {
        if (typeof event.data === 'string' || event.data instanceof ArrayBuffer) listener(event.data);
      }),
    onClose: (listener) => socket.addEventListener('close', (event) => listener(event.code, event.reason)),
    onError: (listener) => socket.addEventListener('error', () => listener()),
  };
}

const webSockets: WebSocketRuntime = {
  socketOf: (response) => (response.webSocket ? liveSocket(response.webSocket) : undefined),
  upgrade: (headers) => {
    const pair = new WebSocketPair();
    return { server: liveSocket(pair[1]), response: new Response(null, { status: 101, webSocket: pair[0], headers }) };
  },
};

export default {
  fetch(request, env) {
    return handleRequest(request, env, {
      fetch: (url, init) => fetch(url, init),
      now: () => Date.now(),
      random: () => Math.random(),
      sleep,
      randomUUID: () => crypto.randomUUID(),
      log: consoleLogger,
      pool,
      webSockets,
    });
  },
} satisfies ExportedHandler<ShardEnv>;
