import { buildReport } from '../../scripts/plan/plan-report';
import { renderReport } from '../../scripts/plan/render-report';
import { bindingList, stackWords } from '../../scripts/plan/render-stack';
import { summarizeStack } from '../../scripts/plan/stack-summary';
import { ranges, size, table } from '../../scripts/plan/text-format';
import { R2_STATE, previewJson, prodJson, synthesized, twoKiB } from './plan-fixtures';

const prod = synthesized('prod', prodJson({ state: R2_STATE }));
const preview = synthesized('preview-7', previewJson({ state: R2_STATE }));

describe('formatting pieces', () => {
  test('ranges, sizes and folded key bindings', () => {
    expect(ranges([8, 1, 2, 3, 5, 7])).toBe('1–3, 5, 7–8');
    expect(ranges([])).toBe('');
    expect(size(2048)).toBe('2.0 KiB');
    expect(size(3 * 1024 * 1024)).toBe('3.0 MiB');
    expect(
      bindingList([
        { name: 'KEY1', type: 'secret' },
        { name: 'KEY2', type: 'secret' },
        { name: 'PASS', type: 'secret' },
        { name: 'BACKEND_SERVICE_0', type: 'service', calls: 'w-0' },
      ]),
    ).toBe('KEY1–KEY2 (secret ×2), PASS (secret), BACKEND_SERVICE_0 (service → w-0)');
  });

  test('tables: aligned columns in a terminal, pipe tables with escaped pipes in Markdown', () => {
    expect(table(['a', 'bb'], [['ccc', 'd|e']], 'text')).toBe('a    bb\n---  ---\nccc  d|e');
    expect(table(['a', 'bb'], [['ccc', 'd|e']], 'markdown')).toBe('| a | bb |\n| --- | --- |\n| ccc | d\\|e |');
  });
});

describe('renderReport', () => {
  const report = buildReport({ stacks: [preview, prod], plan: 'free', gzipSize: twoKiB });

  test('says in words what each stack deploys, prod first', () => {
    const text = renderReport(report, 'text');
    expect(text.indexOf('Stack prod')).toBeLessThan(text.indexOf('Stack preview-7'));
    expect(stackWords(report.stacks[0] ?? fail('no prod'), 'text')).toBe(
      'Deploying prod creates or updates 4 workers: the public orchestrator zen-ai-router-orchestrator ' +
        '(on workers.dev at https://zen-ai-router-orchestrator.<subdomain>.workers.dev); 3 private shards holding ' +
        '20 keys (1–20; 8, 8, 4 per shard). It adds no routes or custom domains; state in the S3-compatible bucket ' +
        `zen-state at zen-ai-router/prod.tfstate (${R2_STATE.endpoint}).`,
    );
  });

  test('tables of workers, bindings, outputs and limits', () => {
    const text = renderReport(report, 'text');
    expect(text).toMatch(
      /^zen-ai-router-worker-2 +shard 2 +private +off +17–20 \(4\) +— +11 \(10 env vars\) +2\.0 KiB/m,
    );
    expect(text).toContain(
      'zen-ai-router-worker-0      KEY1–KEY8 (secret ×8), PASS (secret), GEMINI_BASE_URL (plain_text)',
    );
    expect(text).toMatch(/^bound_key_count +20 +how many keys/m);
    expect(text).toMatch(/^subrequests per client request +zen-ai-router-orchestrator +21 +50 +ok/m);
    expect(text).toMatch(/^worker size after gzip +shard\.js +2\.0 KiB +3\.0 MiB +ok/m);
  });

  test('Markdown for the job summary', () => {
    const markdown = renderReport(report, 'markdown');
    expect(markdown.startsWith('# What this deploy creates\n\n## Stack prod\n\nDeploying `prod` creates')).toBe(true);
    expect(markdown).toContain('| zen-ai-router-orchestrator | orchestrator | public | off | — | — | 6 (3 env vars) |');
    expect(markdown).toContain('## Plan limits (Workers free)');
  });

  test('a limit past the plan is marked OVER', () => {
    const over = buildReport({
      stacks: [synthesized('prod', prodJson({ keyCount: 80, shardAttempts: 10 }))],
      plan: 'free',
    });
    expect(renderReport(over, 'text')).toMatch(
      /^subrequests per client request +zen-ai-router-orchestrator +70 +50 +OVER/m,
    );
  });

  test('the changes since a previous synth and against the deployed outputs', () => {
    const withDiff = buildReport({
      stacks: [synthesized('prod', prodJson({ keyCount: 28 }))],
      plan: 'free',
      previous: [synthesized('old-name', prodJson())],
      deployedOutputs: { prod: { public_worker_name: 'old-orchestrator', public_worker_url: 'https://x' } },
    });
    const text = renderReport(withDiff, 'text');
    expect(text).toContain('Changes to prod since the previous synth');
    expect(text).toContain('  - worker added: zen-ai-router-worker-3');
    expect(text).toContain('  - zen-ai-router-worker-2: keys 17–20 → 17–24');
    expect(text).toContain('  - zen-ai-router-orchestrator: binding values changed: SHARD_KEY_COUNTS (plain_text)');
    expect(text).toContain('  - public_worker_name: old-orchestrator → zen-ai-router-orchestrator');
    expect(text).toContain('  - known only at apply, not compared: public_worker_url');
  });

  test('notes what could not be compared', () => {
    const noted = buildReport({
      stacks: [prod, preview],
      plan: 'free',
      previous: [synthesized('prod', prodJson({ state: R2_STATE }))],
      deployedOutputs: { public_worker_name: { value: 'a', sensitive: false, type: 'string' } },
    });
    expect(noted.notes).toEqual([
      'no previous synth of preview-7 was given: it is compared with nothing',
      "the outputs file is one stack's (terraform output -json): choose that stack with --stack",
    ]);
    expect(renderReport(noted, 'markdown')).toContain('- no change to workers, bindings, code, outputs or resources');
  });
});

test('a summary of the stacks alone, without measuring bundles, leaves sizes unknown', () => {
  const summary = summarizeStack(prod);
  expect(summary.workers.every((w) => w.code.gzipBytes === undefined)).toBe(true);
  expect(renderReport(buildReport({ stacks: [prod], plan: 'paid' }), 'text')).toContain('Plan limits (Workers paid)');
});
