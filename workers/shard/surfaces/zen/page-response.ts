/**
 * `GET /zen`: the status page, the same bytes from the shard worker (a preview worker, a shard alone) and from the
 * orchestrator, which serves it itself (`../../../orchestrator/status-page.ts`). Anyone may fetch it: it holds no
 * data, only the form that asks for the operator's password and the script that reads `/zen/status` with it. Its
 * policy (built with the page, `bundler/status-page.ts`) lets only its own inline script and style run and only its
 * own origin be asked; the other headers keep it out of frames, caches and referrers.
 */
import { contentSecurityPolicy, html } from 'zen-status-page';

/** The route name the page's requests carry in log lines. */
export const STATUS_PAGE_ROUTE = 'zen.page';

/** The status page's answer to `GET` (or `HEAD`: the same headers, no body). */
export function statusPageResponse(method: string): Response {
  return new Response(method === 'HEAD' ? null : html, {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': contentSecurityPolicy,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    },
  });
}
