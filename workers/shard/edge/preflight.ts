/**
 * Preflight answers. Only the shard worker answers `OPTIONS`: the orchestrator forwards it to a shard like any other
 * request, so there is one preflight policy. The headers every response carries live in `../shared/cors`.
 */
import { REQUEST_ID_HEADER } from '../../shared/contract';
import { corsHeaders } from '../../shared/cors';

const DEFAULT_ALLOWED_HEADERS = `authorization, content-type, x-goog-api-key, x-goog-api-client, ${REQUEST_ID_HEADER}`;
/** header-name tokens separated by commas, bounded so a preflight cannot make us echo kilobytes */
const HEADER_LIST = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+(?:\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*$/;

/** The answer to a preflight `OPTIONS`; SDKs send `x-stainless-*` and other headers, so the requested list is echoed. */
export function preflightHeaders(requestedHeaders: string | null): Record<string, string> {
  const requested = requestedHeaders?.trim() ?? '';
  const allowHeaders = requested.length <= 2048 && HEADER_LIST.test(requested) ? requested : DEFAULT_ALLOWED_HEADERS;
  return {
    ...corsHeaders(),
    'access-control-allow-methods': 'GET, POST, PATCH, DELETE, OPTIONS',
    'access-control-allow-headers': allowHeaders,
    'access-control-max-age': '86400',
  };
}
