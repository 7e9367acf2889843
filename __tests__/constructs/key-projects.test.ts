import { Testing } from 'cdktf';
import fc from 'fast-check';
import { Orchestrator, describeLayout, keyRanges, type ShardLayoutEntry } from '../../constructs';
import { keyLayout, layoutFromBindings } from '../../workers/shared/key-layout';
import { fixtureBundles } from '../fixtures/bundles';
import { previewStack, prodStack, scriptsByName, synthJson, type Binding, type StackJson } from '../fixtures/synth';

/** The issue's pool: one project of 10 keys, then 10 projects of one key. */
const ISSUE_POOL = [...Array.from({ length: 10 }, () => 'big'), ...Array.from({ length: 10 }, (_, i) => `solo${i}`)];

const keyIndexes = (bindings: readonly Binding[]): number[] =>
  bindings
    .filter((b) => /^KEY[0-9]+$/.test(b.name))
    .map((b) => Number(/^\$\{var\.api_keys\[(\d+)\]\}$/.exec(b.text ?? '')?.[1]));
const plain = (bindings: readonly Binding[], name: string): string | undefined =>
  bindings.find((b) => b.name === name && b.type === 'plain_text')?.text;

function layoutOutput(json: StackJson): ShardLayoutEntry[] | undefined {
  return (json.output as Record<string, { value: unknown }>).shard_layout?.value as ShardLayoutEntry[] | undefined;
}

describe('ProdStack with keyProjects', () => {
  test("places a project's keys in one shard and binds each shard's keys in key order as KEY1..KEYk", () => {
    const labels = ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b', 'c'];
    const scripts = scriptsByName(synthJson(prodStack({ keyCount: 11, keyProjects: labels })));
    expect(keyIndexes(scripts['zen-ai-router-worker-0']?.bindings ?? [])).toEqual([0, 1, 2, 3, 4, 10]);
    expect(keyIndexes(scripts['zen-ai-router-worker-1']?.bindings ?? [])).toEqual([5, 6, 7, 8, 9]);
    expect(scripts['zen-ai-router-worker-2']).toBeUndefined();
  });

  test('tells every worker the layout, after its other bindings; the orchestrator recomputes the same shards', () => {
    const json = synthJson(prodStack({ keyProjects: ISSUE_POOL }));
    const scripts = scriptsByName(json);
    for (const script of Object.values(scripts)) {
      const names = script.bindings.map((b) => b.name);
      expect(names.slice(-2)).toEqual(['KEY_PROJECTS', 'KEYS_PER_SHARD']);
      expect(plain(script.bindings, 'KEY_PROJECTS')).toBe(ISSUE_POOL.join(','));
      expect(plain(script.bindings, 'KEYS_PER_SHARD')).toBe('8');
    }
    const orchestrator = scripts['zen-ai-router-orchestrator']?.bindings ?? [];
    const layout = layoutFromBindings(plain(orchestrator, 'KEY_PROJECTS'), plain(orchestrator, 'KEYS_PER_SHARD'));
    expect(layout?.shards.map((s) => s.weight)).toEqual([0.8, 6.2, 4]);
    expect(plain(orchestrator, 'SHARD_KEY_COUNTS')).toBe('8,8,4');
  });

  test('outputs the layout (key numbers and projects, never a key) as shard_layout', () => {
    const json = synthJson(prodStack({ keyProjects: ISSUE_POOL }));
    expect(layoutOutput(json)).toEqual([
      {
        shard: 0,
        worker: 'zen-ai-router-worker-0',
        keys: [1, 2, 3, 4, 5, 6, 7, 8],
        projects: ISSUE_POOL.slice(0, 8),
        quota_share: 0.8,
      },
      {
        shard: 1,
        worker: 'zen-ai-router-worker-1',
        keys: [9, 10, 11, 12, 13, 14, 15, 16],
        projects: ISSUE_POOL.slice(8, 16),
        quota_share: 6.2,
      },
      {
        shard: 2,
        worker: 'zen-ai-router-worker-2',
        keys: [17, 18, 19, 20],
        projects: ISSUE_POOL.slice(16),
        quota_share: 4,
      },
    ]);
    expect(JSON.stringify(json.output)).not.toContain('var.api_keys');
  });

  test('without keyProjects there is no shard_layout output and no layout binding', () => {
    const json = synthJson(prodStack());
    expect(layoutOutput(json)).toBeUndefined();
    expect(JSON.stringify(json)).not.toContain('KEY_PROJECTS');
  });

  test('projects kept whole may need more shards than ceil(keys / keysPerShard)', () => {
    const labels = ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b', 'c', 'c', 'c', 'c', 'c'];
    const scripts = scriptsByName(synthJson(prodStack({ keyCount: 15, keyProjects: labels })));
    expect(Object.keys(scripts)).toHaveLength(3 + 1);
  });

  test('refuses labels that do not match the keys, naming the prop and the value', () => {
    expect(() => prodStack({ keyCount: 5, keyProjects: ['a', 'a', 'b', 'c'] })).toThrow(
      'keyProjects has 4 labels for keyCount=5; give one project label per key, in key order',
    );
    expect(() => prodStack({ keyCount: 2, keyProjects: ['a', 'B'] })).toThrow('keyProjects label 2 is "B"');
  });

  test('counts the two layout bindings against the keys one shard may hold', () => {
    expect(() =>
      prodStack({ keyCount: 57, keysPerShard: 57, keyProjects: Array.from({ length: 57 }, () => 'a') }),
    ).toThrow('keysPerShard must be an integer from 1 to 56');
  });
});

describe('ProdStack with keyProjects (property)', () => {
  test('binds every key exactly once, shard by shard as the layout the workers recompute from their bindings', () => {
    const labelsArb = fc.array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(labelsArb, fc.integer({ min: 1, max: 12 }), (labels, keysPerShard) => {
        const json = synthJson(prodStack({ keyCount: labels.length, keysPerShard, keyProjects: labels }));
        const scripts = scriptsByName(json);
        const layout = keyLayout(labels, labels.length, keysPerShard);
        const bound = layout.shards.map((_, i) => keyIndexes(scripts[`zen-ai-router-worker-${i}`]?.bindings ?? []));
        expect(bound).toEqual(layout.shards.map((shard) => shard.keys.map((n) => n - 1)));
        expect(bound.flat().sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
        expect(Object.keys(scripts)).toHaveLength(layout.shards.length + 1);
        const orchestrator = scripts['zen-ai-router-orchestrator']?.bindings ?? [];
        const told = layoutFromBindings(plain(orchestrator, 'KEY_PROJECTS'), plain(orchestrator, 'KEYS_PER_SHARD'));
        expect(told).toEqual(layout);
      }),
      { numRuns: 25 },
    );
  });
});

describe('PreviewStack with keyProjects', () => {
  test('the one worker is told the projects of the keys it holds', () => {
    const labels = Array.from({ length: 20 }, (_, i) => `p${i % 3}`);
    const json = synthJson(previewStack({ keyProjects: labels, keyLimit: 5 }));
    const [worker] = Object.values(scriptsByName(json));
    expect(keyIndexes(worker?.bindings ?? [])).toEqual([0, 1, 2, 3, 4]);
    expect(plain(worker?.bindings ?? [], 'KEY_PROJECTS')).toBe('p0,p1,p2,p0,p1');
    expect(plain(worker?.bindings ?? [], 'KEYS_PER_SHARD')).toBe('5');
    expect(layoutOutput(json)).toBeUndefined();
  });
});

describe('Orchestrator layout', () => {
  test('refuses a layout that does not place the keys as the backends hold them', () => {
    const build = () =>
      Testing.synthScope((scope) => {
        new Orchestrator(scope, 'Orchestrator', {
          accountId: 'acc',
          scriptName: 'orchestrator',
          bundle: fixtureBundles.orchestrator,
          backends: [
            { scriptName: 'w0', keyCount: 2 },
            { scriptName: 'w1', keyCount: 2 },
          ],
          layout: { keyProjects: ['a', 'a', 'a', 'b', 'b'], keysPerShard: 3 },
        });
      });
    expect(build).toThrow(
      'layout must place the keys as the backends hold them (key counts 2, 2), got key counts 3, 2',
    );
  });
});

describe('describeLayout', () => {
  test('a total, then one line per shard with key ranges and the projects it holds', () => {
    const entries = [
      { shard: 0, worker: 'w-0', keys: [1, 2, 3], projects: ['big', 'big', 'big'] },
      { shard: 1, worker: 'w-1', keys: [4, 5, 7], projects: ['big', 'solo', 'pair'] },
      { shard: 2, worker: 'w-2', keys: [6], projects: ['pair'] },
    ];
    expect(describeLayout(entries)).toEqual([
      '7 keys in 3 projects over 3 shards',
      'shard 0 (w-0): keys 1-3; big (3 of its 4 keys)',
      'shard 1 (w-1): keys 4-5, 7; big (1 of its 4 keys), solo, pair (1 of its 2 keys)',
      'shard 2 (w-2): keys 6; pair (1 of its 2 keys)',
    ]);
    expect(keyRanges([1, 2, 3, 5, 7, 8])).toBe('1-3, 5, 7-8');
  });
});
