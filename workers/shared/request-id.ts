/**
 * The request id both workers put on their log lines and on `x-request-id`: one rule in one module, so the
 * orchestrator's line and the shard's line for a request always carry the same id, and neither worker echoes or logs
 * a header value it has not checked.
 *
 * @module
 */
import { REQUEST_ID_HEADER } from './contract';

// the contract defines it; re-exported so a caller of requestIdOf needs one import
export { REQUEST_ID_HEADER };

/**
 * What an id may look like. Anything else (spaces, quotes, braces, control characters) could forge fields in a JSON
 * log query, split a terminal line or paint it, so such a value is never used, whoever sent it.
 */
const SAFE_TOKEN = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * `cf-ray` when it is a safe token (Cloudflare sets it at the edge, but a client reaching a worker some other way can
 * send anything), else a safe client `x-request-id`, else a fresh id.
 */
export function requestIdOf(headers: Headers, randomUUID: () => string): string {
  const ray = headers.get('cf-ray');
  if (ray !== null && SAFE_TOKEN.test(ray)) return ray;
  const given = headers.get(REQUEST_ID_HEADER);
  if (given !== null && SAFE_TOKEN.test(given)) return given;
  return randomUUID();
}
