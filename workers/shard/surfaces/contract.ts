/**
 * What a surface declares to the edge of the shard worker (its routes, credential places, error shape and serve:
 * see `./registry.ts`), what the edge hands it (an admitted request) and what it hands back (an outcome: the response
 * and the facts for the request's log line). The edge (`../edge/handler.ts`) has checked the URL, matched a route,
 * read the configuration and identified the client; a surface (`google/forward.ts`, `anthropic/serve.ts`) reads the
 * body, plans the upstream call, has the key core (`upstream.ts`) make it, and shapes the answer.
 */
import type { CredentialPlaces } from '../edge/auth';
import type { ShardConfig, ShardEnv } from '../edge/bindings';
import type { ErrorShape } from '../edge/refusal';
import type { WebSocketRuntime } from './live/bridge';
import type { RequestLine } from '../core/log';
import type { Usage } from '../core/stream-meter';
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
  /** the error body the route's surface's clients read, for the surface's own refusals */
  readonly errors: ErrorShape;
  /**
   * the name of the credential the client presented: `pass` (the operator) or a client token's name; the edge always
   * sets it, and a surface that finds it absent (a hand-built request in a unit test) treats the client as no operator
   */
  readonly client?: string;
}

/** The request line's fields a surface knows; the edge adds the event, request id, route, client and time. */
export type LineFacts = Omit<RequestLine, 'event' | 'requestId' | 'route' | 'client' | 'ms'>;

export interface Outcome {
  readonly response: Response;
  readonly line: LineFacts;
  /**
   * Google's token counts for the answer, for its usage data point (`../core/metering`): a whole reply's now, a
   * stream's when it ends.
   *
   * @default - none: the data point counts no tokens (a refusal, a resource call)
   */
  readonly usage?: Usage;
}

/** Every value that must never reach a client, a log line or Google's answer passed on: pool keys and passwords. */
export function secretsOf(config: ShardConfig): readonly string[] {
  return [config.pass, ...config.clientTokens.map((t) => t.value), ...config.keys.map((k) => k.value)];
}

/** Every route carries its name, which log lines and the status view use. */
export interface NamedRoute {
  readonly name: string;
  /** anyone may fetch it, with no credential: it holds no data (the status page, which asks for the password itself) */
  readonly open?: true;
}

/** What a surface's matcher says of a path that is one of its own. */
export type RouteMatch<R> =
  | { readonly kind: 'route'; readonly route: R }
  | { readonly kind: 'not-found' }
  /**
   * `allow` lists the methods the path takes, e.g. `GET, DELETE`; `route` names the route in the log line where the
   * refusal should be counted as that route's (the gateway's own `/zen/status`), not as an unmatched request
   */
  | { readonly kind: 'method-not-allowed'; readonly allow: string; readonly route?: string }
  | { readonly kind: 'bad-query'; readonly message: string };

/** A surface as it declares itself, once, in its own folder; `./registry.ts` lists every one. */
export interface SurfaceDefinition<R extends NamedRoute> {
  readonly name: string;
  /** the path, method and query whitelist: undefined when the path is none of this surface's */
  readonly match: (method: string, pathname: string, params: URLSearchParams) => RouteMatch<R> | undefined;
  /** its routes as the 404 hint lists them */
  readonly hint: readonly string[];
  /** the 404 message for a path this surface claims but has no route for, instead of the list of every route */
  readonly notFoundHint?: string;
  /**
   * the version paths its clients end a base URL with, or add to one themselves (`/v1`, `/v1beta`): a path no surface
   * claims is tried with one of them taken off its front or put there, so the 404 can say which base URL to use
   */
  readonly basePaths?: readonly string[];
  /** where its clients put the credential */
  readonly credential: CredentialPlaces;
  /** the error body its clients read, for the edge's refusals */
  readonly errors: ErrorShape;
  /** its requests are operators' looks at the gateway, not clients' requests: the status view does not count them */
  readonly uncounted?: true;
  readonly serve: (route: R, a: Admitted, deps: HandlerDeps) => Promise<Outcome>;
}

/** A matched route with its surface's `serve` bound to it, so the edge dispatches without knowing the route's type. */
export type SurfaceMatch<R> =
  | {
      readonly kind: 'route';
      readonly route: R;
      /** the route takes no credential (see {@link NamedRoute.open}) */
      readonly open: boolean;
      readonly serve: (a: Admitted, deps: HandlerDeps) => Promise<Outcome>;
    }
  | Exclude<RouteMatch<R>, { readonly kind: 'route' }>;

/** A registered surface: its declaration, with the matcher binding each route it matches to `serve`. */
export interface Surface<R extends NamedRoute> extends Omit<SurfaceDefinition<R>, 'match' | 'serve'> {
  readonly match: (method: string, pathname: string, params: URLSearchParams) => SurfaceMatch<R> | undefined;
}

export function defineSurface<R extends NamedRoute>(definition: SurfaceDefinition<R>): Surface<R> {
  const { match, serve, ...facts } = definition;
  return {
    ...facts,
    match: (method, pathname, params) => {
      const matched = match(method, pathname, params);
      if (matched?.kind !== 'route') return matched;
      const { route } = matched;
      return { kind: 'route', route, open: route.open === true, serve: (a, deps) => serve(route, a, deps) };
    },
  };
}
