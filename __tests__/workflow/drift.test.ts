import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DRIFT_MARKER, driftOutputs, renderDriftReport, report, summarizePlan } from '../../scripts/ci/drift';
import { startFakeGitHub, type FakeGitHub } from './fake-github';

const REPO = 'acme/zen-ai-router';

// Shapes of `terraform plan -json` machine-readable UI messages.
const PLAN_LOG = [
  JSON.stringify({ '@level': 'info', '@message': 'Terraform 1.14.8', type: 'version' }),
  JSON.stringify({
    '@message': 'cloudflare_workers_script.shard_0: Drift detected (update)',
    type: 'resource_drift',
    change: { resource: { addr: 'cloudflare_workers_script.shard_0' }, action: 'update' },
  }),
  JSON.stringify({
    '@message': 'cloudflare_workers_script.shard_0: Plan to update',
    type: 'planned_change',
    change: { resource: { addr: 'cloudflare_workers_script.shard_0' }, action: 'update' },
  }),
  JSON.stringify({
    '@message': 'cloudflare_workers_script_subdomain.orchestrator: Plan to create',
    type: 'planned_change',
    change: { resource: { addr: 'cloudflare_workers_script_subdomain.orchestrator' }, action: 'create' },
  }),
  JSON.stringify({ type: 'change_summary', changes: { add: 1, change: 1, import: 0, remove: 0, operation: 'plan' } }),
  'not json at all',
];

describe('summarizePlan / renderDriftReport', () => {
  it('lists drifted and planned resources by address and action, with the counts', () => {
    const summary = summarizePlan(PLAN_LOG);
    expect(summary.drifted).toEqual([{ address: 'cloudflare_workers_script.shard_0', action: 'update' }]);
    expect(summary.planned).toHaveLength(2);
    expect(summary.counts).toEqual({ add: 1, change: 1, remove: 0 });

    const body = renderDriftReport(summary, 'https://github.com/acme/x/actions/runs/9');
    expect(body.startsWith(DRIFT_MARKER)).toBe(true);
    expect(body).toContain('- `cloudflare_workers_script_subdomain.orchestrator`: create');
    expect(body).toContain('Plan: 1 to add, 1 to change, 0 to destroy.');
  });

  it('writes the report as a multi-line step output behind a delimiter', () => {
    expect(driftOutputs(true, 'line 1\nline 2', 'EOF_x')).toBe('drift=true\nreport<<EOF_x\nline 1\nline 2\nEOF_x\n');
    expect(() => driftOutputs(true, 'EOF_x', 'EOF_x')).toThrow(/delimiter/);
  });

  it('collects error diagnostics', () => {
    const s = summarizePlan([JSON.stringify({ type: 'diagnostic', diagnostic: { severity: 'error', summary: 'No valid credential sources found' } })]);
    expect(s.errors).toEqual(['No valid credential sources found']);
  });
});

describe('drift issue against a fake GitHub API', () => {
  let gh: FakeGitHub;
  let reportText = renderDriftReport(summarizePlan(PLAN_LOG));
  const env = (drift: boolean): NodeJS.ProcessEnv => ({
    GITHUB_API_URL: gh.url,
    GITHUB_TOKEN: 't',
    GITHUB_REPOSITORY: REPO,
    DRIFT: String(drift),
    DRIFT_REPORT: drift ? reportText : '',
  });

  beforeAll(async () => {
    gh = await startFakeGitHub(REPO);
  });
  afterAll(async () => {
    await gh.close();
  });

  it('opens one issue, updates it on the next drifting run, and closes it once prod is in sync', async () => {
    gh.issues.push(
      { id: 1, number: 1, title: 'human issue', body: DRIFT_MARKER, state: 'open', user: { login: 'alice', type: 'User' } },
      { id: 2, number: 2, title: 'a PR', body: DRIFT_MARKER, state: 'open', user: { login: 'bot', type: 'Bot' }, pull_request: {} },
    );
    await expect(report(env(true))).resolves.toBe('opened issue #3');
    reportText = reportText.replace('1 to add', '2 to add');
    await expect(report(env(true))).resolves.toBe('updated issue #3');
    expect(gh.issues.filter((i) => i.user.type === 'Bot' && !i.pull_request)).toHaveLength(1);
    expect(gh.issues[2]?.body).toContain('2 to add');

    await expect(report(env(false))).resolves.toBe('closed issue #3');
    expect(gh.issues[2]?.state).toBe('closed');
    expect(gh.comments.get(3)?.[0]?.body).toMatch(/No drift any more/);
    expect(gh.issues[0]?.state).toBe('open');

    await expect(report(env(false))).resolves.toBe('no drift, no open issue');
  });

  it('refuses a report that is not one (so a wrong output wiring cannot open junk issues)', async () => {
    await expect(report({ ...env(true), DRIFT_REPORT: 'hello' })).rejects.toThrow(/marker missing/);
  });
});

describe('drift.ts plan with stand-in npx and terraform on PATH', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drift-plan-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // `npx cdktf synth` stand-in: writes the stack the way cdktf would
    writeFileSync(join(bin, 'npx'), '#!/bin/sh\nmkdir -p cdktf.out/stacks/prod && echo "{}" > cdktf.out/stacks/prod/cdk.tf.json\n');
    // terraform stand-in: records its argv, prints the JSON plan log on `plan`, exits with FAKE_PLAN_EXIT
    writeFileSync(
      join(bin, 'terraform'),
      `#!/bin/sh\necho "$*" >> "$ARGS_LOG"\ncase "$*" in *" plan "*) cat "$PLAN_LOG_FILE"; exit "$FAKE_PLAN_EXIT";; esac\nexit 0\n`,
    );
    chmodSync(join(bin, 'npx'), 0o755);
    chmodSync(join(bin, 'terraform'), 0o755);
    writeFileSync(join(dir, 'plan.log'), PLAN_LOG.join('\n') + '\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function plan(exit: number) {
    const out = join(dir, `out-${exit}`);
    const args = join(dir, `args-${exit}`);
    writeFileSync(out, '');
    const r = spawnSync(process.execPath, [require.resolve('tsx/cli'), resolve(__dirname, '../../scripts/ci/drift.ts'), 'plan'], {
      cwd: dir,
      env: {
        PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
        HOME: dir,
        GITHUB_OUTPUT: out,
        ARGS_LOG: args,
        PLAN_LOG_FILE: join(dir, 'plan.log'),
        FAKE_PLAN_EXIT: String(exit),
      },
      encoding: 'utf8',
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, output: readFileSync(out, 'utf8'), args: readFileSync(args, 'utf8') };
  }

  it('exit 2 means drift: the report goes to the step outputs and the job still succeeds', () => {
    const r = plan(2);
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/^drift=true\nreport<<EOF_[0-9a-f-]+\n<!-- cf-deploy:drift-issue -->/);
    expect(r.output).toContain('- `cloudflare_workers_script.shard_0`: update');
    expect(r.stdout).toContain('cloudflare_workers_script.shard_0: Drift detected (update)');
    expect(r.args).toMatch(/^-chdir=cdktf.out\/stacks\/prod init -input=false -no-color\n-chdir=cdktf.out\/stacks\/prod plan -detailed-exitcode -lock=false /);
  });

  it('exit 0 means in sync: drift=false and an empty report', () => {
    const r = plan(0);
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/^drift=false\nreport<<(EOF_[0-9a-f-]+)\n\n\1\n$/);
    expect(r.stdout).toContain('prod matches main');
  });

  it('any other exit code fails the job and reports nothing', () => {
    const r = plan(1);
    expect(r.status).toBe(1);
    expect(r.output).toBe('');
    expect(r.stderr).toMatch(/terraform plan failed \(exit 1\)/);
  });
});
