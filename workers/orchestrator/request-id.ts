/**
 * The request id shared by the orchestrator's and the shard's log lines (the contract both workers follow).
 *
 * @module
 */

export const REQUEST_ID_HEADER = 'x-request-id';

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * `cf-ray` when Cloudflare set it, else the client's `x-request-id` when it is a safe token (anything else could
 * inject text into log queries), else a fresh id.
 */
export function resolveRequestId(headers: Headers, randomUUID: () => string): string {
  const ray = headers.get('cf-ray');
  if (ray) return ray;
  const fromClient = headers.get(REQUEST_ID_HEADER);
  if (fromClient !== null && CLIENT_REQUEST_ID.test(fromClient)) return fromClient;
  return randomUUID();
}
