/**
 * The Responses surface: OpenAI's Responses API (`POST /v1/responses`, what Codex CLI, the Vercel AI SDK's `openai()`
 * provider and `openai.responses.create` call), translated to Gemini's native API by `./serve.ts`. It answers under
 * `/v1`, under Google's `/v1beta/openai` and with no prefix, as the OpenAI-compatible routes do. Its clients send the
 * password as a Bearer token and read OpenAI's error object. A stored response (`GET`/`DELETE /v1/responses/{id}`,
 * `cancel`, `input_items`) is answered with the reason it does not exist: the gateway keeps no state.
 */
import { defineSurface, type RouteMatch } from '../contract';
import { byMethod, OPENAI_PREFIX } from '../route-matching';
import { serveResponsesRoute } from './serve';

export type ResponsesRouteName = 'responses.create' | 'responses.stored';

/**
 * A Responses route has no upstream URL of its own: the Gemini model, and so the path, come from the body, and the
 * adapter builds them from a validated model id.
 */
export interface ResponsesRoute {
  readonly name: ResponsesRouteName;
  readonly surface: 'responses';
  readonly method: 'GET' | 'POST' | 'DELETE';
}

const CREATE = new RegExp(`^${OPENAI_PREFIX}/responses$`);
const UNDER = new RegExp(`^${OPENAI_PREFIX}/responses/`);
// a stored response's id, and what OpenAI serves on it; `input_tokens` and `compact` are other endpoints
const STORED = new RegExp(
  `^${OPENAI_PREFIX}/responses/(?!input_tokens$|compact$)[A-Za-z0-9_-]{1,256}(/cancel|/input_items)?$`,
);

function route(name: ResponsesRouteName, method: ResponsesRoute['method']): ResponsesRoute {
  return { name, surface: 'responses', method };
}

function matchResponses(method: string, pathname: string): RouteMatch<ResponsesRoute> | undefined {
  if (CREATE.test(pathname)) return byMethod(method, { POST: route('responses.create', 'POST') });
  const stored = STORED.exec(pathname);
  if (stored !== null) {
    const suffix = stored[1];
    if (suffix === '/cancel') return byMethod(method, { POST: route('responses.stored', 'POST') });
    if (suffix === '/input_items') return byMethod(method, { GET: route('responses.stored', 'GET') });
    return byMethod(method, { GET: route('responses.stored', 'GET'), DELETE: route('responses.stored', 'DELETE') });
  }
  // the client speaks the Responses API here, so the hint lists only its routes
  return UNDER.test(pathname) ? { kind: 'not-found' } : undefined;
}

export const responsesSurface = defineSurface({
  name: 'responses',
  match: matchResponses,
  hint: ['/v1/responses'],
  notFoundHint:
    'Unknown path. Responses routes: POST /v1/responses (stateless: send the whole conversation in input with store: false; nothing is stored, so there is no GET, DELETE, cancel, input_items, input_tokens or compact).',
  credential: 'bearer',
  errors: 'openai',
  serve: serveResponsesRoute,
});
