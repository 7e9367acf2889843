/**
 * The shard worker's whitelist of routes. Upstream URLs are built only from these templates and validated model ids
 * and resource ids, never by concatenating a client's raw path, so dot segments, encoded slashes or doubled slashes
 * can only ever produce a 404 here, not a request to an unintended Google URL.
 */
import {
  decodeListCursor,
  type ListCursor,
  type OwnedCollection,
  parseTaggedId,
  type ResourceOwner,
} from '../../shared/owner-tag';

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

/** Google's stateful resources (files, cached contents, batches, interactions): see `../surfaces/resources/serve.ts`. */
export type ResourceRouteName =
  | 'files.uploadStart'
  | 'files.upload'
  | 'files.get'
  | 'files.delete'
  | 'files.download'
  | 'files.list'
  | 'cachedContents.create'
  | 'cachedContents.get'
  | 'cachedContents.update'
  | 'cachedContents.delete'
  | 'cachedContents.list'
  | 'batches.create'
  | 'batches.get'
  | 'batches.update'
  | 'batches.delete'
  | 'batches.cancel'
  | 'batches.list'
  | 'interactions.create'
  | 'interactions.get'
  | 'interactions.delete'
  | 'interactions.cancel';

/** The OpenAI-compatible files and batches (`/v1/files`, `/v1/batches`): see `../surfaces/resources/compat.ts`. */
export type CompatRouteName =
  | 'openai.files.create'
  | 'openai.files.get'
  | 'openai.files.delete'
  | 'openai.files.content'
  | 'openai.files.list'
  | 'openai.batches.create'
  | 'openai.batches.get'
  | 'openai.batches.cancel'
  | 'openai.batches.list';

export type RouteName = GoogleRouteName | AnthropicRouteName | LiveRouteName | ResourceRouteName | CompatRouteName;

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

export type ResourceMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** The resource a path names: its owner and Google's id from a well-formed tag, or the reference that has none. */
export type OwnedTarget =
  | {
      readonly kind: 'tagged';
      readonly owner: ResourceOwner;
      /** the path or query on Google's host with Google's own id, built from the validated id only */
      readonly upstreamPath: string;
      /** the reference as the client wrote it, for messages (e.g. `files/z0k1qmfa-abc`) */
      readonly reference: string;
    }
  | { readonly kind: 'untagged'; readonly reference: string };

interface ResourceRouteBase {
  /** tells a resource route from the other routes of the native and OpenAI surfaces */
  readonly family: 'resource';
  readonly name: ResourceRouteName;
  readonly surface: 'native';
  readonly method: ResourceMethod;
  readonly collection: OwnedCollection;
}

/** A call that creates a resource: its owner is the key a body reference names, else the pool key that served it. */
export interface CreateResourceRoute extends ResourceRouteBase {
  readonly kind: 'create';
  readonly upstreamPath: string;
  /** the model id of a batch's path, the cooldown scope */
  readonly model?: string;
}

/** A call on one owned resource (or on an upload session, `files.upload`): that resource's key only. */
export interface OwnedResourceRoute extends ResourceRouteBase {
  readonly kind: 'owned';
  readonly target: OwnedTarget;
  /** query string to send upstream (`''` or starting with `?`), built from validated parameters only */
  readonly upstreamSearch: string;
}

/** A merged listing of every key's resources of one collection. */
export interface ListResourceRoute extends ResourceRouteBase {
  readonly kind: 'list';
  readonly collection: 'files' | 'cachedContents' | 'batches';
  readonly pageSize?: number;
  /** where the page starts: the decoded `pageToken` (undefined: the first page) */
  readonly cursor?: ListCursor;
}

interface CompatRouteBase {
  readonly family: 'resource';
  readonly kind: 'compat';
  readonly name: CompatRouteName;
  /** the OpenAI surface: a Bearer credential, OpenAI-shaped errors */
  readonly surface: 'openai';
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly collection: 'files' | 'batches';
}

/**
 * An OpenAI-compatible file or batch route (Google's `/v1beta/openai/files`, `/batches`): a creation (on a pool key,
 * or the key of the file a batch names), a call on one owned file or batch, or a listing of this worker's keys.
 */
export type CompatResourceRoute =
  | (CompatRouteBase & { readonly action: 'create'; readonly upstreamPath: string })
  | (CompatRouteBase & { readonly action: 'owned'; readonly target: OwnedTarget })
  | (CompatRouteBase & {
      readonly action: 'list';
      /** OpenAI's `limit` */
      readonly limit?: number;
      /** OpenAI's `after`: the id of the last item of the previous page, whose tag says where the walk resumes */
      readonly after?: OwnedTarget;
    });

export type ResourceRoute = CreateResourceRoute | OwnedResourceRoute | ListResourceRoute | CompatResourceRoute;

export type Route = GoogleRoute | AnthropicRoute | LiveRoute | ResourceRoute;

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: Route }
  /** `surface` only under `/v1/messages/`, where the client speaks Anthropic and expects its error shape */
  | { readonly kind: 'not-found'; readonly surface?: 'anthropic' }
  /** `allow` lists the methods the path takes, e.g. `GET, DELETE` */
  | { readonly kind: 'method-not-allowed'; readonly allow: string; readonly surface?: 'anthropic' }
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
    matchCompatResource(method, pathname, params) ??
    matchResource(method, pathname, params) ??
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

// ---- Google's stateful resources ----

/** Google's id inside a tag: the tag grammar's characters, and no leading dot, so no id is ever a dot segment. */
const GOOGLE_ID = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,1023}$/;
const UPLOAD_PATH = '/upload/v1beta/files';
const RESOURCE_LIST = /^\/v1beta\/(files|cachedContents|batches)$/;
const RESOURCE_ITEM = /^\/v1beta\/(files|cachedContents|batches|interactions)\/([^/:]+)(?::([A-Za-z]+)|\/(cancel))?$/;
const FILE_DOWNLOAD = /^\/download\/v1beta\/files\/([^/:]+):download$/;
const BATCH_CREATE = new RegExp(`^/v1beta/models/(${MODEL_ID}):(batchGenerateContent|asyncBatchEmbedContent)$`);
const INTERACTIONS = '/v1beta/interactions';
const CACHED_CONTENTS = '/v1beta/cachedContents';

const PAGE_SIZE = /^[1-9][0-9]{0,3}$/;
const UPDATE_MASK = /^[A-Za-z0-9_.,]{1,512}$/;
const BOOLEAN = /^(?:true|false)$/;

/** Whitelisted query parameters of a resource call, each checked against its pattern; everything else is dropped. */
function resourceSearch(
  params: URLSearchParams,
  allowed: Readonly<Record<string, RegExp>>,
): string | { error: string } {
  const out = new URLSearchParams();
  for (const [name, pattern] of Object.entries(allowed)) {
    const value = params.get(name);
    if (value === null) continue;
    if (!pattern.test(value)) return { error: `invalid value for query parameter "${name}"` };
    out.set(name, value);
  }
  const text = out.toString();
  return text ? `?${text}` : '';
}

/** The owner and Google's id of a tagged id from a path or query, with the upstream path built from them. */
function ownedTarget(collection: string, id: string, upstream: (googleId: string) => string): OwnedTarget {
  const reference = collection === 'upload' ? `upload session ${id}` : `${collection}/${id}`;
  const tagged = parseTaggedId(id);
  if (tagged === undefined || !GOOGLE_ID.test(tagged.googleId)) return { kind: 'untagged', reference };
  return { kind: 'tagged', owner: tagged.owner, upstreamPath: upstream(tagged.googleId), reference };
}

function resourceRoute(method: string, allowed: Partial<Record<ResourceMethod, ResourceRoute>>): RouteMatch {
  const match = allowed[method as ResourceMethod];
  if (match !== undefined && Object.hasOwn(allowed, method)) return { kind: 'route', route: match };
  return { kind: 'method-not-allowed', allow: Object.keys(allowed).join(', ') };
}

function listRoute(
  collection: 'files' | 'cachedContents' | 'batches',
  params: URLSearchParams,
): ListResourceRoute | { error: string } {
  const pageSize = params.get('pageSize');
  if (pageSize !== null && !PAGE_SIZE.test(pageSize)) return { error: 'pageSize must be an integer from 1 to 9999' };
  const token = params.get('pageToken');
  const cursor = token === null || token === '' ? undefined : decodeListCursor(token);
  if (token !== null && token !== '' && cursor === undefined) {
    return {
      error: `pageToken was not issued by this gateway: a listing of ${collection} merges the listings of every Gemini API key of the gateway, so pass the nextPageToken of the previous page unchanged, or omit pageToken for the first page`,
    };
  }
  return {
    family: 'resource',
    kind: 'list',
    name: `${collection}.list`,
    surface: 'native',
    method: 'GET',
    collection,
    ...(pageSize !== null ? { pageSize: Number(pageSize) } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
  };
}

function createRoute(
  name: CreateResourceRoute['name'],
  collection: OwnedCollection,
  upstreamPath: string,
  model?: string,
): CreateResourceRoute {
  return {
    family: 'resource',
    kind: 'create',
    name,
    surface: 'native',
    method: 'POST',
    collection,
    upstreamPath,
    ...(model !== undefined ? { model } : {}),
  };
}

function ownedRoute(
  name: ResourceRouteName,
  method: ResourceMethod,
  collection: OwnedCollection,
  target: OwnedTarget,
  upstreamSearch = '',
): OwnedResourceRoute {
  return { family: 'resource', kind: 'owned', name, surface: 'native', method, collection, target, upstreamSearch };
}

/** The routes of Google's files, cached contents, batches and interactions (native paths, `v1beta`). */
function matchResource(method: string, pathname: string, params: URLSearchParams): RouteMatch | undefined {
  if (pathname === UPLOAD_PATH) {
    const uploadId = params.get('upload_id');
    if (uploadId === null) {
      return resourceRoute(method, { POST: createRoute('files.uploadStart', 'files', UPLOAD_PATH) });
    }
    const target = ownedTarget(
      'upload',
      uploadId,
      (id) => `${UPLOAD_PATH}?${new URLSearchParams({ upload_id: id, upload_protocol: 'resumable' })}`,
    );
    return resourceRoute(method, { POST: ownedRoute('files.upload', 'POST', 'files', target) });
  }
  const list = RESOURCE_LIST.exec(pathname)?.[1];
  if (list === 'files' || list === 'cachedContents' || list === 'batches') {
    if (method === 'GET') {
      const listing = listRoute(list, params);
      return 'error' in listing ? { kind: 'bad-query', message: listing.error } : { kind: 'route', route: listing };
    }
    if (list === 'cachedContents' && method === 'POST') {
      return { kind: 'route', route: createRoute('cachedContents.create', 'cachedContents', CACHED_CONTENTS) };
    }
    return { kind: 'method-not-allowed', allow: list === 'cachedContents' ? 'GET, POST' : 'GET' };
  }
  if (pathname === INTERACTIONS) {
    return resourceRoute(method, { POST: createRoute('interactions.create', 'interactions', INTERACTIONS) });
  }
  const [, batchModel, batchAction] = BATCH_CREATE.exec(pathname) ?? [];
  if (batchModel !== undefined && batchAction !== undefined) {
    const upstreamPath = `/v1beta/models/${encodeURIComponent(batchModel)}:${batchAction}`;
    return resourceRoute(method, { POST: createRoute('batches.create', 'batches', upstreamPath, batchModel) });
  }
  const download = FILE_DOWNLOAD.exec(pathname)?.[1];
  if (download !== undefined) return matchItem(method, params, 'files', download, 'download', '/download');
  const [, collection, id, action, cancel] = RESOURCE_ITEM.exec(pathname) ?? [];
  if (collection === undefined || id === undefined) return undefined;
  return matchItem(method, params, collection as OwnedCollection, id, action ?? (cancel ? '/cancel' : undefined), '');
}

/** `/v1beta/{collection}/{id}` with an optional `:action` (or `/cancel` for interactions). */
function matchItem(
  method: string,
  params: URLSearchParams,
  collection: OwnedCollection,
  id: string,
  action: string | undefined,
  prefix: '' | '/download',
): RouteMatch {
  const target = (suffix: string): OwnedTarget =>
    ownedTarget(collection, id, (googleId) => `${prefix}/v1beta/${collection}/${googleId}${suffix}`);
  const search = (allowed: Readonly<Record<string, RegExp>>): string | { error: string } =>
    resourceSearch(params, allowed);
  const withSearch = (
    name: ResourceRouteName,
    m: ResourceMethod,
    suffix: string,
    allowed: Readonly<Record<string, RegExp>>,
  ): OwnedResourceRoute | { error: string } => {
    const s = search(allowed);
    return typeof s === 'string' ? ownedRoute(name, m, collection, target(suffix), s) : s;
  };
  const routes = (table: Partial<Record<ResourceMethod, OwnedResourceRoute | { error: string }>>): RouteMatch => {
    const chosen = table[method as ResourceMethod];
    if (chosen !== undefined && Object.hasOwn(table, method) && 'error' in chosen) {
      return { kind: 'bad-query', message: chosen.error };
    }
    const valid = Object.fromEntries(Object.entries(table).filter(([, r]) => !('error' in r)));
    return resourceRoute(method, valid as Partial<Record<ResourceMethod, ResourceRoute>>);
  };
  switch (collection) {
    case 'files':
      if (action === 'download') {
        return routes({ GET: withSearch('files.download', 'GET', ':download', { alt: /^(?:media|json)$/ }) });
      }
      if (action !== undefined || prefix !== '') return { kind: 'not-found' };
      return routes({
        GET: ownedRoute('files.get', 'GET', collection, target('')),
        DELETE: ownedRoute('files.delete', 'DELETE', collection, target('')),
      });
    case 'cachedContents':
      if (action !== undefined) return { kind: 'not-found' };
      return routes({
        GET: ownedRoute('cachedContents.get', 'GET', collection, target('')),
        PATCH: withSearch('cachedContents.update', 'PATCH', '', { updateMask: UPDATE_MASK }),
        DELETE: ownedRoute('cachedContents.delete', 'DELETE', collection, target('')),
      });
    case 'batches':
      if (action === 'cancel')
        return routes({ POST: ownedRoute('batches.cancel', 'POST', collection, target(':cancel')) });
      if (action === 'updateGenerateContentBatch' || action === 'updateEmbedContentBatch') {
        return routes({ PATCH: withSearch('batches.update', 'PATCH', `:${action}`, { updateMask: UPDATE_MASK }) });
      }
      if (action !== undefined) return { kind: 'not-found' };
      return routes({
        GET: ownedRoute('batches.get', 'GET', collection, target('')),
        DELETE: ownedRoute('batches.delete', 'DELETE', collection, target('')),
      });
    case 'interactions':
      if (action === '/cancel') {
        return routes({ POST: ownedRoute('interactions.cancel', 'POST', collection, target('/cancel')) });
      }
      if (action !== undefined) return { kind: 'not-found' };
      return routes({
        GET: withSearch('interactions.get', 'GET', '', {
          include_input: BOOLEAN,
          last_event_id: /^[A-Za-z0-9._~=-]{1,256}$/,
          stream: BOOLEAN,
        }),
        DELETE: ownedRoute('interactions.delete', 'DELETE', collection, target('')),
      });
  }
}

// ---- the OpenAI-compatible files and batches ----

const COMPAT_LIST = new RegExp(`^${OPENAI_PREFIX}/(files|batches)$`);
// an id may be Google's native name (`files/<id>`), which the `openai` SDK percent-encodes as a path parameter
// (`files%2F<id>`); a hand-written client may send the slash as is
const COMPAT_ITEM = new RegExp(
  `^${OPENAI_PREFIX}/(files|batches)/(?:(files|batches)(?:%2[Ff]|/))?([^/]+)(/content|/cancel)?$`,
);
const COMPAT_LIMIT = /^[1-9][0-9]{0,3}$/;

/**
 * The owner and Google's id of an OpenAI-compatible id: `<tagged>` or `<collection>/<tagged>`, Google's id sent on
 * in the same shape (a name's slash encoded, as the `openai` SDK sends it to Google).
 */
export function compatTarget(collection: 'files' | 'batches', id: string, named: boolean, suffix = ''): OwnedTarget {
  const reference = named ? `${collection}/${id}` : id;
  const tagged = parseTaggedId(id);
  if (tagged === undefined || !GOOGLE_ID.test(tagged.googleId)) return { kind: 'untagged', reference };
  const googleId = named ? `${collection}%2F${tagged.googleId}` : tagged.googleId;
  return {
    kind: 'tagged',
    owner: tagged.owner,
    upstreamPath: `/v1beta/openai/${collection}/${googleId}${suffix}`,
    reference,
  };
}

/** An `after` cursor as the client sent it (decoded from the query): a bare tagged id or a tagged name. */
function compatAfter(collection: 'files' | 'batches', after: string): OwnedTarget {
  const prefix = `${collection}/`;
  return after.startsWith(prefix)
    ? compatTarget(collection, after.slice(prefix.length), true)
    : compatTarget(collection, after, false);
}

function compatRoute(
  method: string,
  allowed: Partial<Record<'GET' | 'POST' | 'DELETE', CompatResourceRoute>>,
): RouteMatch {
  const match = allowed[method as 'GET' | 'POST' | 'DELETE'];
  if (match !== undefined && Object.hasOwn(allowed, method)) return { kind: 'route', route: match };
  return { kind: 'method-not-allowed', allow: Object.keys(allowed).join(', ') };
}

/** `/v1/files[/{id}[/content]]` and `/v1/batches[/{id}[/cancel]]`, also under `/v1beta/openai/` and without `/v1`. */
function matchCompatResource(method: string, pathname: string, params: URLSearchParams): RouteMatch | undefined {
  const base = (collection: 'files' | 'batches', name: CompatRouteName, m: 'GET' | 'POST' | 'DELETE') =>
    ({ family: 'resource', kind: 'compat', name, surface: 'openai', method: m, collection }) as const;
  const listed = COMPAT_LIST.exec(pathname)?.[1];
  if (listed === 'files' || listed === 'batches') {
    const limit = params.get('limit');
    if (method === 'GET' && limit !== null && !COMPAT_LIMIT.test(limit)) {
      return { kind: 'bad-query', message: 'limit must be an integer from 1 to 9999' };
    }
    const after = params.get('after');
    return compatRoute(method, {
      GET: {
        ...base(listed, `openai.${listed}.list`, 'GET'),
        action: 'list',
        ...(limit !== null ? { limit: Number(limit) } : {}),
        ...(after !== null && after !== '' ? { after: compatAfter(listed, after) } : {}),
      },
      POST: {
        ...base(listed, `openai.${listed}.create`, 'POST'),
        action: 'create',
        upstreamPath: `/v1beta/openai/${listed}`,
      },
    });
  }
  const [, collection, prefix, id, suffix] = COMPAT_ITEM.exec(pathname) ?? [];
  if ((collection !== 'files' && collection !== 'batches') || id === undefined) return undefined;
  if (prefix !== undefined && prefix !== collection) return { kind: 'not-found' };
  const named = prefix !== undefined;
  const owned = (name: CompatRouteName, m: 'GET' | 'POST' | 'DELETE', upstreamSuffix = ''): CompatResourceRoute => ({
    ...base(collection, name, m),
    action: 'owned',
    target: compatTarget(collection, id, named, upstreamSuffix),
  });
  if (collection === 'files') {
    if (suffix === '/cancel') return { kind: 'not-found' };
    if (suffix === '/content') return compatRoute(method, { GET: owned('openai.files.content', 'GET', '/content') });
    return compatRoute(method, {
      GET: owned('openai.files.get', 'GET'),
      DELETE: owned('openai.files.delete', 'DELETE'),
    });
  }
  if (suffix === '/content') return { kind: 'not-found' };
  if (suffix === '/cancel') return compatRoute(method, { POST: owned('openai.batches.cancel', 'POST', '/cancel') });
  return compatRoute(method, { GET: owned('openai.batches.get', 'GET') });
}
