/**
 * What each job of the deploy workflow can reach (GitHub environment, secrets, write permissions) and for which events,
 * read from the YAML and the real `if:` expressions. The point is the blast radius of a pull request: on
 * `pull_request` the workflow file itself comes from the pull request's merge ref, so whatever a job that runs for a
 * pull request can reach, the pull request's author can reach. That must be the `preview` environment at most, and
 * every job holding it must run the preview isolation check (scripts/ci/preview-isolation.ts) before anything
 * synthesizes or deploys. docs/security.md's table of who can do what mirrors the table here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  githubContext,
  interpolate,
  isCollectStep,
  isGuardStep,
  type Job,
  job,
  jobs,
  PR,
  RAW,
  ROOT,
  type Scenario,
  simulate,
  type Step,
  wf,
} from './cf-deploy-model';

const SCENARIOS: Readonly<Record<string, Scenario>> = {
  'push to main': { event: 'push' },
  'same-repo PR': PR(),
  'same-repo PR closed': PR({ action: 'closed' }),
  'fork PR': PR({ headRepo: 'mallory/zen-ai-router' }),
  'fork PR closed': PR({ action: 'closed', headRepo: 'mallory/zen-ai-router' }),
  'bot PR': PR({ author: { login: 'renovate[bot]', type: 'Bot' } }),
  schedule: { event: 'schedule' },
  'manual run': { event: 'workflow_dispatch' },
};
const PR_SCENARIOS = Object.keys(SCENARIOS).filter((s) => SCENARIOS[s]?.event === 'pull_request');

/** The scenarios in which a job runs (the tests pass: a red run deploys nothing, cf-deploy.test.ts shows). */
function eventsOf(id: string): string[] {
  return Object.entries(SCENARIOS)
    .filter(([, s]) => (simulate(s)[id]?.result ?? 'skipped') !== 'skipped')
    .map(([label]) => label);
}

const environmentOf = (j: Job): string | undefined =>
  typeof j.environment === 'object' ? j.environment.name : j.environment;

/** The secrets a job names, `*` for `toJSON(secrets)` (every secret the job can see). */
function secretsOf(j: Job): string[] {
  const text = JSON.stringify(j);
  const named = [...text.matchAll(/\bsecrets\.([A-Za-z0-9_]+)/g)].map((m) => m[1] ?? '');
  const all = /toJSON\(\s*secrets\s*\)/.test(text) ? ['*'] : [];
  return [...new Set([...all, ...named])].sort();
}

const writesOf = (j: Job): string[] =>
  Object.entries(typeof j.permissions === 'object' ? j.permissions : {})
    .filter(([, level]) => level === 'write')
    .map(([scope]) => scope)
    .sort();

/** Which code the job checks out in a scenario: the pull request's merge ref (the default ref) or the base. */
function checkedOut(j: Job, s: Scenario): 'none' | 'pull request' | 'base' | 'pushed commit' {
  const checkout = j.steps.find((st) => st.uses?.startsWith('actions/checkout@'));
  if (!checkout) return 'none';
  const ref = interpolate(String(checkout.with?.ref ?? ''), { contexts: { github: githubContext(s) } });
  if (ref === 'b'.repeat(40)) return 'base';
  if (ref !== '') throw new Error(`unexpected checkout ref ${ref}`);
  return s.event === 'pull_request' ? 'pull request' : 'pushed commit';
}

/** A step that synthesizes, plans, deploys or destroys (a command, not a hint that names one in its text). */
const touchesTerraform = (st: Step): boolean =>
  isCollectStep(st) || /^\s*(npx (cdktf|tsx scripts\/ci\/drift\.ts)|terraform|npm run synth)\b/m.test(st.run ?? '');

describe('cf-deploy workflow: what each job can reach', () => {
  it('matches the table in docs/security.md', () => {
    const table = Object.fromEntries(
      jobs.map(([id, j]) => [
        id,
        {
          runsOn: eventsOf(id),
          environment: environmentOf(j) ?? 'none',
          secrets: secretsOf(j),
          writes: writesOf(j),
          codeOnOpenPR: eventsOf(id).includes('same-repo PR') ? checkedOut(j, PR()) : 'not run',
        },
      ]),
    );
    const PREVIEW_SECRETS = ['*', 'CLOUDFLARE_API_TOKEN', 'PASS', 'R2_ACCESS_KEY_ID', 'R2_SECRET_ACCESS_KEY'];
    expect(table).toEqual({
      test: {
        runsOn: ['push to main', 'same-repo PR', 'fork PR', 'bot PR', 'schedule', 'manual run'],
        environment: 'none',
        secrets: [],
        writes: [],
        codeOnOpenPR: 'pull request',
      },
      'deploy-prod': {
        runsOn: ['push to main'],
        environment: 'production',
        secrets: PREVIEW_SECRETS,
        writes: [],
        codeOnOpenPR: 'not run',
      },
      preview: {
        runsOn: ['same-repo PR'],
        environment: 'preview',
        secrets: PREVIEW_SECRETS,
        writes: [],
        codeOnOpenPR: 'pull request',
      },
      'destroy-preview': {
        runsOn: ['same-repo PR closed'],
        environment: 'preview',
        secrets: PREVIEW_SECRETS.filter((s) => s !== 'PASS'),
        writes: [],
        codeOnOpenPR: 'not run',
      },
      'preview-comment': {
        runsOn: ['same-repo PR', 'same-repo PR closed'],
        environment: 'none',
        secrets: [],
        writes: ['pull-requests'],
        codeOnOpenPR: 'pull request',
      },
      drift: {
        runsOn: ['schedule', 'manual run'],
        environment: 'production-readonly',
        secrets: ['*', 'CLOUDFLARE_API_TOKEN', 'R2_ACCESS_KEY_ID', 'R2_SECRET_ACCESS_KEY'],
        writes: [],
        codeOnOpenPR: 'not run',
      },
      'drift-report': {
        runsOn: ['schedule', 'manual run'],
        environment: 'none',
        secrets: [],
        writes: ['issues'],
        codeOnOpenPR: 'not run',
      },
    });
    expect(checkedOut(job('destroy-preview'), PR({ action: 'closed' }))).toBe('base');
    expect(checkedOut(job('preview-comment'), PR({ action: 'closed' }))).toBe('base');
  });

  it('lets a pull request reach the preview environment at most: never production or production-readonly', () => {
    const reached = new Set<string>();
    for (const label of PR_SCENARIOS) {
      for (const [id, run] of Object.entries(simulate(SCENARIOS[label] as Scenario))) {
        if (run.result === 'skipped') continue;
        reached.add(environmentOf(job(id)) ?? 'none');
      }
    }
    expect([...reached].sort()).toEqual(['none', 'preview']);
  });

  // A manual run on another branch would run that branch's file: the environments' rule (branch `main`) stops it.
  it('reaches the prod environments only on a push to main, the schedule or a manual run', () => {
    const prodJobs = jobs.filter(([, j]) => /^production/.test(environmentOf(j) ?? '')).map(([id]) => id);
    expect(prodJobs.sort()).toEqual(['deploy-prod', 'drift']);
    for (const id of prodJobs)
      expect([id, eventsOf(id).filter((e) => !['push to main', 'schedule', 'manual run'].includes(e))]).toEqual([
        id,
        [],
      ]);
  });

  it('gives a fork or bot pull request no environment and no secret', () => {
    for (const label of ['fork PR', 'fork PR closed', 'bot PR']) {
      for (const [id, run] of Object.entries(simulate(SCENARIOS[label] as Scenario))) {
        if (run.result === 'skipped') continue;
        expect([label, id, environmentOf(job(id)), secretsOf(job(id))]).toEqual([label, id, undefined, []]);
      }
    }
  });

  it('never gives a job that holds an environment or a secret a write token', () => {
    for (const [id, j] of jobs) {
      const holdsCredentials = environmentOf(j) !== undefined || secretsOf(j).length > 0;
      expect([id, holdsCredentials && writesOf(j).length > 0]).toEqual([id, false]);
    }
  });
});

describe('cf-deploy workflow: the preview isolation check', () => {
  const previewJobs = jobs.filter(([, j]) => environmentOf(j) === 'preview');

  it('runs in every job holding the preview environment, after npm ci and before anything synthesizes or deploys', () => {
    expect(previewJobs.map(([id]) => id).sort()).toEqual(['destroy-preview', 'preview']);
    for (const [id, j] of previewJobs) {
      const guard = j.steps.findIndex(isGuardStep);
      const install = j.steps.findIndex((st) => (st.run ?? '').startsWith('npm ci'));
      const firstTerraform = j.steps.findIndex(touchesTerraform);
      expect([id, install > -1 && install < guard, guard > -1 && guard < firstTerraform]).toEqual([id, true, true]);
      // every later step runs only if the check passed: none of them is made to run after a failure
      for (const st of j.steps.slice(guard + 1).filter(touchesTerraform))
        expect([id, st.name, /always\(\)|failure\(\)|cancelled\(\)/.test(st.if ?? '')]).toEqual([id, st.name, false]);
    }
  });

  it('can neither be skipped nor fail softly', () => {
    for (const [id, j] of previewJobs) {
      const guard = j.steps.find(isGuardStep) as Step & { 'continue-on-error'?: unknown };
      expect([
        id,
        guard.if,
        guard['continue-on-error'],
        (j as { 'continue-on-error'?: unknown })['continue-on-error'],
      ]).toEqual([id, undefined, undefined, undefined]);
    }
  });

  it("holds the preview's token and R2 access key id, prod's declared identifiers, and nothing else", () => {
    for (const [id, j] of previewJobs) {
      const guard = j.steps.find(isGuardStep) as Step;
      expect([id, guard.env]).toEqual([
        id,
        {
          PROD_STATE_BUCKET: '${{ vars.PROD_STATE_BUCKET }}',
          PROD_R2_ACCESS_KEY_ID: '${{ vars.PROD_R2_ACCESS_KEY_ID }}',
          PROD_CLOUDFLARE_TOKEN_ID: '${{ vars.PROD_CLOUDFLARE_TOKEN_ID }}',
          PROD_CLOUDFLARE_ACCOUNT_ID: '${{ vars.PROD_CLOUDFLARE_ACCOUNT_ID }}',
          R2_ACCESS_KEY_ID: '${{ secrets.R2_ACCESS_KEY_ID }}',
          CLOUDFLARE_API_TOKEN: '${{ secrets.CLOUDFLARE_API_TOKEN }}',
        },
      ]);
      // the preview's own bucket and account come from the job, as every other step sees them
      expect([id, j.env?.STATE_BUCKET, j.env?.CLOUDFLARE_ACCOUNT_ID]).toEqual([
        id,
        '${{ vars.STATE_BUCKET }}',
        '${{ vars.CLOUDFLARE_ACCOUNT_ID }}',
      ]);
    }
  });

  it('is the check the deploy runs; a destroy on a base that predates it goes ahead with a warning', () => {
    expect(job('preview').steps.find(isGuardStep)?.run).toBe('npx tsx scripts/ci/preview-isolation.ts');
    const destroyGuard = job('destroy-preview').steps.find(isGuardStep)?.run ?? '';
    expect(destroyGuard).toMatch(/^if \[ ! -f scripts\/ci\/preview-isolation\.ts \]; then\n\s*echo "::warning /);
    expect(destroyGuard.trim().split('\n').at(-1)).toBe('npx tsx scripts/ci/preview-isolation.ts');
  });

  it('has every prod identifier it reads documented in the setup and the threat model', () => {
    const declared = [...new Set([...RAW.matchAll(/\bvars\.(PROD_[A-Z0-9_]+)/g)].map((m) => m[1] ?? ''))].sort();
    expect(declared).toEqual([
      'PROD_CLOUDFLARE_ACCOUNT_ID',
      'PROD_CLOUDFLARE_TOKEN_ID',
      'PROD_R2_ACCESS_KEY_ID',
      'PROD_STATE_BUCKET',
    ]);
    for (const doc of ['docs/deploy.md', 'docs/security.md']) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      expect([doc, declared.filter((v) => !text.includes(v))]).toEqual([doc, []]);
    }
    expect(wf.jobs['deploy-prod']?.steps.some(isGuardStep)).toBe(false);
  });
});
