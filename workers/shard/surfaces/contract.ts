/**
 * What the edge of the shard worker hands a surface (an admitted request) and what a surface hands back (an outcome:
 * the response and the facts for the request's log line). The edge (`../edge/handler.ts`) has checked the URL, matched a
 * route, read the configuration and identified the client; a surface (`google/forward.ts`,
 * `anthropic/serve.ts`) reads the body, plans the upstream call, has the key core (`upstream.ts`) make it, and
 * shapes the answer.
 */
import type { ShardConfig, ShardEnv } from '../edge/bindings';
import type { WebSocketRuntime } from './live/bridge';
import type { RequestLine } from '../core/log';
import type { UpstreamDeps } from '../core/upstream';

export interface HandlerDeps extends UpstreamDeps {
  readonly randomUUID: () => string;
  /**
   * The runtime's WebSockets, for Live API sessions (`./live/serve.ts`).
   *
   * @default - none: Live API routes answer 501 (only workerd has them; Node unit tests run without)
   */
  readonly webSockets?: WebSocketRuntime;
}

/** A request the edge let through: its route matched and its credential is `PASS` or a client token. */
export interface Admitted {
  readonly request: Request;
  readonly url: URL;
  /** the raw bindings, for settings only one surface reads (e.g. `ANTHROPIC_MODEL_MAP`) */
  readonly env: ShardEnv;
  readonly config: ShardConfig;
  readonly requestId: string;
}

/** The request line's fields a surface knows; the edge adds the event, request id, route, client and time. */
export type LineFacts = Omit<RequestLine, 'event' | 'requestId' | 'route' | 'client' | 'ms'>;

export interface Outcome {
  readonly response: Response;
  readonly line: LineFacts;
}

/** Every value that must never reach a client, a log line or Google's answer passed on: pool keys and passwords. */
export function secretsOf(config: ShardConfig): readonly string[] {
  return [config.pass, ...config.clientTokens.map((t) => t.value), ...config.keys.map((k) => k.value)];
}
