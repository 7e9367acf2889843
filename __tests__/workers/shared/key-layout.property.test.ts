import fc from 'fast-check';
import {
  implicitLabel,
  keyLayout,
  layoutFromBindings,
  parseKeyProjects,
  shardProjects,
} from '../../../workers/shared/key-layout';

/** Random labels: a few projects, drawn with skewed sizes so some exceed a shard and most do not. */
const labelsArb = fc
  .array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'p-1', 'q_2'), fc.integer({ min: 1, max: 20 })), {
    minLength: 1,
    maxLength: 8,
  })
  .chain((projects) => {
    const labels = projects.flatMap(([label, count]) => Array.from({ length: count }, () => label));
    return fc.shuffledSubarray(labels, { minLength: labels.length, maxLength: labels.length });
  });

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

describe('keyLayout (property)', () => {
  test('every key is placed exactly once, no shard holds more than keysPerShard, labels follow the keys', () => {
    fc.assert(
      fc.property(labelsArb, fc.integer({ min: 1, max: 12 }), (labels, k) => {
        const layout = keyLayout(labels, labels.length, k);
        const placed = layout.shards.flatMap((s) => s.keys).sort((a, b) => a - b);
        expect(placed).toEqual(labels.map((_, i) => i + 1));
        for (const shard of layout.shards) {
          expect(shard.keys.length).toBeGreaterThan(0);
          expect(shard.keys.length).toBeLessThanOrEqual(k);
          expect(shard.projects).toEqual(shard.keys.map((n) => labels[n - 1]));
          expect([...shard.keys].sort((a, b) => a - b)).toEqual(shard.keys);
        }
      }),
    );
  });

  test('a project of at most keysPerShard keys sits in one shard; a larger one fills whole shards but one', () => {
    fc.assert(
      fc.property(labelsArb, fc.integer({ min: 1, max: 12 }), (labels, k) => {
        const layout = keyLayout(labels, labels.length, k);
        for (const label of new Set(labels)) {
          const size = labels.filter((l) => l === label).length;
          const holding = layout.shards.filter((s) => s.projects.includes(label));
          expect(holding).toHaveLength(Math.ceil(size / k));
          const partial = holding.filter((s) => s.projects.filter((l) => l === label).length < k);
          expect(partial.length).toBeLessThanOrEqual(1);
        }
      }),
    );
  });

  test("weights are each shard's quota share and sum to the number of projects", () => {
    fc.assert(
      fc.property(labelsArb, fc.integer({ min: 1, max: 12 }), (labels, k) => {
        const layout = keyLayout(labels, labels.length, k);
        const projects = new Set(labels).size;
        expect(layout.projectCount).toBe(projects);
        expect(sum(layout.shards.map((s) => s.weight))).toBeCloseTo(projects, 9);
        for (const shard of layout.shards) {
          const parts = shardProjects(layout, shard);
          expect(sum(parts.map((p) => p.weight))).toBeCloseTo(shard.weight, 12);
          for (const part of parts) {
            const total = labels.filter((l) => l === part.label).length;
            expect(part.weight).toBeCloseTo(part.keys.length / total, 12);
          }
        }
      }),
    );
  });

  test("without labels the layout is today's sequential one, weighted by key count", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 16 }), (keyCount, k) => {
        const layout = keyLayout(undefined, keyCount, k);
        expect(layout.declared).toBe(false);
        expect(layout.shards).toHaveLength(Math.ceil(keyCount / k));
        layout.shards.forEach((shard, i) => {
          const size = Math.min(k, keyCount - i * k);
          expect(shard.keys).toEqual(Array.from({ length: size }, (_, j) => i * k + j + 1));
          expect(shard.projects).toEqual(shard.keys.map(implicitLabel));
          expect(shard.weight).toBe(size);
        });
      }),
    );
  });

  test('one distinct label per key gives the sequential layout too', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 16 }), (keyCount, k) => {
        const labels = Array.from({ length: keyCount }, (_, i) => `p${i}`);
        const declared = keyLayout(labels, keyCount, k);
        expect(declared.shards.map((s) => s.keys)).toEqual(keyLayout(undefined, keyCount, k).shards.map((s) => s.keys));
      }),
    );
  });

  test('deterministic: the same input gives the same layout', () => {
    fc.assert(
      fc.property(labelsArb, fc.integer({ min: 1, max: 12 }), (labels, k) => {
        expect(keyLayout([...labels], labels.length, k)).toEqual(keyLayout(labels, labels.length, k));
      }),
    );
  });
});

describe('keyLayout (examples)', () => {
  test("the issue's pool: one project of 10 keys and 10 of one key, 8 per shard", () => {
    const labels = [...Array.from({ length: 10 }, () => 'big'), ...Array.from({ length: 10 }, (_, i) => `solo${i}`)];
    const layout = keyLayout(labels, 20, 8);
    expect(layout.shards.map((s) => s.keys)).toEqual([
      [1, 2, 3, 4, 5, 6, 7, 8],
      [9, 10, 11, 12, 13, 14, 15, 16],
      [17, 18, 19, 20],
    ]);
    expect(layout.shards.map((s) => s.weight)).toEqual([0.8, 0.2 + 6, 4]);
    expect(layout.projectCount).toBe(11);
  });

  test('projects that do not fit beside each other take a shard of their own', () => {
    const layout = keyLayout(['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b', 'c'], 11, 8);
    expect(layout.shards.map((s) => s.keys)).toEqual([
      [1, 2, 3, 4, 5, 11],
      [6, 7, 8, 9, 10],
    ]);
    expect(layout.shards.map((s) => s.weight)).toEqual([2, 1]);
  });

  test('rejects labels that do not hold one label per key', () => {
    expect(() => keyLayout(['a'], 2, 8)).toThrow(RangeError);
    expect(() => keyLayout(undefined, 2, 0)).toThrow(RangeError);
  });
});

describe('parseKeyProjects', () => {
  test('absent or empty means one project per key', () => {
    expect(parseKeyProjects(undefined, 3)).toEqual({ ok: true, labels: undefined });
    expect(parseKeyProjects('  ', 3)).toEqual({ ok: true, labels: undefined });
  });

  test('reads one trimmed label per key', () => {
    expect(parseKeyProjects('a, a,b ', 3)).toEqual({ ok: true, labels: ['a', 'a', 'b'] });
  });

  test('names the field, the rule and the value received', () => {
    expect(parseKeyProjects('a,a,b,c', 5)).toEqual({
      ok: false,
      problem: 'KEY_PROJECTS has 4 labels for KEY_COUNT=5; give one project label per key, in key order',
    });
    const bad = parseKeyProjects('a,Big', 2);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.problem).toContain('KEY_PROJECTS label 2 is "Big"');
      expect(bad.problem).toContain('^[a-z0-9][a-z0-9_-]{0,31}$');
    }
    const empty = parseKeyProjects('a,,b', 3);
    expect(!empty.ok && empty.problem).toContain('label 2 is empty');
  });
});

describe('layoutFromBindings', () => {
  test('recomputes the layout synth placed the keys by', () => {
    const layout = layoutFromBindings('a,a,b,c,c,c', '2');
    expect(layout).toEqual(keyLayout(['a', 'a', 'b', 'c', 'c', 'c'], 6, 2));
  });

  test('absent or unusable bindings mean no layout', () => {
    expect(layoutFromBindings(undefined, '8')).toBeUndefined();
    expect(layoutFromBindings('a,b', undefined)).toBeUndefined();
    expect(layoutFromBindings('a,B', '8')).toBeUndefined();
    expect(layoutFromBindings('a,b', '0')).toBeUndefined();
  });
});
