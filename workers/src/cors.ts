/**
 * CORS for browser clients. The password travels in a header, never a cookie, so a wildcard origin grants a page
 * nothing it could not do with the password anyway.
 */

const EXPOSED = 'x-request-id, retry-after, x-should-retry';
const DEFAULT_ALLOWED_HEADERS = 'authorization, content-type, x-goog-api-key, x-goog-api-client, x-request-id';
/** header-name tokens separated by commas, bounded so a preflight cannot make us echo kilobytes */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** Headers every response carries. */
export function corsHeaders(): Record<string, string> {
  return { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED };
}

/** The answer to a preflight `OPTIONS`; SDKs send `x-stainless-*` and other headers, so the requested list is echoed. */
export function preflightHeaders(requestedHeaders: string | null): Record<string, string> {
  const requested = requestedHeaders?.trim() ?? '';
  const allowHeaders = requested.length <= 2048 && HEADER_LIST.test(requested) ? requested : DEFAULT_ALLOWED_HEADERS;
  return {
    ...corsHeaders(),
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': allowHeaders,
    'access-control-max-age': '86400',
  };
}
