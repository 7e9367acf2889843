/**
 * CORS headers both workers put on every response, so a browser client can read the orchestrator's own errors
 * exactly like a shard's. The password travels in a header, never a cookie, so a wildcard origin grants a page
 * nothing it could not do with the password anyway.
 */
import { REQUEST_ID_HEADER } from './contract';

/** Response headers a browser script may read: the id to quote in a bug report, the SDKs' retry hints, and the resumable upload's URL and status. */
const EXPOSED = `${REQUEST_ID_HEADER}, retry-after, x-should-retry, x-goog-upload-url, x-goog-upload-status, x-goog-upload-size-received, x-goog-upload-chunk-granularity`;

/** Headers every response carries. */
export function corsHeaders(): Record<string, string> {
  return { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED };
}
