/**
 * The src worker's whitelist of routes. Upstream URLs are built only from these templates and validated model ids,
 * never by concatenating a client's raw path, so dot segments, encoded slashes or doubled slashes can only ever
 * produce a 404 here, not a request to an unintended Google URL.
 */

export type Surface = 'openai' | 'native' | 'anthropic' | 'live';

/** Routes forwarded to the Google endpoint of the same shape (OpenAI-compatible or native). */
export type GoogleRouteName =
  | 'chat.completions'
  | 'embeddings'
  | 'images.generations'
  | 'models.list'
  | 'models.retrieve'
  | 'native.models.list'
  | 'native.models.get'
  | 'native.generateContent'
  | 'native.streamGenerateContent'
  | 'native.countTokens'
  | 'native.embedContent'
  | 'native.batchEmbedContents';

/** Anthropic Messages routes: translated to Gemini's native API by `./anthropic/adapter`. */
export type AnthropicRouteName = 'anthropic.messages' | 'anthropic.countTokens';

/** Live API WebSocket sessions: on a pool key, or on the client's own ephemeral token (`Constrained`). */
export type LiveRouteName = 'live.bidi' | 'live.bidiConstrained';

export type RouteName = GoogleRouteName | AnthropicRouteName | LiveRouteName;

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

/**
 * An Anthropic route has no upstream URL of its own: the Gemini model, and so the path, come from the body, and the
 * adapter builds them from a validated model id.
 */
export interface AnthropicRoute {
  readonly name: AnthropicRouteName;
  readonly surface: 'anthropic';
  readonly method: 'POST';
}

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

export type Route = GoogleRoute | AnthropicRoute | LiveRoute;

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: Route }
  /** `surface` only under `/v1/messages/`, where the client speaks Anthropic and expects its error shape */
  | { readonly kind: 'not-found'; readonly surface?: 'anthropic' }
  | { readonly kind: 'method-not-allowed'; readonly allow: 'GET' | 'POST'; readonly surface?: 'anthropic' }
  | { readonly kind: 'bad-query'; readonly message: string };

/** Gemini model ids: `gemini-2.5-flash`, `gemini-2.5-flash-preview-05-20`, `gemma-3-27b-it`, `embedding-001`. */
const MODEL_ID = '[A-Za-z0-9][A-Za-z0-9._-]{0,127}';
const MODEL_ID_RE = new RegExp(`^${MODEL_ID}$`);

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

// OpenAI clients use `/v1`; some tools are configured with no version, others copy Google's `/v1beta/openai` base.
const OPENAI_PREFIX = '(?:/v1|/v1beta/openai)?';
/** An OpenAI-compatible POST route, forwarded to the same path under Google's `/v1beta/openai/`. */
function openAIPost(name: GoogleRouteName, path: string): { name: GoogleRouteName; path: string; pattern: RegExp } {
  return { name, path, pattern: new RegExp(`^${OPENAI_PREFIX}/${path}$`) };
}
// image generation (Imagen) is stateless like chat: the model is in the body and the images come back inline
const OPENAI_POSTS = [
  openAIPost('chat.completions', 'chat/completions'),
  openAIPost('embeddings', 'embeddings'),
  openAIPost('images.generations', 'images/generations'),
] as const;
const OPENAI_MODELS = new RegExp(`^${OPENAI_PREFIX}/models$`);
// `models/` is optional because Google's list returns ids like `models/gemini-2.5-flash`
const OPENAI_MODEL = new RegExp(`^${OPENAI_PREFIX}/models/(?:models/)?(${MODEL_ID})$`);
const NATIVE_MODELS = /^\/v1beta\/models$/;
const NATIVE_MODEL = new RegExp(`^/v1beta/models/(${MODEL_ID})$`);
const NATIVE_ACTION = new RegExp(`^/v1beta/models/(${MODEL_ID}):(${NATIVE_ACTIONS.join('|')})$`);
// Anthropic's own paths; the query (Claude Code sends `?beta=true`) is ignored, since nothing of it goes upstream
const ANTHROPIC_PATHS: ReadonlyMap<string, AnthropicRouteName> = new Map([
  ['/v1/messages', 'anthropic.messages'],
  ['/v1/messages/count_tokens', 'anthropic.countTokens'],
]);

// `live.connect` of `@google/genai` joins a base URL's trailing slash with its own leading one, so `//ws/` is what it
// sends to a base URL without a path; v1alpha is the version its ephemeral tokens need
const LIVE_PATH =
  /^\/\/?ws\/google\.ai\.generativelanguage\.(v1alpha|v1beta)\.GenerativeService\.(BidiGenerateContent|BidiGenerateContentConstrained)$/;
// the `name` of a token Google minted (`auth_tokens/...`)
const ACCESS_TOKEN = /^auth_tokens\/[A-Za-z0-9._~-]{1,1024}$/;

/** Normalises a model name from a request body (`models/x` → `x`); undefined when it is not a plausible id. */
export function normaliseModel(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const id = value.startsWith('models/') ? value.slice('models/'.length) : value;
  return MODEL_ID_RE.test(id) ? id : undefined;
}

/** Whitelisted native query parameters; everything else (notably `key`) is dropped. */
function nativeSearch(
  params: URLSearchParams,
  allowed: readonly ('alt' | 'pageSize' | 'pageToken')[],
): string | { error: string } {
  const out = new URLSearchParams();
  for (const name of allowed) {
    const value = params.get(name);
    if (value === null) continue;
    const valid =
      name === 'alt'
        ? value === 'sse' || value === 'json'
        : name === 'pageSize'
          ? /^[0-9]{1,4}$/.test(value)
          : /^[A-Za-z0-9_=-]{1,1024}$/.test(value);
    if (!valid) return { error: `invalid value for query parameter "${name}"` };
    out.set(name, value);
  }
  const text = out.toString();
  return text ? `?${text}` : '';
}

function route(method: string, want: 'GET' | 'POST', r: Omit<GoogleRoute, 'method'>): RouteMatch {
  if (method !== want) return { kind: 'method-not-allowed', allow: want };
  return { kind: 'route', route: { ...r, method: want } };
}

/**
 * Matches a request against the whitelist. `pathname` is the URL's pathname as the runtime parsed it
 * (percent-encoding intact), `params` its query.
 */
export function matchRoute(method: string, pathname: string, params: URLSearchParams): RouteMatch {
  return (
    matchAnthropic(method, pathname) ??
    matchLive(method, pathname, params) ??
    matchOpenAI(method, pathname) ??
    matchNative(method, pathname, params) ?? { kind: 'not-found' }
  );
}

function matchAnthropic(method: string, pathname: string): RouteMatch | undefined {
  const name = ANTHROPIC_PATHS.get(pathname);
  if (name !== undefined) {
    if (method !== 'POST') return { kind: 'method-not-allowed', allow: 'POST', surface: 'anthropic' };
    return { kind: 'route', route: { name, surface: 'anthropic', method: 'POST' } };
  }
  return pathname.startsWith('/v1/messages/') ? { kind: 'not-found', surface: 'anthropic' } : undefined;
}

function matchLive(method: string, pathname: string, params: URLSearchParams): RouteMatch | undefined {
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

function matchOpenAI(method: string, pathname: string): RouteMatch | undefined {
  const post = OPENAI_POSTS.find((r) => r.pattern.test(pathname));
  if (post !== undefined) {
    return route(method, 'POST', {
      name: post.name,
      surface: 'openai',
      upstreamPath: `/v1beta/openai/${post.path}`,
      upstreamSearch: '',
    });
  }
  if (OPENAI_MODELS.test(pathname)) {
    return route(method, 'GET', {
      name: 'models.list',
      surface: 'openai',
      upstreamPath: '/v1beta/openai/models',
      upstreamSearch: '',
    });
  }
  const openaiModel = OPENAI_MODEL.exec(pathname)?.[1];
  if (openaiModel !== undefined) {
    return route(method, 'GET', {
      name: 'models.retrieve',
      surface: 'openai',
      upstreamPath: `/v1beta/openai/models/${encodeURIComponent(openaiModel)}`,
      upstreamSearch: '',
      model: openaiModel,
    });
  }
  return undefined;
}

function matchNative(method: string, pathname: string, params: URLSearchParams): RouteMatch | undefined {
  if (NATIVE_MODELS.test(pathname)) {
    const search = nativeSearch(params, ['pageSize', 'pageToken']);
    if (typeof search !== 'string') return { kind: 'bad-query', message: search.error };
    return route(method, 'GET', {
      name: 'native.models.list',
      surface: 'native',
      upstreamPath: '/v1beta/models',
      upstreamSearch: search,
    });
  }
  const nativeModel = NATIVE_MODEL.exec(pathname)?.[1];
  if (nativeModel !== undefined) {
    return route(method, 'GET', {
      name: 'native.models.get',
      surface: 'native',
      upstreamPath: `/v1beta/models/${encodeURIComponent(nativeModel)}`,
      upstreamSearch: '',
      model: nativeModel,
    });
  }
  const [, model, action] = NATIVE_ACTION.exec(pathname) ?? [];
  if (model !== undefined && isNativeAction(action)) {
    const search = nativeSearch(params, action === 'streamGenerateContent' ? ['alt'] : []);
    if (typeof search !== 'string') return { kind: 'bad-query', message: search.error };
    return route(method, 'POST', {
      name: `native.${action}`,
      surface: 'native',
      upstreamPath: `/v1beta/models/${encodeURIComponent(model)}:${action}`,
      upstreamSearch: search,
      model,
    });
  }
  return undefined;
}
