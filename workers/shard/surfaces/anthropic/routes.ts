/**
 * The Anthropic surface: the Messages API (`/v1/messages`, `/v1/messages/count_tokens`), translated to Gemini's
 * native API by `./serve.ts`. Anthropic's clients send the password as `x-api-key` (an API key) or as a Bearer token
 * (Claude Code's `ANTHROPIC_AUTH_TOKEN`), and read Anthropic's error object, on every path under `/v1/messages/`.
 */
import { defineSurface, type RouteMatch } from '../contract';
import { serveAnthropicRoute } from './serve';

export type AnthropicRouteName = 'anthropic.messages' | 'anthropic.countTokens';

/**
 * An Anthropic route has no upstream URL of its own: the Gemini model, and so the path, come from the body, and the
 * adapter builds them from a validated model id.
 */
export interface AnthropicRoute {
  readonly name: AnthropicRouteName;
  readonly surface: 'anthropic';
  readonly method: 'POST';
}

// Anthropic's own paths; the query (Claude Code sends `?beta=true`) is ignored, since nothing of it goes upstream
const ANTHROPIC_PATHS: ReadonlyMap<string, AnthropicRouteName> = new Map([
  ['/v1/messages', 'anthropic.messages'],
  ['/v1/messages/count_tokens', 'anthropic.countTokens'],
]);

function matchAnthropic(method: string, pathname: string): RouteMatch<AnthropicRoute> | undefined {
  const name = ANTHROPIC_PATHS.get(pathname);
  if (name !== undefined) {
    if (method !== 'POST') return { kind: 'method-not-allowed', allow: 'POST' };
    return { kind: 'route', route: { name, surface: 'anthropic', method: 'POST' } };
  }
  // the client speaks Anthropic here, so it gets Anthropic's error shape and only Anthropic's routes in the hint
  return pathname.startsWith('/v1/messages/') ? { kind: 'not-found' } : undefined;
}

export const anthropicSurface = defineSurface({
  name: 'anthropic',
  match: matchAnthropic,
  hint: ['/v1/messages[/count_tokens]'],
  notFoundHint: `Unknown path. Anthropic routes: ${[...ANTHROPIC_PATHS.keys()].map((path) => `POST ${path}`).join(', ')}.`,
  // Anthropic's SDKs add `/v1` to the gateway's origin themselves; the AI SDK's Anthropic provider expects it in its
  // base URL
  basePaths: ['/v1'],
  credential: 'anthropic',
  errors: 'anthropic',
  serve: serveAnthropicRoute,
});
