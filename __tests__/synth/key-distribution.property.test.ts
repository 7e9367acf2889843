import { Testing } from 'cdktf';
import fc from 'fast-check';
import { PLAN_LIMITS, PreviewStack, ProdStack, maxKeysPerWorker, type WorkersPlan } from '../../constructs';
import { shardWeights } from '../../workers/orchestrator/backends';
import { shardShares } from '../../workers/orchestrator/pick';
import { fixtureBundles } from '../fixtures/bundles';
import { LOCAL_STATE, resolveScriptRef, synthJson, type Binding } from '../fixtures/synth';
import { defined } from '../helpers/guards';

/** The cheapest plan whose limits allow `workers` workers, or undefined when none does. */
function planFor(workers: number): WorkersPlan | undefined {
  return (['free', 'paid'] as const).find((plan) => workers <= PLAN_LIMITS[plan].workersPerAccount);
}

const keyIndex = (binding: Binding): number => Number(/^\$\{var\.api_keys\[(\d+)\]\}$/.exec(binding.text ?? '')?.[1]);
const keyBindings = (bindings: readonly Binding[]) =>
  bindings.filter((b) => b.type === 'secret_text' && b.name !== 'PASS' && b.name !== 'CLIENT_TOKENS');

describe('key distribution (property)', () => {
  test('prod binds every key exactly once, KEY1..KEYk per shard in order; the orchestrator binds every shard once in order, weighted so each key gets 1/K', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 16 }), (keyCount, keysPerShard) => {
        const shards = Math.ceil(keyCount / keysPerShard);
        const plan = planFor(shards + 1);
        const build = () =>
          new ProdStack(Testing.app(), 'prod', {
            keyCount,
            keysPerShard,
            workersPlan: plan ?? 'paid',
            bundles: fixtureBundles,
            state: LOCAL_STATE,
          });
        if (plan === undefined) {
          expect(build).toThrow(/at most 500 workers \(the paid Workers plan's limit per account/);
          return;
        }
        const json = synthJson(build());
        const scripts = Object.values(json.resource.cloudflare_workers_script);
        const shardScripts = Array.from({ length: shards }, (_, i) =>
          scripts.find((s) => s.script_name === `zen-ai-router-worker-${i}`),
        );
        expect(scripts).toHaveLength(shards + 1);

        const seen: number[] = [];
        shardScripts.forEach((script, i) => {
          const keys = keyBindings(script?.bindings ?? []);
          expect(keys.map((b) => b.name)).toEqual(keys.map((_, j) => `KEY${j + 1}`));
          expect(keys.map(keyIndex)).toEqual(keys.map((_, j) => i * keysPerShard + j));
          seen.push(...keys.map(keyIndex));
        });
        expect(seen).toEqual(Array.from({ length: keyCount }, (_, i) => i));

        const orchestrator = scripts.find((s) => s.script_name === 'zen-ai-router-orchestrator');
        const services = orchestrator?.bindings.filter((b) => b.type === 'service') ?? [];
        expect(services.map((b) => b.name)).toEqual(shardScripts.map((_, i) => `BACKEND_SERVICE_${i}`));
        expect(services.map((b) => resolveScriptRef(json, b.service ?? ''))).toEqual(
          shardScripts.map((s) => s?.script_name),
        );

        // the weights as the orchestrator reads them from its bound SHARD_KEY_COUNTS, and its own draw probabilities
        const unused = { fetch: () => Promise.reject(new Error('not called')) };
        const bound = services.map((b) => ({ index: Number(/\d+$/.exec(b.name)?.[0]), backend: unused }));
        const counts = orchestrator?.bindings.find((b) => b.name === 'SHARD_KEY_COUNTS')?.text;
        const { weights, fallback } = shardWeights(counts, bound);
        expect(fallback).toBeUndefined();
        const keysPerScript = shardScripts.map((script) => keyBindings(script?.bindings ?? []).length);
        expect(weights).toEqual(keysPerScript);
        // every key's expected share of requests: its shard's probability spread over the shard's keys
        const perKey = shardShares(weights).flatMap((share, i) => {
          const keys = defined(keysPerScript[i], `the key count of shard ${i}`);
          return Array<number>(keys).fill(share / keys);
        });
        expect(perKey).toHaveLength(keyCount);
        for (const share of perKey) expect(Math.abs(share - 1 / keyCount)).toBeLessThanOrEqual(1e-12 / keyCount);
      }),
      // boundaries first: one key, a full last shard, the free plan's last fit and the first paid-only size, too many
      {
        numRuns: 15,
        examples: [
          [1, 1],
          [16, 16],
          [17, 16],
          [99, 1],
          [100, 1],
          [1000, 2],
          [1000, 16],
        ],
      },
    );
  });

  test('the preview binds the first min(keyCount, keyLimit, plan limit) keys as KEY1..KEYn in order, and says how many', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom<WorkersPlan>('free', 'paid'),
        fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
        (keyCount, prNumber, plan, keyLimit) => {
          const json = synthJson(
            new PreviewStack(Testing.app(), `preview-${prNumber}`, {
              keyCount,
              prNumber,
              workersPlan: plan,
              keyLimit,
              bundle: fixtureBundles.shard,
              state: LOCAL_STATE,
            }),
          );
          const expected = Math.min(keyCount, maxKeysPerWorker(plan), keyLimit ?? Infinity);
          const [script, ...others] = Object.values(json.resource.cloudflare_workers_script);
          expect(others).toEqual([]);
          expect(script?.script_name).toBe(`zen-ai-router-worker-preview-${prNumber}`);
          const keys = keyBindings(script?.bindings ?? []);
          expect(keys.map((b) => b.name)).toEqual(Array.from({ length: expected }, (_, i) => `KEY${i + 1}`));
          expect(keys.map(keyIndex)).toEqual(Array.from({ length: expected }, (_, i) => i));
          expect(json.output.bound_key_count?.value).toBe(expected);
          expect(JSON.stringify(json.variable.api_keys?.validation)).toContain(`length(var.api_keys) == ${keyCount}`);
        },
      ),
      {
        numRuns: 40,
        examples: [
          [60, 1, 'free', undefined],
          [61, 1, 'free', undefined],
          [124, 1, 'paid', undefined],
          [125, 1, 'paid', undefined],
          [20, 1, 'free', 5],
        ],
      },
    );
  });
});
