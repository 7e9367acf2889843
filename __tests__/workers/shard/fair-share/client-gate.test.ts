/**
 * The edge's fair-share check (workers/shard/fair-share/client-gate.ts) with a stand-in Durable Object namespace:
 * no limits, an unlimited client and the operator cost no call; a limited client asks its own object (by name) and
 * is refused with 429 and `retry-after` over its limit; a limiter that cannot answer refuses with 503; a malformed
 * binding or a missing namespace is a misconfiguration; and a request a shard sends on (a misdirect, a pool refusal)
 * is given back, any other answer is not.
 */
import { chargeClient, type LimiterNamespace, type Serve } from '../../../../workers/shard/fair-share/client-gate';
import { REFUND_PATH, TAKE_PATH } from '../../../../workers/shard/fair-share/limiter-object';
import { Refusal } from '../../../../workers/shard/edge/refusal';
import type { ShardEnv } from '../../../../workers/shard/edge/bindings';
import type { Admitted, HandlerDeps, Outcome } from '../../../../workers/shard/surfaces/contract';

interface Call {
  readonly name: string;
  readonly path: string;
  readonly body: unknown;
}

/** A namespace whose objects answer `take` with `admitted` (or throw), recording every call. */
function namespace(admitted: boolean | 'throw', retryAfterMs = 2500): LimiterNamespace & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    idFromName: (name) => ({ name }),
    get: (id) => ({
      fetch: async (url, init) => {
        const path = new URL(url).pathname;
        calls.push({ name: (id as { name: string }).name, path, body: JSON.parse(String(init.body)) });
        if (admitted === 'throw') throw new Error('the object is unreachable');
        if (path === REFUND_PATH) return new Response(null, { status: 204 });
        return Response.json(admitted ? { admitted: true } : { admitted: false, retryAfterMs });
      },
    }),
  };
}

const LIMITS = JSON.stringify({ alice: { rpm: 60 }, bob: { rpm: 10, burst: 2 } });

function env(limits: string | undefined, ns: unknown): ShardEnv {
  return {
    PASS: 'pass-value',
    ...(limits === undefined ? {} : { CLIENT_LIMITS: limits }),
    CLIENT_LIMITER: ns,
  } as ShardEnv;
}

function serving(response: Response): Serve & { runs: number } {
  const serve = Object.assign(
    async (): Promise<Outcome> => {
      serve.runs++;
      return { response, line: { attempts: 0, status: response.status } };
    },
    { runs: 0 },
  );
  return serve;
}

const admittedRequest = {} as Admitted;
const deps = {} as HandlerDeps;

describe('chargeClient', () => {
  it('costs no call without CLIENT_LIMITS, for an unlimited client, and for the operator', async () => {
    const ns = namespace(true);
    const serve = serving(new Response('ok'));
    expect(await chargeClient('alice', env(undefined, ns), serve)).toBe(serve);
    expect(await chargeClient('carol', env(LIMITS, ns), serve)).toBe(serve);
    expect(await chargeClient('pass', env(LIMITS, ns), serve)).toBe(serve);
    expect(await chargeClient('carol', env(LIMITS, undefined), serve)).toBe(serve);
    expect(ns.calls).toEqual([]);
  });

  it("asks the client's own object with its limit, and serves when admitted", async () => {
    const ns = namespace(true);
    const serve = serving(new Response('ok'));
    const charged = await chargeClient('bob', env(LIMITS, ns), serve);
    if (charged instanceof Refusal) throw new Error(`refused: ${charged.message}`);
    const outcome = await charged(admittedRequest, deps);
    expect(await outcome.response.text()).toBe('ok');
    expect(serve.runs).toBe(1);
    expect(ns.calls).toEqual([{ name: 'bob', path: TAKE_PATH, body: { rpm: 10, burst: 2 } }]);
  });

  it('refuses an over-limit client with 429 and retry-after, and serves nothing', async () => {
    const serve = serving(new Response('ok'));
    const refusal = await chargeClient('alice', env(LIMITS, namespace(false, 2500)), serve);
    expect(refusal).toEqual(
      new Refusal(
        429,
        'client_rate_limited',
        'This client may send 60 requests a minute (60 at once); retry after the retry-after delay.',
        { 'retry-after': '3' },
      ),
    );
    expect(serve.runs).toBe(0);
  });

  it('refuses with 503 when the limiter cannot answer: a limited client is never served uncounted', async () => {
    const refusal = await chargeClient('alice', env(LIMITS, namespace('throw')), serving(new Response('ok')));
    expect(refusal).toMatchObject({ status: 503, code: 'client_limiter_unavailable', headers: { 'retry-after': '1' } });
  });

  it('is a misconfiguration when the binding is malformed or the namespace is not bound', async () => {
    const serve = serving(new Response('ok'));
    expect(await chargeClient('alice', env('{"alice":{"rpm":0}}', namespace(true)), serve)).toMatchObject({
      status: 500,
      code: 'server_misconfigured',
      message: expect.stringContaining('CLIENT_LIMITS.alice.rpm must be an integer from 1 to 100000'),
    });
    expect(await chargeClient('alice', env(LIMITS, undefined), serve)).toMatchObject({
      status: 500,
      message: expect.stringContaining('CLIENT_LIMITS is set but the CLIENT_LIMITER Durable Object is not bound'),
    });
  });

  it.each([
    ['a misdirect (421)', new Response('elsewhere', { status: 421, headers: { 'x-zen-owner': '1' } }), true],
    ['a pool refusal', new Response('{}', { status: 429, headers: { 'x-zen-pool': 'exhausted' } }), true],
    ['a pool refusal (503)', new Response('{}', { status: 503, headers: { 'x-zen-pool': 'exhausted' } }), true],
    ["Google's own 429", new Response('{}', { status: 429 }), false],
    ['a 400', new Response('{}', { status: 400 }), false],
    ['a success', new Response('ok'), false],
  ])('after %s, gives the request back: %p', async (_what, response, refunded) => {
    const ns = namespace(true);
    const charged = await chargeClient('alice', env(LIMITS, ns), serving(response));
    if (charged instanceof Refusal) throw new Error(`refused: ${charged.message}`);
    expect((await charged(admittedRequest, deps)).response).toBe(response);
    expect(ns.calls.map((c) => c.path)).toEqual(refunded ? [TAKE_PATH, REFUND_PATH] : [TAKE_PATH]);
  });
});
