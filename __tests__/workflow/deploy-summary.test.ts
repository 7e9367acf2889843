/**
 * The deploy jobs print `npm run plan` to the job summary: for the stack they deploy, from the stacks the deploy step
 * synthesized (only that step knows KEY_COUNT, counted from the secrets), without any secret or credential, and
 * without holding back the smoke test when it fails. The step's shell line is run by bash as the runner would, with
 * a stand-in `npm` on the PATH recording what it was asked; the real script then runs with the same arguments.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { defined } from '../helpers/guards';
import { conditionPasses } from './gha-expr';

const ROOT = resolve(__dirname, '../..');
const RAW = readFileSync(join(ROOT, '.github/workflows/cf-deploy.yml'), 'utf8');

interface Step {
  readonly name?: string;
  readonly id?: string;
  readonly if?: string;
  readonly run?: string;
  readonly env?: Record<string, string>;
  readonly 'continue-on-error'?: boolean;
}
const wf = parse(RAW) as { jobs: Record<string, { steps: Step[] }> };
const stepsOf = (job: string): Step[] => defined(wf.jobs[job], `job ${job}`).steps;
const SUMMARY = 'Summarize what the deploy creates';

describe.each([
  ['deploy-prod', 'prod', {}],
  ['preview', 'preview-7', { PR_NUMBER: '7' }],
])('%s: the deploy summary step', (job, stack, jobEnv) => {
  const steps = stepsOf(job);
  const step = defined(
    steps.find((s) => s.name === SUMMARY),
    `the summary step of ${job}`,
  );
  const deploy = defined(
    steps.find((s) => s.id === 'deploy'),
    `the deploy step of ${job}`,
  );

  it('comes right after the deploy step, holds no secret or credential, and cannot fail the job', () => {
    expect(steps.indexOf(step)).toBe(steps.indexOf(deploy) + 1);
    expect(step.env).toBeUndefined();
    expect(step.run).not.toMatch(/secrets\.|SECRETS_JSON|TOKEN|AWS_/);
    expect(step['continue-on-error']).toBe(true);
  });

  it('runs when the deploy ran (applied or failed), not when it was skipped or the run cancelled', () => {
    const runs = (outcome: string, cancelled = false): boolean =>
      conditionPasses(step.if, {
        contexts: { steps: { deploy: { outcome } } },
        status: { success: outcome !== 'failure', failure: outcome === 'failure', cancelled },
      });
    expect([runs('success'), runs('failure'), runs('skipped'), runs('success', true)]).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('appends npm run plan of its own stack, as Markdown and without synthesizing, to the job summary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zen-summary-step-'));
    try {
      const npm = join(dir, 'npm');
      writeFileSync(npm, '#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGS_FILE"\necho "# What this deploy creates"\n');
      chmodSync(npm, 0o755);
      const summary = join(dir, 'summary.md');
      writeFileSync(summary, 'earlier step\n');
      // the shell GitHub runs a `run:` with
      const script = join(dir, 'step.sh');
      writeFileSync(script, defined(step.run, 'its run'));
      const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
        cwd: dir,
        env: { PATH: `${dir}:/usr/bin:/bin`, GITHUB_STEP_SUMMARY: summary, ARGS_FILE: join(dir, 'args'), ...jobEnv },
        encoding: 'utf8',
      });
      expect([result.status, result.stderr]).toEqual([0, '']);
      const args = readFileSync(join(dir, 'args'), 'utf8').trim().split('\n');
      expect(args).toEqual(['run', '--silent', 'plan', '--', '--no-synth', '--stack', stack, '--markdown']);
      expect(readFileSync(summary, 'utf8')).toBe('earlier step\n# What this deploy creates\n');

      // the real script takes those arguments (here on a directory the deploy left without stacks)
      const real = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'scripts/plan.ts', ...args.slice(4), '--out', join(dir, 'cdktf.out')],
        { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...jobEnv }, encoding: 'utf8' },
      );
      expect([real.status, real.stdout]).toEqual([
        0,
        '# What this deploy creates\n\nNo synthesized stack was found.\n',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
