/**
 * The native resources surface: Google's files, cached contents, batches and interactions (`v1beta` paths), served by
 * `./serve.ts`. Each path's tagged id names the resource's owner (see `../../../shared/owner-tag`); the upstream path
 * is built from Google's validated id only. Clients put the password where native clients put an API key.
 */
import { decodeListCursor, type ListCursor, type OwnedCollection, parseTaggedId } from '../../../shared/owner-tag';
import type { SealedCollection, SealedName } from './tenancy';
import { byMethod, GOOGLE_ID, MODEL_ID, whitelistQuery } from '../route-matching';
import { defineSurface, type RouteMatch } from '../contract';
import { serveResourceRoute } from './serve';

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

export type ResourceMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * The resource a path names: its owner, seal, collection and Google's id from a well-formed tag, or the reference that
 * has none.
 */
export type OwnedTarget =
  | (SealedName & {
      readonly kind: 'tagged';
      /** the path or query on Google's host with Google's own id, built from the validated id only */
      readonly upstreamPath: string;
      /** the reference as the client wrote it, for messages (e.g. `files/z0k1qmfa-abc`) */
      readonly reference: string;
    })
  | { readonly kind: 'untagged'; readonly reference: string };

interface ResourceRouteBase {
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

export type ResourceRoute = CreateResourceRoute | OwnedResourceRoute | ListResourceRoute;

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

/** The owner and Google's id of a tagged id from a path or query, with the upstream path built from them. */
export function ownedTarget(
  collection: SealedCollection,
  id: string,
  upstream: (googleId: string) => string,
  reference = collection === 'uploads' ? `upload session ${id}` : `${collection}/${id}`,
): OwnedTarget {
  const tagged = parseTaggedId(id);
  if (tagged === undefined || !GOOGLE_ID.test(tagged.googleId)) return { kind: 'untagged', reference };
  const { owner, googleId, seal } = tagged;
  const name = { owner, collection, googleId, ...(seal !== undefined ? { seal } : {}) };
  return { kind: 'tagged', ...name, upstreamPath: upstream(googleId), reference };
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
  return { kind: 'owned', name, surface: 'native', method, collection, target, upstreamSearch };
}

/** The routes of Google's files, cached contents, batches and interactions (native paths, `v1beta`). */
function matchResource(
  method: string,
  pathname: string,
  params: URLSearchParams,
): RouteMatch<ResourceRoute> | undefined {
  if (pathname === UPLOAD_PATH) {
    const uploadId = params.get('upload_id');
    if (uploadId === null) {
      return byMethod(method, { POST: createRoute('files.uploadStart', 'files', UPLOAD_PATH) });
    }
    const target = ownedTarget(
      'uploads',
      uploadId,
      (id) => `${UPLOAD_PATH}?${new URLSearchParams({ upload_id: id, upload_protocol: 'resumable' })}`,
    );
    return byMethod(method, { POST: ownedRoute('files.upload', 'POST', 'files', target) });
  }
  const list = RESOURCE_LIST.exec(pathname)?.[1];
  if (list === 'files' || list === 'cachedContents' || list === 'batches') return matchCollection(method, list, params);
  if (pathname === INTERACTIONS) {
    return byMethod(method, { POST: createRoute('interactions.create', 'interactions', INTERACTIONS) });
  }
  const [, batchModel, batchAction] = BATCH_CREATE.exec(pathname) ?? [];
  if (batchModel !== undefined && batchAction !== undefined) {
    const upstreamPath = `/v1beta/models/${encodeURIComponent(batchModel)}:${batchAction}`;
    return byMethod(method, { POST: createRoute('batches.create', 'batches', upstreamPath, batchModel) });
  }
  const download = FILE_DOWNLOAD.exec(pathname)?.[1];
  if (download !== undefined) {
    return matchItem({ method, params, collection: 'files', id: download, action: 'download', prefix: '/download' });
  }
  const [, collection, id, action, cancel] = RESOURCE_ITEM.exec(pathname) ?? [];
  if (collection === undefined || id === undefined) return undefined;
  return matchItem({
    method,
    params,
    collection: collection as OwnedCollection,
    id,
    action: action ?? (cancel ? '/cancel' : undefined),
    prefix: '',
  });
}

/** `/v1beta/{collection}`: a listing, or (cached contents only) a creation. */
function matchCollection(
  method: string,
  collection: 'files' | 'cachedContents' | 'batches',
  params: URLSearchParams,
): RouteMatch<ResourceRoute> {
  if (method === 'GET') {
    const listing = listRoute(collection, params);
    return 'error' in listing ? { kind: 'bad-query', message: listing.error } : { kind: 'route', route: listing };
  }
  if (collection === 'cachedContents' && method === 'POST') {
    return { kind: 'route', route: createRoute('cachedContents.create', 'cachedContents', CACHED_CONTENTS) };
  }
  return { kind: 'method-not-allowed', allow: collection === 'cachedContents' ? 'GET, POST' : 'GET' };
}

/** `/v1beta/{collection}/{id}` with an optional `:action` (or `/cancel` for interactions), or a file's download. */
interface Item {
  readonly method: string;
  readonly params: URLSearchParams;
  readonly collection: OwnedCollection;
  readonly id: string;
  readonly action: string | undefined;
  readonly prefix: '' | '/download';
}

type ItemRoute = OwnedResourceRoute | { error: string };

/** A call on the item, its upstream path the item's with `suffix`, and no query. */
function onItem(item: Item, name: ResourceRouteName, method: ResourceMethod, suffix = ''): OwnedResourceRoute {
  const { collection, id, prefix } = item;
  const target = ownedTarget(collection, id, (googleId) => `${prefix}/v1beta/${collection}/${googleId}${suffix}`);
  return ownedRoute(name, method, collection, target);
}

/** A call on the item that passes the whitelisted query parameters on, or the error of an invalid one. */
function onItemWithQuery(
  item: Item,
  name: ResourceRouteName,
  method: ResourceMethod,
  suffix: string,
  allowed: Readonly<Record<string, RegExp>>,
): ItemRoute {
  const search = whitelistQuery(item.params, allowed);
  return typeof search === 'string' ? { ...onItem(item, name, method, suffix), upstreamSearch: search } : search;
}

/** The route the item's method takes, a bad query when its own query is invalid, or the methods the path takes. */
function itemRoutes(item: Item, table: Partial<Record<ResourceMethod, ItemRoute>>): RouteMatch<ResourceRoute> {
  const { method } = item;
  const chosen = table[method as ResourceMethod];
  if (chosen !== undefined && Object.hasOwn(table, method) && 'error' in chosen) {
    return { kind: 'bad-query', message: chosen.error };
  }
  const valid = Object.fromEntries(Object.entries(table).filter(([, r]) => !('error' in r)));
  return byMethod(method, valid as Partial<Record<ResourceMethod, ResourceRoute>>);
}

function matchFile(item: Item): RouteMatch<ResourceRoute> {
  if (item.action === 'download') {
    return itemRoutes(item, {
      GET: onItemWithQuery(item, 'files.download', 'GET', ':download', { alt: /^(?:media|json)$/ }),
    });
  }
  if (item.action !== undefined || item.prefix !== '') return { kind: 'not-found' };
  return itemRoutes(item, { GET: onItem(item, 'files.get', 'GET'), DELETE: onItem(item, 'files.delete', 'DELETE') });
}

function matchCachedContent(item: Item): RouteMatch<ResourceRoute> {
  if (item.action !== undefined) return { kind: 'not-found' };
  return itemRoutes(item, {
    GET: onItem(item, 'cachedContents.get', 'GET'),
    PATCH: onItemWithQuery(item, 'cachedContents.update', 'PATCH', '', { updateMask: UPDATE_MASK }),
    DELETE: onItem(item, 'cachedContents.delete', 'DELETE'),
  });
}

function matchBatch(item: Item): RouteMatch<ResourceRoute> {
  const { action } = item;
  if (action === 'cancel') return itemRoutes(item, { POST: onItem(item, 'batches.cancel', 'POST', ':cancel') });
  if (action === 'updateGenerateContentBatch' || action === 'updateEmbedContentBatch') {
    const update = onItemWithQuery(item, 'batches.update', 'PATCH', `:${action}`, { updateMask: UPDATE_MASK });
    return itemRoutes(item, { PATCH: update });
  }
  if (action !== undefined) return { kind: 'not-found' };
  return itemRoutes(item, {
    GET: onItem(item, 'batches.get', 'GET'),
    DELETE: onItem(item, 'batches.delete', 'DELETE'),
  });
}

function matchInteraction(item: Item): RouteMatch<ResourceRoute> {
  if (item.action === '/cancel') {
    return itemRoutes(item, { POST: onItem(item, 'interactions.cancel', 'POST', '/cancel') });
  }
  if (item.action !== undefined) return { kind: 'not-found' };
  return itemRoutes(item, {
    GET: onItemWithQuery(item, 'interactions.get', 'GET', '', {
      include_input: BOOLEAN,
      last_event_id: /^[A-Za-z0-9._~=-]{1,256}$/,
      stream: BOOLEAN,
    }),
    DELETE: onItem(item, 'interactions.delete', 'DELETE'),
  });
}

const ITEM_MATCHERS: Readonly<Record<OwnedCollection, (item: Item) => RouteMatch<ResourceRoute>>> = {
  files: matchFile,
  cachedContents: matchCachedContent,
  batches: matchBatch,
  interactions: matchInteraction,
};

function matchItem(item: Item): RouteMatch<ResourceRoute> {
  return ITEM_MATCHERS[item.collection](item);
}

export const resourcesSurface = defineSurface({
  name: 'resources',
  match: matchResource,
  hint: [
    '/upload/v1beta/files',
    '/v1beta/files[/{file}[:download]]',
    '/v1beta/cachedContents[/{id}]',
    '/v1beta/batches[/{id}[:cancel]]',
    '/v1beta/interactions[/{id}[/cancel]]',
  ],
  basePaths: ['/v1beta'],
  credential: 'google',
  errors: 'google',
  serve: serveResourceRoute,
});
