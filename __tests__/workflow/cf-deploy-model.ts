/**
 * The deploy workflow as data, for the tests that check what it does: the parsed YAML, the steps that matter, and a
 * simulation of which jobs run for an event, made by evaluating the real `if:` expressions with {@link ./gha-expr}.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { defined } from '../helpers/guards';
import { conditionPasses, evaluate, type EvalContext } from './gha-expr';

export const ROOT = resolve(__dirname, '../..');
export const WORKFLOW_PATH = '.github/workflows/cf-deploy.yml';
export const RAW = readFileSync(join(ROOT, WORKFLOW_PATH), 'utf8');

export interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
  'continue-on-error'?: boolean | string;
}
export interface Job {
  name?: string;
  if?: string;
  needs?: string | string[];
  'runs-on': string;
  'timeout-minutes'?: number;
  environment?: string | { name: string };
  concurrency?: { group: string; 'cancel-in-progress'?: boolean } | string;
  permissions?: Record<string, string> | string;
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}
export interface Workflow {
  on: Record<string, unknown>;
  permissions?: unknown;
  env?: Record<string, string | number>;
  concurrency?: unknown;
  jobs: Record<string, Job>;
}

/** the YAML without comments, for checks on what the workflow does rather than what it says about itself */
export const CODE = RAW.split('\n')
  .map((line) => line.replace(/(^|\s)#.*$/, ''))
  .join('\n');
export const SECRETS_EXPR = /\$\{\{[^}]*\bsecrets\b/;
export const wf = parse(RAW) as Workflow;
export const jobs = Object.entries(wf.jobs);
export const job = (id: string): Job => defined(wf.jobs[id], `job ${id}`);
export const stepIn = (steps: readonly Step[], matches: (s: Step) => unknown, what: string): Step =>
  defined(steps.find(matches), what);
export const envOf = (step: Step, name: string): string =>
  defined(step.env?.[name], `${name} in the env of step ${step.name ?? step.id ?? '(unnamed)'}`);
export const needsOf = (job: Job): string[] =>
  job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
export const allSteps = jobs.flatMap(([jobId, job]) => job.steps.map((step) => ({ jobId, step })));
export const COLLECT = 'npx tsx scripts/ci/collect-keys.ts --';
/** `npm run keys:check` before the prod deploy: it gets the keys through collect-keys, but runs no Terraform */
export const KEYS_CHECK = `${COLLECT} npx tsx scripts/keys-check.ts`;
export const isKeysCheckStep = (s: Step): boolean => (s.run ?? '').trim() === KEYS_CHECK;
/** the step that runs Terraform with the collected keys */
export const isCollectStep = (s: Step): boolean => (s.run ?? '').trim().startsWith(COLLECT) && !isKeysCheckStep(s);
export const isSmokeStep = (s: Step): boolean => (s.run ?? '').trim() === 'npx tsx scripts/ci/smoke.ts';
/** jobs that run Terraform: they hold Cloudflare and state credentials */
export const terraformJobs = jobs.filter(([, job]) => job.steps.some(isCollectStep)).map(([id]) => id);

// ---------------------------------------------------------------------------------------------------------------
// Simulating which jobs run for an event, by evaluating the real `if:` expressions.

export const REPO = 'acme/zen-ai-router';
export interface Scenario {
  readonly event: 'push' | 'pull_request' | 'schedule' | 'workflow_dispatch' | 'pull_request_target';
  readonly ref?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly headRepo?: string;
  readonly author?: { login: string; type: 'User' | 'Bot' };
  /** jobs that fail when they run */
  readonly failing?: readonly string[];
  /** outputs of jobs that run, instead of the defaults {@link simulate} gives them */
  readonly outputs?: Readonly<Record<string, Record<string, string>>>;
}

export function githubContext(s: Scenario): Record<string, unknown> {
  const pr =
    s.event === 'pull_request'
      ? {
          number: 42,
          head: { repo: { full_name: s.headRepo ?? REPO }, sha: 'a'.repeat(40) },
          base: { sha: 'b'.repeat(40) },
          user: s.author ?? { login: 'alice', type: 'User' },
        }
      : undefined;
  return {
    event_name: s.event,
    ref: s.ref ?? (s.event === 'pull_request' ? 'refs/pull/42/merge' : 'refs/heads/main'),
    actor: s.actor ?? s.author?.login ?? 'alice',
    repository: REPO,
    run_id: 1,
    server_url: 'https://github.com',
    event: { action: s.action ?? null, pull_request: pr ?? null },
  };
}

export function triggered(s: Scenario): boolean {
  const on = wf.on as Record<string, { branches?: string[]; types?: string[] } | null>;
  if (!(s.event in on)) return false;
  const filter = on[s.event];
  if (s.event === 'push')
    return (filter?.branches ?? []).some((b) => `refs/heads/${b}` === (s.ref ?? 'refs/heads/main'));
  if (s.event === 'pull_request') return (filter?.types ?? []).includes(s.action ?? '');
  return true;
}

export interface JobRun {
  result: 'success' | 'failure' | 'skipped';
  outputs: Record<string, string>;
}

export function simulate(s: Scenario): Record<string, JobRun> {
  const runs: Record<string, JobRun> = {};
  if (!triggered(s)) return runs;
  const github = githubContext(s);
  const pending = new Map(jobs);
  while (pending.size > 0) {
    const ready = [...pending].find(([, job]) => needsOf(job).every((n) => n in runs));
    if (!ready) throw new Error('cycle in needs');
    const [id, job] = ready;
    pending.delete(id);
    const needs = Object.fromEntries(needsOf(job).map((n) => [n, runs[n]]));
    const results = needsOf(job).map((n) => runs[n]?.result);
    const ctx: EvalContext = {
      contexts: { github, needs },
      status: { success: results.every((r) => r === 'success'), failure: results.some((r) => r === 'failure') },
    };
    if (!conditionPasses(job.if, ctx)) {
      runs[id] = { result: 'skipped', outputs: {} };
      continue;
    }
    const result = s.failing?.includes(id) ? 'failure' : 'success';
    // the preview job's outputs, as its steps would set them
    const defaults: Record<string, string> =
      id === 'preview'
        ? {
            deployed: String(result === 'success'),
            'key-count': '3',
            url: 'https://x.y.workers.dev',
            'script-name': 'x',
          }
        : {};
    runs[id] = { result, outputs: s.outputs?.[id] ?? defaults };
  }
  return runs;
}

export const ran = (s: Scenario): string[] =>
  Object.entries(simulate(s))
    .filter(([, r]) => r.result !== 'skipped')
    .map(([id]) => id)
    .sort();

export function stepRuns(jobId: string, stepName: RegExp, s: Scenario): boolean {
  const step = wf.jobs[jobId]?.steps.find((st) => stepName.test(st.name ?? ''));
  if (!step) throw new Error(`no step ${stepName} in ${jobId}`);
  return conditionPasses(step.if, { contexts: { github: githubContext(s) } });
}

export function interpolate(text: string, ctx: EvalContext): string {
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e: string) => String(evaluate(e, ctx) ?? ''));
}

export const PR = (over: Partial<Scenario> = {}): Scenario => ({ event: 'pull_request', action: 'opened', ...over });
export const FORK = { headRepo: 'mallory/zen-ai-router' };
export const DEPENDABOT = { author: { login: 'dependabot[bot]', type: 'Bot' as const }, actor: 'dependabot[bot]' };
export const GUARD = 'npx tsx scripts/ci/preview-isolation.ts';
/** the step that refuses prod's credentials in a preview (see scripts/ci/preview-isolation.ts) */
export const isGuardStep = (s: Step): boolean => (s.run ?? '').includes(GUARD);
