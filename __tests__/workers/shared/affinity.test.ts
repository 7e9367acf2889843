import fc from 'fast-check';
import {
  AFFINITY_PATTERN,
  affinityOf,
  conversationIdOf,
  fingerprintOf,
  homeShardOf,
  projectRanking,
  rankedShardsOf,
  shardRanking,
} from '../../../workers/shared/affinity';
import { keyLayout, shardProjects } from '../../../workers/shared/key-layout';
import { defined } from '../../helpers/guards';

describe('fingerprintOf', () => {
  test('eight hex digits, the same for the same id', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (id) => {
        expect(fingerprintOf(id)).toMatch(AFFINITY_PATTERN);
        expect(fingerprintOf(id)).toBe(fingerprintOf(`${id}`));
      }),
    );
  });

  test('a known value, so both workers and every release agree', () => {
    expect(fingerprintOf('3f1c2a9e-5b7d-4e21-9c3a-0d8e6f4b2a71')).toBe('932c0098');
    expect(fingerprintOf('')).toBe('ab3e7c0b');
  });

  test('only the first 256 characters count', () => {
    const long = 'x'.repeat(256);
    expect(fingerprintOf(`${long}a`)).toBe(fingerprintOf(`${long}b`));
    expect(fingerprintOf('a')).not.toBe(fingerprintOf('b'));
  });
});

describe('conversationIdOf / affinityOf', () => {
  test("Claude Code's header first, then Codex's, trimmed; blank values do not count", () => {
    expect(conversationIdOf(new Headers({ 'x-claude-code-session-id': ' s1 ', 'session-id': 's2' }))).toBe('s1');
    expect(conversationIdOf(new Headers({ 'x-claude-code-session-id': '  ', 'session-id': 's2' }))).toBe('s2');
    expect(conversationIdOf(new Headers({ 'x-other': 's3' }))).toBeUndefined();
  });

  test('only a well-formed fingerprint is read from x-zen-affinity', () => {
    expect(affinityOf(new Headers({ 'x-zen-affinity': '0a1b2c3d' }))).toBe('0a1b2c3d');
    expect(affinityOf(new Headers({ 'x-zen-affinity': '0A1B2C3D' }))).toBeUndefined();
    expect(affinityOf(new Headers({ 'x-zen-affinity': '0a1b2c3d4' }))).toBeUndefined();
    expect(affinityOf(new Headers())).toBeUndefined();
  });
});

describe('rankings', () => {
  test('every shard of positive weight once, zero weights left out, deterministic', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 20 }), (id, w) => {
        const shards = w.map((weight, index) => ({ index, weight }));
        const ranking = shardRanking(fingerprintOf(id), shards);
        expect([...ranking].sort((a, b) => a - b)).toEqual(shards.filter((s) => s.weight > 0).map((s) => s.index));
        expect(shardRanking(fingerprintOf(id), shards)).toEqual(ranking);
      }),
    );
  });

  test("a ranking's relative order does not depend on the other candidates (what lets a shard rank its own)", () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 2, maxLength: 12 }), (id, w) => {
        const fp = fingerprintOf(id);
        const all = w.map((weight, i) => ({ label: `p${i}`, weight }));
        const some = all.filter((_, i) => i % 2 === 0);
        const ranked = projectRanking(fp, all).map((i) => all[i]?.label);
        const rankedSome = projectRanking(fp, some).map((i) => some[i]?.label);
        expect(rankedSome).toEqual(ranked.filter((label) => some.some((p) => p.label === label)));
      }),
    );
  });

  test('the home shard of a layout is the first of its ranking', () => {
    const layout = keyLayout(['a', 'a', 'b', 'c'], 4, 2);
    const fp = fingerprintOf('conversation');
    expect(homeShardOf(fp, layout)).toBe(shardRanking(fp, rankedShardsOf(layout))[0]);
    const second = defined(layout.shards[1], 'a second shard');
    expect(second.projects).toEqual(['b', 'c']);
    expect(projectRanking(fp, shardProjects(layout, second))).toHaveLength(2);
  });
});
