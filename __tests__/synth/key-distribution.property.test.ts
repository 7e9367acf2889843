import { Testing } from 'cdktf';
import fc from 'fast-check';
import { PLAN_LIMITS, PreviewStack, ProdStack, maxKeysPerWorker, type WorkersPlan } from '../../constructs';
import { fixtureBundles } from '../fixtures/bundles';
import { LOCAL_STATE, resolveScriptRef, synthJson, type Binding } from '../fixtures/synth';

/** The cheapest plan whose limits allow `workers` workers, or undefined when none does. */
function planFor(workers: number): WorkersPlan | undefined {
  return (['free', 'paid'] as const).find(plan => workers <= PLAN_LIMITS[plan].workersPerAccount);
}

const keyIndex = (binding: Binding): number => Number(/^\$\{var\.api_keys\[(\d+)\]\}$/.exec(binding.text ?? '')?.[1]);
const keyBindings = (bindings: readonly Binding[]) => bindings.filter(b => b.type === 'secret_text' && b.name !== 'PASS');

describe('key distribution (property)', () => {
  test('prod binds every key exactly once, KEY1..KEYk per shard in order, and the orchestrator binds every shard once in order', () => {
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
          expect(build).toThrow(/the paid Workers plan allows 500 workers per account/);
          return;
        }
        const json = synthJson(build());
        const scripts = Object.values(json.resource.cloudflare_workers_script);
        const shardScripts = Array.from({ length: shards }, (_, i) =>
          scripts.find(s => s.script_name === `zen-ai-router-worker-${i}`),
        );
        expect(scripts).toHaveLength(shards + 1);

        const seen: number[] = [];
        shardScripts.forEach((script, i) => {
          const keys = keyBindings(script?.bindings ?? []);
          expect(keys.map(b => b.name)).toEqual(keys.map((_, j) => `KEY${j + 1}`));
          expect(keys.map(keyIndex)).toEqual(keys.map((_, j) => i * keysPerShard + j));
          seen.push(...keys.map(keyIndex));
        });
        expect(seen).toEqual(Array.from({ length: keyCount }, (_, i) => i));

        const orchestrator = scripts.find(s => s.script_name === 'zen-ai-router-orchestrator');
        const services = orchestrator?.bindings.filter(b => b.type === 'service') ?? [];
        expect(services.map(b => b.name)).toEqual(shardScripts.map((_, i) => `BACKEND_SERVICE_${i}`));
        expect(services.map(b => resolveScriptRef(json, b.service ?? ''))).toEqual(shardScripts.map(s => s?.script_name));
      }),
      // boundaries first: one key, a full last shard, the free plan's last fit and the first paid-only size, too many
      {
        numRuns: 15,
        examples: [[1, 1], [16, 16], [17, 16], [99, 1], [100, 1], [1000, 2], [1000, 16]],
      },
    );
  });

  test('the preview binds every key as KEY1..KEYN in order, or fails on the plan limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 100_000 }), (keyCount, prNumber) => {
        const plan = (['free', 'paid'] as const).find(p => keyCount <= maxKeysPerWorker(p));
        const build = () =>
          new PreviewStack(Testing.app(), `preview-${prNumber}`, {
            keyCount,
            prNumber,
            workersPlan: plan ?? 'paid',
            bundle: fixtureBundles.src,
            state: LOCAL_STATE,
          });
        if (plan === undefined) {
          expect(build).toThrow(`keyCount must be an integer from 1 to 125 (the preview worker holds every key;`);
          return;
        }
        const [script, ...others] = Object.values(synthJson(build()).resource.cloudflare_workers_script);
        expect(others).toEqual([]);
        expect(script?.script_name).toBe(`zen-ai-router-worker-preview-${prNumber}`);
        const keys = keyBindings(script?.bindings ?? []);
        expect(keys.map(b => b.name)).toEqual(Array.from({ length: keyCount }, (_, i) => `KEY${i + 1}`));
        expect(keys.map(keyIndex)).toEqual(Array.from({ length: keyCount }, (_, i) => i));
      }),
      { numRuns: 40, examples: [[61, 1], [62, 1], [125, 1], [126, 1]] },
    );
  });
});
