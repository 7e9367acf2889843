/**
 * The native Gemini surface: the model list and a model's `generateContent` and friends, each forwarded to the same
 * path on Google's host by `./forward.ts` (which serves the OpenAI surface's routes too). Google's clients put the
 * password where they put an API key (`x-goog-api-key` or `?key=`).
 */
import { byMethod, MODEL_ID, whitelistQuery } from '../route-matching';
import { defineSurface, type RouteMatch } from '../contract';
import type { OpenAIRouteName } from '../openai/routes';
import { serveGoogleRoute } from './forward';

export type NativeRouteName =
  | 'native.models.list'
  | 'native.models.get'
  | 'native.generateContent'
  | 'native.streamGenerateContent'
  | 'native.countTokens'
  | 'native.embedContent'
  | 'native.batchEmbedContents';

/** Routes forwarded to the Google endpoint of the same shape (OpenAI-compatible or native). */
export type GoogleRouteName = OpenAIRouteName | NativeRouteName;

export interface GoogleRoute {
  readonly name: GoogleRouteName;
  readonly surface: 'openai' | 'native';
  readonly method: 'GET' | 'POST';
  /** path on Google's host, e.g. `/v1beta/openai/chat/completions` */
  readonly upstreamPath: string;
  /** query string to send upstream (`''` or starting with `?`), built from validated parameters only */
  readonly upstreamSearch: string;
  /** model id from the path, without a `models/` prefix */
  readonly model?: string;
}

const NATIVE_ACTIONS = [
  'generateContent',
  'streamGenerateContent',
  'countTokens',
  'embedContent',
  'batchEmbedContents',
] as const;
type NativeAction = (typeof NATIVE_ACTIONS)[number];
const isNativeAction = (value: string | undefined): value is NativeAction =>
  (NATIVE_ACTIONS as readonly (string | undefined)[]).includes(value);

const NATIVE_MODELS = /^\/v1beta\/models$/;
const NATIVE_MODEL = new RegExp(`^/v1beta/models/(${MODEL_ID})$`);
const NATIVE_ACTION = new RegExp(`^/v1beta/models/(${MODEL_ID}):(${NATIVE_ACTIONS.join('|')})$`);

/** The query parameters a native route passes on; `key` and everything else is dropped. */
const PAGING = { pageSize: /^[0-9]{1,4}$/, pageToken: /^[A-Za-z0-9_=-]{1,1024}$/ };
const STREAM_FORMAT = { alt: /^(?:sse|json)$/ };

function nativeRoute(method: string, route: Omit<GoogleRoute, 'surface'>): RouteMatch<GoogleRoute> {
  const native: GoogleRoute = { ...route, surface: 'native' };
  return byMethod(method, { [route.method]: native });
}

function matchNative(method: string, pathname: string, params: URLSearchParams): RouteMatch<GoogleRoute> | undefined {
  if (NATIVE_MODELS.test(pathname)) {
    const search = whitelistQuery(params, PAGING);
    if (typeof search !== 'string') return { kind: 'bad-query', message: search.error };
    return nativeRoute(method, {
      name: 'native.models.list',
      method: 'GET',
      upstreamPath: '/v1beta/models',
      upstreamSearch: search,
    });
  }
  const nativeModel = NATIVE_MODEL.exec(pathname)?.[1];
  if (nativeModel !== undefined) {
    return nativeRoute(method, {
      name: 'native.models.get',
      method: 'GET',
      upstreamPath: `/v1beta/models/${encodeURIComponent(nativeModel)}`,
      upstreamSearch: '',
      model: nativeModel,
    });
  }
  const [, model, action] = NATIVE_ACTION.exec(pathname) ?? [];
  if (model === undefined || !isNativeAction(action)) return undefined;
  const search = whitelistQuery(params, action === 'streamGenerateContent' ? STREAM_FORMAT : {});
  if (typeof search !== 'string') return { kind: 'bad-query', message: search.error };
  return nativeRoute(method, {
    name: `native.${action}`,
    method: 'POST',
    upstreamPath: `/v1beta/models/${encodeURIComponent(model)}:${action}`,
    upstreamSearch: search,
    model,
  });
}

export const googleSurface = defineSurface({
  name: 'google',
  match: matchNative,
  hint: ['/v1beta/models[/{model}[:{action}]]'],
  // `@google/genai` adds the version to the gateway's origin itself; the AI SDK's Google provider expects it in its
  // base URL
  basePaths: ['/v1beta'],
  credential: 'google',
  errors: 'google',
  serve: serveGoogleRoute,
});
