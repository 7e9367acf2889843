/**
 * The Live API surface: WebSocket sessions proxied to Google's endpoint of the same path by `./serve.ts`, on a pool
 * key, or on the client's own ephemeral token (`BidiGenerateContentConstrained`). `live.connect` puts the password
 * where native clients put an API key (`?key=`, or `x-goog-api-key` from `httpOptions.headers`).
 */
import { defineSurface, type RouteMatch } from '../contract';
import { serveLiveRoute } from './serve';

/** Live API WebSocket sessions: on a pool key, or on the client's own ephemeral token (`Constrained`). */
export type LiveRouteName = 'live.bidi' | 'live.bidiConstrained';

/** A Live API session: a WebSocket upgrade proxied to Google's endpoint of the same path. */
export interface LiveRoute {
  readonly name: LiveRouteName;
  readonly surface: 'live';
  readonly method: 'GET';
  /** path on Google's host, e.g. `/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent` */
  readonly upstreamPath: string;
  /** `live.bidiConstrained` only: Google's ephemeral token (`auth_tokens/...`), sent upstream as `access_token` */
  readonly accessToken?: string;
}

// `live.connect` of `@google/genai` joins a base URL's trailing slash with its own leading one, so `//ws/` is what it
// sends to a base URL without a path; v1alpha is the version its ephemeral tokens need
const LIVE_PATH =
  /^\/\/?ws\/google\.ai\.generativelanguage\.(v1alpha|v1beta)\.GenerativeService\.(BidiGenerateContent|BidiGenerateContentConstrained)$/;
// the `name` of a token Google minted (`auth_tokens/...`)
const ACCESS_TOKEN = /^auth_tokens\/[A-Za-z0-9._~-]{1,1024}$/;

function matchLive(method: string, pathname: string, params: URLSearchParams): RouteMatch<LiveRoute> | undefined {
  const [, version, rpc] = LIVE_PATH.exec(pathname) ?? [];
  if (version === undefined || rpc === undefined) return undefined;
  if (method !== 'GET') return { kind: 'method-not-allowed', allow: 'GET' };
  const upstreamPath = `/ws/google.ai.generativelanguage.${version}.GenerativeService.${rpc}`;
  if (rpc === 'BidiGenerateContent') {
    return { kind: 'route', route: { name: 'live.bidi', surface: 'live', method: 'GET', upstreamPath } };
  }
  const accessToken = params.get('access_token');
  if (accessToken === null || !ACCESS_TOKEN.test(accessToken)) {
    return {
      kind: 'bad-query',
      message: 'BidiGenerateContentConstrained needs an ephemeral token from Google as access_token=auth_tokens/...',
    };
  }
  return {
    kind: 'route',
    route: { name: 'live.bidiConstrained', surface: 'live', method: 'GET', upstreamPath, accessToken },
  };
}

export const liveSurface = defineSurface({
  name: 'live',
  match: matchLive,
  hint: ['/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent (WebSocket)'],
  credential: 'google',
  errors: 'google',
  serve: serveLiveRoute,
});
