/**
 * The OpenAI surface: chat completions, embeddings, image generation and the model list, each forwarded to the same
 * path under Google's `/v1beta/openai/` by `../google/forward.ts`. OpenAI's clients send the password as a Bearer
 * token and read OpenAI's error object.
 */
import { byMethod, decodeNameSlashes, normaliseModel, OPENAI_BASE_PATHS, OPENAI_PREFIX } from '../route-matching';
import { defineSurface, type RouteMatch } from '../contract';
import type { GoogleRoute } from '../google/routes';
import { serveGoogleRoute } from '../google/forward';

export type OpenAIRouteName =
  | 'chat.completions'
  | 'embeddings'
  | 'images.generations'
  | 'models.list'
  | 'models.retrieve';

/** An OpenAI-compatible POST route, forwarded to the same path under Google's `/v1beta/openai/`. */
function openAIPost(name: OpenAIRouteName, path: string): { name: OpenAIRouteName; path: string; pattern: RegExp } {
  return { name, path, pattern: new RegExp(`^${OPENAI_PREFIX}/${path}$`) };
}
// image generation (Imagen) is stateless like chat: the model is in the body and the images come back inline
const OPENAI_POSTS = [
  openAIPost('chat.completions', 'chat/completions'),
  openAIPost('embeddings', 'embeddings'),
  openAIPost('images.generations', 'images/generations'),
] as const;
const OPENAI_MODELS = new RegExp(`^${OPENAI_PREFIX}/models$`);
// one segment, or two when a client sends the `models/` of the ids Google's list returns (`models/gemini-2.5-flash`)
// with its slash as is; the `openai` SDK sends it encoded, as `models%2Fgemini-2.5-flash`
const OPENAI_MODEL = new RegExp(`^${OPENAI_PREFIX}/models/((?:models/)?[^/]+)$`);

function openAIRoute(
  method: string,
  want: 'GET' | 'POST',
  name: OpenAIRouteName,
  upstreamPath: string,
  model?: string,
): RouteMatch<GoogleRoute> {
  const route: GoogleRoute = {
    name,
    surface: 'openai',
    method: want,
    upstreamPath,
    upstreamSearch: '',
    ...(model !== undefined ? { model } : {}),
  };
  return byMethod(method, { [want]: route });
}

function matchOpenAI(method: string, pathname: string): RouteMatch<GoogleRoute> | undefined {
  const post = OPENAI_POSTS.find((r) => r.pattern.test(pathname));
  if (post !== undefined) return openAIRoute(method, 'POST', post.name, `/v1beta/openai/${post.path}`);
  if (OPENAI_MODELS.test(pathname)) return openAIRoute(method, 'GET', 'models.list', '/v1beta/openai/models');
  const segment = OPENAI_MODEL.exec(pathname)?.[1];
  const model = segment === undefined ? undefined : normaliseModel(decodeNameSlashes(segment));
  if (model === undefined) return undefined;
  return openAIRoute(method, 'GET', 'models.retrieve', `/v1beta/openai/models/${encodeURIComponent(model)}`, model);
}

export const openAISurface = defineSurface({
  name: 'openai',
  match: matchOpenAI,
  hint: [...OPENAI_POSTS.map((r) => `/v1/${r.path}`), '/v1/models[/{model}]'],
  basePaths: OPENAI_BASE_PATHS,
  credential: 'bearer',
  errors: 'openai',
  serve: serveGoogleRoute,
});
