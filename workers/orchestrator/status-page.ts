/**
 * `GET /zen` (and `HEAD`) on the orchestrator: the status page, served here rather than forwarded. The page is the
 * same static bytes a shard serves (`../shard/surfaces/zen/page-response.ts`), so a shard adds nothing to it; served
 * here it loads while shards are down or misconfigured, which is when an operator opens it, and an anonymous visitor
 * costs no shard invocation. The data it shows comes from `/zen/status` (`./status.ts`), which asks every shard.
 *
 * @module
 */
import { STATUS_PAGE_PATH } from '../shared/contract';
import { corsHeaders } from '../shared/cors';
import { REQUEST_ID_HEADER, requestIdOf } from '../shared/request-id';
import { STATUS_PAGE_ROUTE, statusPageResponse } from '../shard/surfaces/zen/page-response';
import type { OrchestratorLogLine, RouteDeps } from './route-context';

/** Whether the request asks for the page; other methods go to a shard, which answers 405 as for any route. */
export function isStatusPageRequest(method: string, url: URL): boolean {
  return (method === 'GET' || method === 'HEAD') && url.pathname === STATUS_PAGE_PATH;
}

/** The page, with the orchestrator's request id and CORS headers, and its one log line. */
export function serveStatusPage(request: Request, deps: RouteDeps): Response {
  const started = deps.now();
  const requestId = requestIdOf(request.headers, deps.randomUUID);
  const response = statusPageResponse(request.method);
  for (const [name, value] of Object.entries({ ...corsHeaders(), [REQUEST_ID_HEADER]: requestId })) {
    response.headers.set(name, value);
  }
  const line: OrchestratorLogLine = {
    event: 'orchestrator_request',
    requestId,
    route: STATUS_PAGE_ROUTE,
    status: response.status,
    ms: deps.now() - started,
  };
  deps.log(JSON.stringify(line));
  return response;
}
