import { CONFIG_VARIABLES, configNotices, loadConfig } from '../../config';

const load = (env: Record<string, string>) => loadConfig(env, '/repo');

describe('KEY_PROJECTS', () => {
  test('is a setting of both stacks: one trimmed label per key, absent when unset', () => {
    expect(CONFIG_VARIABLES).toContain('KEY_PROJECTS');
    expect(load({ KEY_COUNT: '3', KEY_PROJECTS: 'a, a,b' }).stack.keyProjects).toEqual(['a', 'a', 'b']);
    expect('keyProjects' in load({ KEY_COUNT: '3', KEY_PROJECTS: ' ' }).stack).toBe(false);
  });

  test.each([
    [
      { KEY_COUNT: '5', KEY_PROJECTS: 'a,a,b,c' },
      'KEY_PROJECTS has 4 labels for KEY_COUNT=5; give one project label per key, in key order',
    ],
    [
      { KEY_PROJECTS: 'a,b' },
      'KEY_PROJECTS has 2 labels for KEY_COUNT=20; give one project label per key, in key order',
    ],
    [
      { KEY_COUNT: '2', KEY_PROJECTS: 'a,Team A' },
      'KEY_PROJECTS label 2 is a label of 6 characters; labels are 1 to 32 lowercase letters, digits, "_" or "-", ' +
        'starting with a letter or digit (^[a-z0-9][a-z0-9_-]{0,31}$), comma-separated, one per key',
    ],
    [
      { KEY_COUNT: '2', KEY_PROJECTS: 'a,-b' },
      'KEY_PROJECTS label 2 is "-b"; labels are 1 to 32 lowercase letters, digits, "_" or "-", ' +
        'starting with a letter or digit (^[a-z0-9][a-z0-9_-]{0,31}$), comma-separated, one per key',
    ],
    [{ KEY_COUNT: '3', KEY_PROJECTS: 'a,,b' }, 'KEY_PROJECTS label 2 is empty'],
  ])('%j fails with a message naming the field, the rule and the value', (env, message) => {
    expect(() => load(env)).toThrow(message);
  });

  test('projects kept whole count against the workers the plan allows', () => {
    // 100 projects of 2 keys with 3 keys per shard: 100 shards where ceil(200 / 3) would be 67
    const labels = Array.from({ length: 200 }, (_, i) => `p${Math.floor(i / 2)}`).join(',');
    expect(() => load({ KEY_COUNT: '200', KEYS_PER_SHARD: '3', KEY_PROJECTS: labels })).toThrow(
      /at most 100 workers .* 100 shards \+ the orchestrator = 101 workers/,
    );
  });

  test('synth prints the layout', () => {
    const labels = ['big', 'big', 'big', 'solo'].join(',');
    expect(configNotices(load({ KEY_COUNT: '4', KEYS_PER_SHARD: '2', KEY_PROJECTS: labels }))).toEqual([
      'KEY_PROJECTS places 4 keys in 2 projects over 2 shards\n' +
        '  shard 0 (zen-ai-router-worker-0): keys 1-2; big (2 of its 3 keys)\n' +
        '  shard 1 (zen-ai-router-worker-1): keys 3-4; big (1 of its 3 keys), solo',
    ]);
  });

  test("a preview's notice counts the layout bindings beside the keys", () => {
    const labels = Array.from({ length: 100 }, (_, i) => `p${i}`).join(',');
    const [notice] = configNotices(load({ KEY_COUNT: '100', KEY_PROJECTS: labels, PR_NUMBER: '3' })).slice(1);
    expect(notice).toContain('the preview-3 worker holds the first 57 of the 100 keys');
    expect(notice).toContain('beside KEY_PROJECTS, KEYS_PER_SHARD');
  });
});
