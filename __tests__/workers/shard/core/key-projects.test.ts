/**
 * The projects of a worker's keys: one per key without `KEY_PROJECTS`, else grouped by label with each project's
 * share of the pool's quota, whether this worker lists it, and the key that names its resources.
 */
import fc from 'fast-check';
import type { ShardConfig } from '../../../../workers/shard/edge/bindings';
import {
  declaredProjects,
  implicitProjects,
  ownerProject,
  projectOfKey,
  projectsAmong,
  representativeKey,
  workerProjects,
} from '../../../../workers/shard/core/key-projects';
import { keyLayout } from '../../../../workers/shared/key-layout';

function config(count: number, projects?: ShardConfig['projects']): ShardConfig {
  return {
    keys: Array.from({ length: count }, (_, i) => ({ index: i + 1, value: `key-projects-test-${i + 1}` })),
    pass: 'key-projects-pass',
    clientTokens: [],
    baseUrl: 'http://gemini.test',
    timeoutMs: 1000,
    maxWaitMs: 0,
    maxBodyBytes: 1000,
    ...(projects !== undefined ? { projects } : {}),
  };
}

describe('implicitProjects', () => {
  it('makes every key its own project of weight 1 that lists itself, labelled by its binding', () => {
    expect(implicitProjects([3, 1, 2])).toEqual({
      declared: false,
      projects: [
        { label: 'key1', keys: [1], weight: 1, lists: true },
        { label: 'key2', keys: [2], weight: 1, lists: true },
        { label: 'key3', keys: [3], weight: 1, lists: true },
      ],
      globalKeys: new Map(),
    });
  });
});

describe('declaredProjects', () => {
  it('groups the keys held by label, weighs each by its keys here over its keys in the pool, and knows the pool', () => {
    // pool: a a a b c c; this worker holds global keys 2, 3 (a), 4 (b) and 5 (c) as KEY1..KEY4
    const labels = ['a', 'a', 'a', 'b', 'c', 'c'];
    const held = [2, 3, 4, 5].map((global, i) => ({ index: i + 1, global }));
    const projects = declaredProjects(labels, held);
    expect(projects.projects).toEqual([
      { label: 'a', keys: [1, 2], weight: 2 / 3, lists: false },
      { label: 'b', keys: [3], weight: 1, lists: true },
      { label: 'c', keys: [4], weight: 0.5, lists: true },
    ]);
    expect(projects.pool).toEqual({ keys: 6, projects: 3 });
    expect(projects.declared).toBe(true);
    expect([...projects.globalKeys]).toEqual([
      [1, 2],
      [2, 3],
      [3, 4],
      [4, 5],
    ]);
  });

  it('over any layout, gives every shard the weight the layout gives it, and each project one lister', () => {
    const labelsArb = fc
      .array(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { minLength: 1, maxLength: 40 })
      .chain((labels) => fc.tuple(fc.constant(labels), fc.integer({ min: 1, max: 10 })));
    fc.assert(
      fc.property(labelsArb, ([labels, perShard]) => {
        const layout = keyLayout(labels, labels.length, perShard);
        const listers = new Map<string, number>();
        for (const shard of layout.shards) {
          const projects = declaredProjects(
            labels,
            shard.keys.map((global, i) => ({ index: i + 1, global })),
          );
          const weight = projects.projects.reduce((sum, p) => sum + p.weight, 0);
          expect(weight).toBeCloseTo(shard.weight, 9);
          for (const p of projects.projects.filter((q) => q.lists))
            listers.set(p.label, (listers.get(p.label) ?? 0) + 1);
        }
        expect([...listers.values()].every((n) => n === 1)).toBe(true);
        expect(listers.size).toBe(new Set(labels).size);
      }),
    );
  });
});

describe('a project of a key', () => {
  const projects = declaredProjects(
    ['a', 'a', 'a', 'b'],
    [1, 2, 3, 4].map((n) => ({ index: n, global: n })),
  );

  it('finds the project of a key, none for a key not held, and narrows projects to the keys a call may use', () => {
    expect(projectOfKey(projects, 2)?.label).toBe('a');
    expect(projectOfKey(projects, 9)).toBeUndefined();
    expect(projectsAmong(projects.projects, [2, 3]).map((p) => [p.label, p.keys])).toEqual([['a', [2, 3]]]);
  });

  it("names a project's resources by its first key, and lets any of its keys serve them (or the one key, if asked)", () => {
    const c = config(4, projects);
    expect(representativeKey(c, { index: 3, value: 'key-projects-test-3' }).index).toBe(1);
    expect(ownerProject(c, { index: 3, value: 'key-projects-test-3' }).keys).toEqual([1, 2, 3]);
    expect(ownerProject(c, { index: 3, value: 'key-projects-test-3' }, true).keys).toEqual([3]);
    // without KEY_PROJECTS every key is its own project
    expect(workerProjects(config(2)).projects.map((p) => p.keys)).toEqual([[1], [2]]);
    expect(representativeKey(config(4), { index: 3, value: 'key-projects-test-3' }).index).toBe(3);
  });
});
