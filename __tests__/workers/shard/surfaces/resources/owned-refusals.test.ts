/**
 * The key core's refusals for a plan that names its owning key (`UpstreamPlan.owner`): the owner cooling or removed
 * is said as such, with no pool refusal header, since no other key or shard holds the resource. Driven in-process
 * with an injected clock so retry-after is asserted exactly.
 */
import { POOL_HEADER } from '../../../../../workers/shared/pool-refusal';
import { readConfig, type ShardConfig } from '../../../../../workers/shard/edge/bindings';
import { KeyPool } from '../../../../../workers/shard/core/key-pool';
import type { Admitted, HandlerDeps } from '../../../../../workers/shard/surfaces/contract';
import { type NoAnswer, noAnswerRefusal, sendPlan } from '../../../../../workers/shard/core/upstream-plan';

const START = Date.parse('2026-06-15T10:00:00Z');
const MODEL = 'gemini-3.8-flash';
const ENV = {
  PASS: 'CANARY-owned-refusals-pass',
  KEY1: 'CANARY-owned-1',
  KEY2: 'CANARY-owned-2',
  KEY3: 'CANARY-owned-3',
};

function setup(fetch: HandlerDeps['fetch'] = async () => new Response('{}')) {
  const read = readConfig(ENV);
  if (!read.ok) throw new Error(read.problem);
  const config: ShardConfig = read.config;
  let now = START;
  const deps: HandlerDeps = {
    now: () => now,
    random: () => 0.5,
    randomUUID: () => 'req',
    sleep: async () => true,
    log: () => undefined,
    pool: new KeyPool(),
    fetch,
  };
  const request = new Request('http://worker.test/v1beta/models/gemini-3.8-flash:generateContent', { method: 'POST' });
  const a: Admitted = { request, url: new URL(request.url), env: ENV, config, requestId: 'req', errors: 'google' };
  const owner = { index: 3, value: ENV.KEY3 };
  return { deps, a, config, owner, advance: (ms: number) => (now += ms) };
}

const keysFailed: NoAnswer = { kind: 'keys-failed', attempts: 1, waitedMs: 0, keyIndex: 3, upstreamStatus: 429 };

describe('noAnswerRefusal for an owned plan', () => {
  it('answers 429 owner_key_cooling with the owner’s own retry-after, and no pool refusal header', () => {
    const { deps, a, owner, advance } = setup();
    deps.pool.coolDown(3, MODEL, { until: START + 17_000, reason: 'quota-minute' });
    // the other keys are free: that must not shorten the wait or make it a pool refusal
    advance(2_500);
    const { refusal, facts } = noAnswerRefusal(keysFailed, a, deps, MODEL, [], owner);
    expect(refusal).toMatchObject({ status: 429, code: 'owner_key_cooling' });
    expect(refusal.headers).toEqual({ 'retry-after': '15' });
    expect(refusal.headers[POOL_HEADER]).toBeUndefined();
    expect(facts).toEqual({ upstreamStatus: 429 });
  });

  it('answers 410 owner_key_removed once Google rejected the owning key, while the other keys serve on', () => {
    const { deps, a, owner } = setup();
    deps.pool.remove(3, 'API_KEY_INVALID');
    const { refusal } = noAnswerRefusal(keysFailed, a, deps, MODEL, [], owner);
    expect(refusal).toMatchObject({ status: 410, code: 'owner_key_removed', headers: {} });
    expect(refusal.message).toMatch(/create them again/);
  });

  it('without an owner, the same state is a pool refusal the orchestrator may take elsewhere', () => {
    const { deps, a } = setup();
    for (const i of [1, 2, 3]) deps.pool.coolDown(i, MODEL, { until: START + 17_000, reason: 'quota-minute' });
    const { refusal } = noAnswerRefusal(keysFailed, a, deps, MODEL, []);
    expect(refusal.code).toBe('all_keys_cooling');
    expect(refusal.headers[POOL_HEADER]).toBeDefined();
  });
});

describe('sendPlan with an owner', () => {
  it('calls with the owning key only, and not at all while it cools', async () => {
    const used: string[] = [];
    const { deps, a, owner } = setup(async (_url, init) => {
      used.push(new Headers(init.headers).get('x-goog-api-key') ?? '');
      return new Response(
        JSON.stringify({
          error: {
            code: 429,
            message: 'quota',
            status: 'RESOURCE_EXHAUSTED',
            details: [
              { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaId: 'PerMinute' }] },
              { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '20s' },
            ],
          },
        }),
        { status: 429 },
      );
    });
    const plan = {
      path: '/v1beta/models/gemini-3.8-flash:generateContent',
      method: 'POST' as const,
      headers: new Headers(),
      body: '{}',
      keyStyle: 'goog-header' as const,
      model: MODEL,
      owner,
    };
    const first = await sendPlan(plan, a, deps);
    expect(first).toMatchObject({ kind: 'keys-failed', attempts: 1, keyIndex: 3 });
    expect(used).toEqual([ENV.KEY3]);
    const second = await sendPlan(plan, a, deps);
    expect(second).toMatchObject({ kind: 'keys-failed', attempts: 0 });
    expect(used).toEqual([ENV.KEY3]);
    if (second.kind !== 'keys-failed') throw new Error('expected keys-failed');
    expect(noAnswerRefusal(second, a, deps, MODEL, [], owner).refusal.headers).toEqual({ 'retry-after': '20' });
  });
});
