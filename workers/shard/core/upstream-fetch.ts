/**
 * One call to the upstream with a deadline on its response headers, stopped by the client's signal, and never
 * following a redirect: the transport under `./upstream`'s failover, which tells a hang and a client gone from the
 * upstream's own answers.
 *
 * @module
 */

/** The upstream's response headers did not come within the deadline. */
export class DeadlineExceeded extends Error {}
/** The client's request signal aborted: nothing more is sent upstream. */
export class ClientGone extends Error {}

/**
 * fetch() with a deadline on the response headers (the body may then take as long as it needs: a long stream), that
 * stops when the client's signal aborts, and that never follows a redirect.
 */
export async function fetchWithDeadline(
  fetch: (url: string, init: RequestInit) => Promise<Response>,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  clientSignal?: AbortSignal,
): Promise<Response> {
  if (clientSignal?.aborted) throw new ClientGone();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  // left attached after the headers: a client that leaves mid-stream also stops the upstream body
  clientSignal?.addEventListener('abort', () => controller.abort(), { once: true });
  try {
    return await fetch(url, { ...init, redirect: 'manual', signal: controller.signal });
  } catch (e) {
    if (clientSignal?.aborted) throw new ClientGone();
    throw timedOut ? new DeadlineExceeded() : e;
  } finally {
    clearTimeout(timer);
  }
}
