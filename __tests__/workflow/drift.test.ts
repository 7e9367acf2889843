import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  classifyStateList,
  DRIFT_MARKER,
  driftOutputs,
  renderDriftReport,
  report,
  STATE_LIST_ARGS,
  summarizePlan,
} from '../../scripts/ci/drift';
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
    expect(driftOutputs('skipped', '', 'EOF_x')).toBe('drift=skipped\nreport<<EOF_x\n\nEOF_x\n');
    expect(() => driftOutputs(true, 'EOF_x', 'EOF_x')).toThrow(/delimiter/);
  });

  it('collects error diagnostics', () => {
    const s = summarizePlan([
      JSON.stringify({
        type: 'diagnostic',
        diagnostic: { severity: 'error', summary: 'No valid credential sources found' },
      }),
    ]);
    expect(s.errors).toEqual(['No valid credential sources found']);
  });
});

describe('classifyStateList (is prod deployed at all?)', () => {
  // what Terraform 1.11 prints for `state list` when the backend has no state object (checked with a local backend)
  const NO_STATE = 'No state file was found!\n\nState management commands require a state file. Run this command\n';

  it('lists addresses only: never show -json or state pull, which print every attribute including the keys', () => {
    expect(STATE_LIST_ARGS).toEqual(['-chdir=cdktf.out/stacks/prod', 'state', 'list', '-no-color']);
  });

  it('no state object, or one without resources: not deployed, with the reason', () => {
    expect(classifyStateList(1, '', NO_STATE)).toEqual({ deployed: false, reason: 'there is no prod state yet' });
    expect(classifyStateList(0, '', '')).toEqual({ deployed: false, reason: 'the prod state holds no resources' });
    expect(classifyStateList(0, '\n  \n', '')).toEqual({
      deployed: false,
      reason: 'the prod state holds no resources',
    });
  });

  it('resources in state: deployed, counted', () => {
    const list = 'cloudflare_workers_script.Orchestrator_6EF1216F\ncloudflare_workers_script.Shards_0_Resource_1\n';
    expect(classifyStateList(0, list, '')).toEqual({ deployed: true, resources: 2 });
  });

  it('any other failure is an error, never a reason to skip the check', () => {
    expect(() => classifyStateList(1, '', 'Error: Failed to get existing workspaces: AccessDenied\n')).toThrow(
      'terraform state list failed (exit 1): Error: Failed to get existing workspaces: AccessDenied',
    );
    expect(() => classifyStateList(null, '', '')).toThrow('terraform state list failed (exit signal): no output');
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
      {
        id: 1,
        number: 1,
        title: 'human issue',
        body: DRIFT_MARKER,
        state: 'open',
        user: { login: 'alice', type: 'User' },
      },
      {
        id: 2,
        number: 2,
        title: 'a PR',
        body: DRIFT_MARKER,
        state: 'open',
        user: { login: 'bot', type: 'Bot' },
        pull_request: {},
      },
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

  it('refuses a DRIFT that is neither true nor false instead of reading it as "in sync" and closing the issue', async () => {
    gh.issues.push({
      id: 50,
      number: gh.issues.length + 1,
      title: 'drift',
      body: DRIFT_MARKER,
      state: 'open',
      user: { login: 'bot', type: 'Bot' },
    });
    const before = gh.requests.length;
    await expect(report({ ...env(false), DRIFT: 'skipped' })).rejects.toThrow(
      'DRIFT must be true or false, got "skipped"',
    );
    expect(gh.requests.length).toBe(before);
    expect(gh.issues.at(-1)?.state).toBe('open');
  });
});

describe('drift.ts plan with stand-in npx and terraform on PATH', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drift-plan-'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // `npx cdktf synth` stand-in: writes the stack the way cdktf would
    writeFileSync(
      join(bin, 'npx'),
      '#!/bin/sh\nmkdir -p cdktf.out/stacks/prod && echo "{}" > cdktf.out/stacks/prod/cdk.tf.json\n',
    );
    // terraform stand-in: records its argv, prints the JSON plan log on `plan` and exits with FAKE_PLAN_EXIT; on
    // `state list` it answers like Terraform 1.11 does for FAKE_STATE: a missing object, an empty one, or resources
    writeFileSync(
      join(bin, 'terraform'),
      [
        '#!/bin/sh',
        'echo "$*" >> "$ARGS_LOG"',
        'case "$*" in',
        '  *" plan "*) cat "$PLAN_LOG_FILE"; exit "$FAKE_PLAN_EXIT";;',
        '  *" state list"*) case "$FAKE_STATE" in',
        '    absent) echo "No state file was found!" >&2; exit 1;;',
        '    empty) exit 0;;',
        '    denied) echo "Error: AccessDenied" >&2; exit 1;;',
        '    *) echo cloudflare_workers_script.Orchestrator_6EF1216F; echo cloudflare_workers_script.Shards_0_Resource_1; exit 0;;',
        '  esac;;',
        'esac',
        'exit 0',
        '',
      ].join('\n'),
    );
    chmodSync(join(bin, 'npx'), 0o755);
    chmodSync(join(bin, 'terraform'), 0o755);
    writeFileSync(join(dir, 'plan.log'), `${PLAN_LOG.join('\n')}\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function plan(exit: number, state: 'deployed' | 'absent' | 'empty' | 'denied' = 'deployed') {
    const out = join(dir, `out-${exit}-${state}`);
    const args = join(dir, `args-${exit}-${state}`);
    const summary = join(dir, `summary-${exit}-${state}`);
    writeFileSync(out, '');
    writeFileSync(summary, '');
    const r = spawnSync(
      process.execPath,
      [require.resolve('tsx/cli'), resolve(__dirname, '../../scripts/ci/drift.ts'), 'plan'],
      {
        cwd: dir,
        env: {
          PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
          HOME: dir,
          GITHUB_OUTPUT: out,
          GITHUB_STEP_SUMMARY: summary,
          ARGS_LOG: args,
          PLAN_LOG_FILE: join(dir, 'plan.log'),
          FAKE_PLAN_EXIT: String(exit),
          FAKE_STATE: state,
        },
        encoding: 'utf8',
      },
    );
    return {
      status: r.status,
      stdout: r.stdout,
      stderr: r.stderr,
      output: readFileSync(out, 'utf8'),
      args: readFileSync(args, 'utf8'),
      summary: readFileSync(summary, 'utf8'),
    };
  }

  it('exit 2 means drift: the report goes to the step outputs and the job still succeeds', () => {
    const r = plan(2);
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/^drift=true\nreport<<EOF_[0-9a-f-]+\n<!-- cf-deploy:drift-issue -->/);
    expect(r.output).toContain('- `cloudflare_workers_script.shard_0`: update');
    expect(r.stdout).toContain('cloudflare_workers_script.shard_0: Drift detected (update)');
    expect(r.args).toMatch(
      /^-chdir=cdktf.out\/stacks\/prod init -input=false -no-color\n-chdir=cdktf.out\/stacks\/prod state list -no-color\n-chdir=cdktf.out\/stacks\/prod plan -detailed-exitcode -lock=false /,
    );
  });

  it('exit 0 means in sync: drift=false and an empty report', () => {
    const r = plan(0);
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/^drift=false\nreport<<(EOF_[0-9a-f-]+)\n\n\1\n$/);
    expect(r.stdout).toContain('prod matches main');
  });

  it.each([
    ['no state object yet (the first nightly run before any deploy)', 'absent', 'There is no prod state yet'],
    ['a state without resources', 'empty', 'The prod state holds no resources'],
  ] as const)('%s: skips the plan with a notice, drift=skipped, and the job succeeds', (_, state, reason) => {
    const r = plan(2, state);
    expect(r.status).toBe(0);
    expect(r.args).not.toMatch(/ plan /);
    expect(r.output).toMatch(/^drift=skipped\nreport<<(EOF_[0-9a-f-]+)\n\n\1\n$/);
    expect(r.stdout).toMatch(/^::notice title=Drift check skipped::.*nothing deployed to compare with/m);
    expect(r.summary).toContain(`### Drift check skipped\n\n${reason}, so there is nothing deployed to compare with`);
  });

  it('a state that cannot be read fails the job instead of skipping', () => {
    const r = plan(0, 'denied');
    expect(r.status).toBe(1);
    expect(r.output).toBe('');
    expect(r.args).not.toMatch(/ plan /);
    expect(r.stderr).toContain('terraform state list failed (exit 1): Error: AccessDenied');
  });

  it('any other exit code fails the job and reports nothing', () => {
    const r = plan(1);
    expect(r.status).toBe(1);
    expect(r.output).toBe('');
    expect(r.stderr).toMatch(/terraform plan failed \(exit 1\)/);
  });
});
