/**
 * The status page's route in the zen surface (`./routes.ts`): `GET /zen` and `HEAD /zen`, open to anyone (the page
 * holds no data; the status it reads needs the password), and not counted as a client's request.
 */
import { STATUS_PAGE_PATH } from '../../../shared/contract';
import type { Outcome, RouteMatch } from '../contract';
import { STATUS_PAGE_ROUTE, statusPageResponse } from './page-response';

export { STATUS_PAGE_PATH };

export interface PageRoute {
  readonly name: typeof STATUS_PAGE_ROUTE;
  readonly surface: 'zen';
  readonly method: 'GET' | 'HEAD';
  /** no credential: the edge serves it without one */
  readonly open: true;
}

/** `/zen`'s match: the page for `GET` and `HEAD`, else the methods it takes. */
export function matchPage(method: string): RouteMatch<PageRoute> {
  if (method !== 'GET' && method !== 'HEAD') {
    return { kind: 'method-not-allowed', allow: 'GET, HEAD', route: STATUS_PAGE_ROUTE };
  }
  return { kind: 'route', route: { name: STATUS_PAGE_ROUTE, surface: 'zen', method, open: true } };
}

export function servePage(route: PageRoute): Promise<Outcome> {
  return Promise.resolve({ response: statusPageResponse(route.method), line: { attempts: 0, status: 200 } });
}
