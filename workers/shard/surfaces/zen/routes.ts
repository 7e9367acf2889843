/**
 * The gateway's own surface: `GET /zen/status`, this isolate's view of its keys and projects (`../../core/status.ts`),
 * read from the headers only (a password in a URL ends up in proxy logs and shell history), which answers the operator
 * alone (`PASS`): per-key states, call counts and last errors say how the pool is used by everyone, which no client
 * needs, so a client token gets 403 saying so; and `GET /zen`, the status page that reads it in a browser
 * (`./page-route.ts`), open to anyone. Operators' looks at either are not counted as clients' requests, and are logged
 * as `zen.status` (`zen.page`) even when refused.
 */
import { PASS_CLIENT_NAME } from '../../../shared/contract';
import { jsonResponse } from '../../../shared/http';
import { workerProjects } from '../../core/key-projects';
import { STATUS_PATH, STATUS_ROUTE, workerStatus } from '../../core/status';
import { usageStatus } from '../../core/usage-summary';
import { type ErrorShape, Refusal, refusalOutcome } from '../../edge/refusal';
import { type Admitted, defineSurface, type HandlerDeps, type Outcome, type RouteMatch } from '../contract';
import { matchPage, type PageRoute, servePage, STATUS_PAGE_PATH } from './page-route';

export interface StatusRoute {
  readonly name: typeof STATUS_ROUTE;
  readonly surface: 'zen';
  readonly method: 'GET';
}

export type ZenRoute = StatusRoute | PageRoute;

function matchZen(method: string, pathname: string): RouteMatch<ZenRoute> | undefined {
  if (pathname === STATUS_PAGE_PATH) return matchPage(method);
  if (pathname !== STATUS_PATH) return undefined;
  if (method !== 'GET') return { kind: 'method-not-allowed', allow: 'GET', route: STATUS_ROUTE };
  return { kind: 'route', route: { name: STATUS_ROUTE, surface: 'zen', method: 'GET' } };
}

/** The error body the gateway's own routes answer with. */
const ERRORS = 'openai' satisfies ErrorShape;

/** A client token's look at the status: refused, since per-key details are the operator's. */
export const OPERATOR_ONLY = new Refusal(
  403,
  'operator_only',
  'The key status is for the operator: send the gateway password (PASS), not a client token.',
);

/** The status view of the isolate's pool, now; the operator's alone. */
function serveStatus(_route: StatusRoute, a: Admitted, deps: HandlerDeps): Promise<Outcome> {
  if (a.client !== PASS_CLIENT_NAME) return Promise.resolve(refusalOutcome(OPERATOR_ONLY, ERRORS, a.requestId));
  const now = deps.now();
  const body = workerStatus(
    deps.pool.snapshot(
      a.config.keys.map((k) => k.index),
      now,
    ),
    deps.pool.requests(),
    now,
    workerProjects(a.config),
  );
  // today's usage, where the worker's dataset can be read back (npm start's stand-in)
  const response = jsonResponse(200, { ...body, ...usageStatus(a.env, now) }, { 'cache-control': 'no-store' });
  return Promise.resolve({ response, line: { attempts: 0, status: 200 } });
}

export const zenSurface = defineSurface({
  name: 'zen',
  match: matchZen,
  hint: [STATUS_PATH],
  credential: 'headers',
  errors: ERRORS,
  uncounted: true,
  serve: (route, a, deps) => (route.name === STATUS_ROUTE ? serveStatus(route, a, deps) : servePage(route)),
});
