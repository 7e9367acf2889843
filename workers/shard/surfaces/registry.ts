/**
 * Every surface of the shard worker, each declared once in its own folder (its routes, where its clients put the
 * credential, its error shape and its `serve`). The edge matches a request against them, builds the 404 hint from
 * them and dispatches to the one that matched; a new surface is a new folder and a line in each list below.
 */
import { anthropicSurface } from './anthropic/routes';
import type { RouteMatch, SurfaceMatch, Surface } from './contract';
import { googleSurface } from './google/routes';
import { liveSurface } from './live/routes';
import { openAISurface } from './openai/routes';
import { compatSurface } from './resources/compat-routes';
import { resourcesSurface } from './resources/routes';
import { responsesSurface } from './responses/routes';
import { zenSurface } from './zen/routes';

/**
 * The order matchers are tried in. No two surfaces claim the same path today, but the order is pinned so that one
 * claiming a whole prefix (Anthropic's `/v1/messages/`) keeps answering for it.
 */
export const MATCH_ORDER = [
  zenSurface,
  anthropicSurface,
  liveSurface,
  openAISurface,
  responsesSurface,
  compatSurface,
  resourcesSurface,
  googleSurface,
] as const;

/** The order the 404 hint lists the surfaces' routes in: the OpenAI and Gemini routes most clients use first. */
export const HINT_ORDER = [
  openAISurface,
  responsesSurface,
  googleSurface,
  resourcesSurface,
  compatSurface,
  anthropicSurface,
  liveSurface,
  zenSurface,
] as const;

/** Any registered surface, whatever its routes. */
export type RegisteredSurface = (typeof MATCH_ORDER)[number];

/** Every route of every surface. */
export type Route = RegisteredSurface extends infer S ? (S extends Surface<infer R> ? R : never) : never;

export type RouteName = Route['name'];

/** The 404 message for a path no surface claims. */
export const ROUTES_HINT = `Unknown path. Routes: ${HINT_ORDER.flatMap((s) => s.hint).join(', ')}.`;

/** The surface whose path this is and what its matcher said of the request, or undefined when no surface claims it. */
export function matchSurface(
  method: string,
  pathname: string,
  params: URLSearchParams,
): { readonly surface: RegisteredSurface; readonly match: SurfaceMatch<Route> } | undefined {
  for (const surface of MATCH_ORDER) {
    const match = surface.match(method, pathname, params);
    if (match !== undefined) return { surface, match };
  }
  return undefined;
}

/**
 * Matches a request against every surface's whitelist. `pathname` is the URL's pathname as the runtime parsed it
 * (percent-encoding intact), `params` its query.
 */
export function matchRoute(method: string, pathname: string, params: URLSearchParams): RouteMatch<Route> {
  const match = matchSurface(method, pathname, params)?.match ?? { kind: 'not-found' };
  return match.kind === 'route' ? { kind: 'route', route: match.route } : match;
}
