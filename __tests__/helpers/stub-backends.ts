/**
 * Stub shards for the orchestrator's pure modules: a `Backend` answering with a handler and remembering every
 * request it saw, bound at `BACKEND_SERVICE_<n>` positions as `discoverBackends` would bind them.
 */
import type { Backend, BoundBackend } from '../../workers/orchestrator/backends';
import type { RouteDeps } from '../../workers/orchestrator/route-request';
import { DEFAULT_SHARD_ATTEMPTS } from '../../workers/shared/contract';

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

export interface RouteHarness {
  readonly deps: RouteDeps;
  /** every line the orchestrator logged, parsed */
  readonly logs: Record<string, unknown>[];
  /** fires every deadline timer still running, as if the shards had all hung past it */
  readonly expireTimers: () => void;
}

/** `routeRequest`'s dependencies with a fixed clock, id and draw, logs collected, and deadlines fired by hand. */
export function routeHarness(overrides: Partial<RouteDeps> = {}): RouteHarness {
  const logs: Record<string, unknown>[] = [];
  const timers = new Set<() => void>();
  const deps: RouteDeps = {
    random: () => 0,
    now: () => 1000,
    randomUUID: () => 'generated-id',
    log: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
    attempts: DEFAULT_SHARD_ATTEMPTS,
    timeoutMs: 50,
    startTimer: (_ms, onExpire) => {
      timers.add(onExpire);
      return () => timers.delete(onExpire);
    },
    ...overrides,
  };
  return {
    deps,
    logs,
    expireTimers: () => {
      for (const fire of [...timers]) fire();
    },
  };
}
