/**
 * The OpenAI-compatible files and batches surface (`/v1/files`, `/v1/batches`, also under `/v1beta/openai/` and
 * without `/v1`), served by `./compat.ts` on Google's `/v1beta/openai/files` and `/batches`. OpenAI's clients send
 * the password as a Bearer token and read OpenAI's error object.
 */
import { byMethod, OPENAI_BASE_PATHS, OPENAI_PREFIX } from '../route-matching';
import { defineSurface, type RouteMatch } from '../contract';
import { type OwnedTarget, ownedTarget } from './routes';
import { serveCompatRoute } from './compat';

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

type CompatMethod = 'GET' | 'POST' | 'DELETE';

interface CompatRouteBase {
  readonly name: CompatRouteName;
  /** the OpenAI surface: a Bearer credential, OpenAI-shaped errors */
  readonly surface: 'openai';
  readonly method: CompatMethod;
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
  const upstreamId = (googleId: string) => (named ? `${collection}%2F${googleId}` : googleId);
  return ownedTarget(
    collection,
    id,
    (googleId) => `/v1beta/openai/${collection}/${upstreamId(googleId)}${suffix}`,
    reference,
  );
}

/** An `after` cursor as the client sent it (decoded from the query): a bare tagged id or a tagged name. */
function compatAfter(collection: 'files' | 'batches', after: string): OwnedTarget {
  const prefix = `${collection}/`;
  return after.startsWith(prefix)
    ? compatTarget(collection, after.slice(prefix.length), true)
    : compatTarget(collection, after, false);
}

/** The route a path takes for `method`, or the methods it does take. */
const compatRoute = (method: string, allowed: Partial<Record<CompatMethod, CompatResourceRoute>>) =>
  byMethod(method, allowed);

const base = (collection: 'files' | 'batches', name: CompatRouteName, method: CompatMethod) =>
  ({ name, surface: 'openai', method, collection }) as const;

/** `/v1/files` and `/v1/batches`: a listing or a creation. */
function matchCompatCollection(
  method: string,
  collection: 'files' | 'batches',
  params: URLSearchParams,
): RouteMatch<CompatResourceRoute> {
  const limit = params.get('limit');
  if (method === 'GET' && limit !== null && !COMPAT_LIMIT.test(limit)) {
    return { kind: 'bad-query', message: 'limit must be an integer from 1 to 9999' };
  }
  const after = params.get('after');
  return compatRoute(method, {
    GET: {
      ...base(collection, `openai.${collection}.list`, 'GET'),
      action: 'list',
      ...(limit !== null ? { limit: Number(limit) } : {}),
      ...(after !== null && after !== '' ? { after: compatAfter(collection, after) } : {}),
    },
    POST: {
      ...base(collection, `openai.${collection}.create`, 'POST'),
      action: 'create',
      upstreamPath: `/v1beta/openai/${collection}`,
    },
  });
}

/** `/v1/files[/{id}[/content]]` and `/v1/batches[/{id}[/cancel]]`, also under `/v1beta/openai/` and without `/v1`. */
function matchCompatResource(
  method: string,
  pathname: string,
  params: URLSearchParams,
): RouteMatch<CompatResourceRoute> | undefined {
  const listed = COMPAT_LIST.exec(pathname)?.[1];
  if (listed === 'files' || listed === 'batches') return matchCompatCollection(method, listed, params);
  const [, collection, prefix, id, suffix] = COMPAT_ITEM.exec(pathname) ?? [];
  if ((collection !== 'files' && collection !== 'batches') || id === undefined) return undefined;
  if (prefix !== undefined && prefix !== collection) return { kind: 'not-found' };
  const named = prefix !== undefined;
  const owned = (name: CompatRouteName, m: CompatMethod, upstreamSuffix = ''): CompatResourceRoute => ({
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

export const compatSurface = defineSurface({
  name: 'openai-resources',
  match: matchCompatResource,
  hint: ['/v1/files[/{id}[/content]]', '/v1/batches[/{id}[/cancel]]'],
  basePaths: OPENAI_BASE_PATHS,
  credential: 'bearer',
  errors: 'openai',
  serve: serveCompatRoute,
});
