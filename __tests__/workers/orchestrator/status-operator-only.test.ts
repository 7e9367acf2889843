/**
 * The orchestrator's `GET /zen/status` for a client token (issue 24: per-key status is the operator's): when the
 * shards refuse it with 403, the first 403 goes back as it came, logged as a 403, never the merged view; a token some
 * shards do not know yet is a 401; when a shard serves the credential (the operator's), the merged view marks the rest.
 */
import { DEFAULT_SHARD_ATTEMPTS } from '../../../workers/shared/contract';
import { routeRequest, type RouteDeps } from '../../../workers/orchestrator/route-request';
import type { GatewayStatus } from '../../../workers/orchestrator/status';
import { backend as stub, bind } from '../../helpers/stub-backends';

const OPERATOR_ONLY = {
  error: {
    message: 'The key status is for the operator: send the gateway password (PASS), not a client token.',
    type: 'permission_error',
    code: 'operator_only',
  },
};

function harness(): { deps: RouteDeps; logs: Record<string, unknown>[] } {
  const logs: Record<string, unknown>[] = [];
  const deps: RouteDeps = {
    random: () => {
      throw new Error('the status view must not draw at random');
    },
    now: () => Date.parse('2026-05-01T12:00:00Z'),
    randomUUID: () => 'generated-id',
    log: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
    attempts: DEFAULT_SHARD_ATTEMPTS,
    timeoutMs: 130_000,
    startTimer: () => () => undefined,
    shardKeyCounts: '8,8',
  };
  return { deps, logs };
}

const refusing = () => stub(() => Promise.resolve(Response.json(OPERATOR_ONLY, { status: 403 })));
const unknownToken = () =>
  stub(() => Promise.resolve(Response.json({ error: { code: 'invalid_api_key' } }, { status: 401 })));
const throwing = () => stub(() => Promise.reject(new Error('shard down')));
const answering = () => stub(() => Promise.resolve(Response.json({ time: 't', scope: 'isolate', keys: [] })));
const request = () => new Request('https://gw.example/zen/status', { headers: { authorization: 'Bearer token' } });

describe('GET /zen/status on the orchestrator, for a client token', () => {
  it("answers the shards' 403 as it came when every shard refused it", async () => {
    const h = harness();
    const res = await routeRequest(request(), bind(refusing(), refusing()), h.deps);
    expect(res.status).toBe(403);
    expect(res.headers.get('x-request-id')).toBe('generated-id');
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual(OPERATOR_ONLY);
    expect(h.logs).toEqual([expect.objectContaining({ route: 'zen.status', status: 403, queried: 2 })]);
  });

  it('answers 403 when a shard failed and the others refused the token: a client never sees the merged view', async () => {
    const res = await routeRequest(request(), bind(throwing(), refusing()), harness().deps);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual(OPERATOR_ONLY);
  });

  it('answers 401 while a new token is on some shards only, so 403 says every shard accepts it', async () => {
    const res = await routeRequest(request(), bind(refusing(), unknownToken()), harness().deps);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: 'invalid_api_key' } });
  });

  it('marks the refusing shards in the merged view when another served the credential', async () => {
    const res = await routeRequest(request(), bind(answering(), refusing()), harness().deps);
    expect(res.status).toBe(200);
    expect(((await res.json()) as GatewayStatus).shards.map((s) => s.error ?? 'ok')).toEqual(['ok', 'status 403']);
  });
});
