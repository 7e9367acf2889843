/**
 * `KEY_PROJECTS` and `KEYS_PER_SHARD` as the shard worker reads them: a shard's `KEY<n>` is the n-th key the shared
 * layout gives its `SHARD_INDEX`; a worker that stands alone holds the pool's first keys. Problems name the binding.
 */
import { readConfig, type ShardEnv } from '../../../../workers/shard/edge/bindings';
import { readProjects } from '../../../../workers/shard/edge/project-bindings';
import { keyLayout } from '../../../../workers/shared/key-layout';

const LABELS = 'big,big,big,big,big,big,big,big,big,big,s1,s2,s3,s4,s5,s6,s7,s8,s9,s10';
const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`KEY${i + 1}`, `k${i + 1}`]));

describe('readConfig with KEY_PROJECTS', () => {
  it('without it, leaves every key its own project (no projects, no layout in the configuration)', () => {
    const result = readConfig({ PASS: 'p', ...keys(3), SHARD_INDEX: '1' });
    expect(result.ok && 'projects' in result.config).toBe(false);
    expect(result.ok && 'layout' in result.config).toBe(false);
  });

  it("gives a shard its layout's keys and projects, with each project's quota share and the pool's size", () => {
    const layout = keyLayout(LABELS.split(','), 20, 8);
    // the one project of ten keys fills shard 0 and leaves two keys for a shard it shares with others
    const shard = layout.shards.findIndex((s) => s.projects.includes('big') && s.projects.some((p) => p !== 'big'));
    expect(shard).toBeGreaterThan(0);
    const held = layout.shards[shard]?.keys ?? [];
    const result = readConfig({
      PASS: 'p',
      ...keys(held.length),
      SHARD_INDEX: String(shard),
      KEY_PROJECTS: LABELS,
      KEYS_PER_SHARD: '8',
    });
    if (!result.ok) throw new Error(result.problem);
    const { projects } = result.config;
    expect(projects?.pool).toEqual({ keys: 20, projects: 11 });
    expect(projects?.projects.find((p) => p.label === 'big')).toMatchObject({ weight: 0.2, lists: false });
    expect([...(projects?.globalKeys.values() ?? [])]).toEqual(held);
    expect(result.config.layout?.shards).toHaveLength(layout.shards.length);
  });

  it('gives a worker that stands alone the pool’s first keys, whatever KEYS_PER_SHARD says, and no layout', () => {
    const result = readConfig({ PASS: 'p', ...keys(12), KEY_PROJECTS: LABELS });
    if (!result.ok) throw new Error(result.problem);
    expect(result.config.projects?.projects.map((p) => [p.label, p.keys, p.weight])).toEqual([
      ['big', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 1],
      ['s1', [11], 1],
      ['s2', [12], 1],
    ]);
    expect(result.config.layout).toBeUndefined();
  });

  it.each<[ShardEnv, string]>([
    [{ KEY_PROJECTS: 'a,B' }, 'KEY_PROJECTS label 2 is "B"'],
    [{ KEY_PROJECTS: 'a,b', SHARD_INDEX: '0' }, 'KEYS_PER_SHARD must be a positive integer when KEY_PROJECTS is set'],
    [{ KEY_PROJECTS: 'a,b', KEYS_PER_SHARD: '2', SHARD_INDEX: '1' }, 'SHARD_INDEX 1 is beyond the 1 shards'],
    [
      { KEY_PROJECTS: 'a', KEYS_PER_SHARD: '2', SHARD_INDEX: '0' },
      'KEY2 is beyond the 1 keys the layout gives shard 0',
    ],
    [{ KEY_PROJECTS: 'a' }, 'KEY_PROJECTS has no label for KEY2'],
  ])('refuses bindings that do not describe the keys bound: %j', (env, problem) => {
    const result = readConfig({ PASS: 'p', ...keys(2), ...env });
    expect(result.ok ? 'ok' : result.problem).toContain(problem);
  });

  it('works the projects out once per set of bindings', () => {
    const bindings = { keyProjects: 'a,a,b', keysPerShard: '8' };
    expect(readProjects(bindings, [1, 2, 3], 0)).toBe(readProjects(bindings, [1, 2, 3], 0));
  });
});
