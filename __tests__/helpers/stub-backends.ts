/**
 * Stub shards for the orchestrator's pure modules: a `Backend` answering with a handler and remembering every
 * request it saw, bound at `BACKEND_SERVICE_<n>` positions as `discoverBackends` would bind them.
 */
import type { Backend, BoundBackend } from '../../workers/orchestrator/backends';

export function backend(handler: (request: Request) => Promise<Response>): Backend & { seen: Request[] } {
  const seen: Request[] = [];
  return {
    seen,
    fetch: (request) => {
      seen.push(request);
      return handler(request);
    },
  };
}

export const ok = (): Promise<Response> => Promise.resolve(new Response('ok'));

/** `backends` bound as `BACKEND_SERVICE_0..N-1`. */
export const bind = (...backends: Backend[]): BoundBackend[] => backends.map((b, index) => ({ index, backend: b }));
