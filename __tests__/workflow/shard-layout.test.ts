import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shardLayoutOutput } from '../../constructs/shard-layout';
import { keyLayout } from '../../workers/shared/key-layout';
import { layoutEntries, main, renderLayoutSummary } from '../../scripts/ci/shard-layout';

const LAYOUT = shardLayoutOutput(keyLayout(['big', 'big', 'big', 'solo'], 4, 2), (i) => `zen-ai-router-worker-${i}`);

describe('scripts/ci/shard-layout', () => {
  test('reads the shard_layout output of a cdktf outputs file, or of terraform output -json', () => {
    const entries = layoutEntries({ prod: { shard_layout: LAYOUT, public_worker_name: 'x' } }, 'prod');
    expect(entries?.map((e) => e.keys)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(layoutEntries({ shard_layout: { sensitive: false, value: LAYOUT } }, 'prod')).toEqual(entries);
  });

  test('no layout (KEY_PROJECTS unset) or anything not as synth writes it is nothing to show', () => {
    expect(layoutEntries({ prod: { public_worker_name: 'x' } }, 'prod')).toBeUndefined();
    const forged = [{ ...LAYOUT[0], projects: ['<script>', 'big'] }];
    expect(layoutEntries({ prod: { shard_layout: forged } }, 'prod')).toBeUndefined();
    expect(layoutEntries({ prod: { shard_layout: [{ ...LAYOUT[0], keys: ['AIza...'] }] } }, 'prod')).toBeUndefined();
  });

  test('the summary names every shard, its key numbers and projects', () => {
    expect(renderLayoutSummary('prod', LAYOUT)).toBe(
      [
        '### Shard layout of `prod`',
        '',
        '4 keys in 2 projects over 2 shards (KEY_PROJECTS); key numbers count from 1 in `TF_VAR_api_keys`:',
        '',
        '- shard 0 (zen-ai-router-worker-0): keys 1-2; big (2 of its 3 keys)',
        '- shard 1 (zen-ai-router-worker-1): keys 3-4; big (1 of its 3 keys), solo',
        '',
      ].join('\n'),
    );
  });

  test('main appends the summary and prints the layout; without one it says why and succeeds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shard-layout-'));
    try {
      const outputs = join(dir, 'outputs.json');
      const summary = join(dir, 'summary.md');
      writeFileSync(summary, '');
      writeFileSync(outputs, JSON.stringify({ prod: { shard_layout: LAYOUT } }));
      const lines: string[] = [];
      expect(main({ OUTPUTS_FILE: outputs, GITHUB_STEP_SUMMARY: summary }, (l) => lines.push(l))).toBe(0);
      expect(lines[0]).toBe('4 keys in 2 projects over 2 shards');
      expect(readFileSync(summary, 'utf8')).toContain('### Shard layout of `prod`');
      writeFileSync(outputs, JSON.stringify({ prod: {} }));
      lines.length = 0;
      expect(main({ OUTPUTS_FILE: outputs }, (l) => lines.push(l))).toBe(0);
      expect(lines).toEqual(['no shard_layout output in prod (KEY_PROJECTS is not set): every key is its own project']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
