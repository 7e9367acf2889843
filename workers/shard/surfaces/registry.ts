/**
 * Every surface of the shard worker, each declared once in its own folder (its routes, where its clients put the
 * credential, its error shape and its `serve`). The edge matches a request against them, builds the 404 hint from
 * them and dispatches to the one that matched; a new surface is a new folder and a line in each list below. For a
 * path no surface claims, the 404 names the path and, from the base paths the surfaces declare, which base URL the
 * client should use when it looks like a doubled or missing version.
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
import { printable } from '../../shared/printable';

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

/** How every 404 message for an unknown path opens; the edge puts the path received in it. */
const UNKNOWN_PATH = 'Unknown path.';

/** The 404 message for a path no surface claims. */
export const ROUTES_HINT = `${UNKNOWN_PATH} Routes: ${HINT_ORDER.flatMap((s) => s.hint).join(', ')}.`;

/** Every surface's base paths, longest first, so that `/v1beta/openai` is taken off a path before `/v1beta`. */
const BASE_PATHS = [...new Set(HINT_ORDER.flatMap((s) => s.basePaths ?? []))].sort((a, b) => b.length - a.length);

/** Why a path no surface claims is not a route: a base path too many at its front, or one missing there. */
export interface BaseUrlAdvice {
  readonly kind: 'extra' | 'missing';
  readonly basePath: string;
  /** the surface whose route the corrected path is: the client speaks its protocol, so the 404 takes its shape */
  readonly surface: RegisteredSurface;
}

/** The surface with a route at `pathname` (whatever the method or query), or undefined. */
function surfaceAt(method: string, pathname: string, params: URLSearchParams): RegisteredSurface | undefined {
  const found = matchSurface(method, pathname, params);
  return found !== undefined && found.match.kind !== 'not-found' ? found.surface : undefined;
}

/**
 * For a path no surface claims: the base path that, taken off its front or put there, makes it a route. A client
 * whose base URL ends in the version it adds itself doubles it (`@google/genai` with `<gateway>/v1beta` sends
 * `/v1beta/v1beta/models/...`; the Anthropic SDK with `<gateway>/v1` sends `/v1/v1/messages`); one that expects
 * the version in the base URL leaves it out when it is not there.
 */
export function baseUrlAdvice(method: string, pathname: string, params: URLSearchParams): BaseUrlAdvice | undefined {
  for (const basePath of BASE_PATHS) {
    if (!pathname.startsWith(`${basePath}/`)) continue;
    const surface = surfaceAt(method, pathname.slice(basePath.length), params);
    if (surface !== undefined) return { kind: 'extra', basePath, surface };
  }
  for (const basePath of BASE_PATHS) {
    const surface = surfaceAt(method, `${basePath}${pathname}`, params);
    if (surface !== undefined) return { kind: 'missing', basePath, surface };
  }
  return undefined;
}

/** The most of a path a 404 message or a log line quotes. */
export const MAX_SHOWN_PATH = 200;

/** A path as a client sent it, to quote in a message or a log line: control characters escaped, its length capped. */
export function shownPath(pathname: string): string {
  return printable(pathname.length > MAX_SHOWN_PATH ? `${pathname.slice(0, MAX_SHOWN_PATH)}…` : pathname);
}

/**
 * The 404 message for an unknown path: `hint` ({@link ROUTES_HINT} or a surface's `notFoundHint`) naming the path
 * (`shown`, from {@link shownPath}), and the base URL to use instead when `advice` has one (`origin` is the gateway's,
 * as the client reached it).
 */
export function unknownPathMessage(hint: string, shown: string, origin: string, advice?: BaseUrlAdvice): string {
  const routes = hint.startsWith(UNKNOWN_PATH) ? hint.slice(UNKNOWN_PATH.length) : ` ${hint}`;
  if (advice === undefined) return `Unknown path ${shown}.${routes}`;
  const { kind, basePath } = advice;
  const instead =
    kind === 'extra'
      ? `has ${basePath} too many: use ${origin} rather than ${origin}${basePath}`
      : `lacks ${basePath}: use ${origin}${basePath} rather than ${origin}`;
  return `Unknown path ${shown}. The client's base URL ${instead}.${routes}`;
}

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
