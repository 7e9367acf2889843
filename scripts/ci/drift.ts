/**
 * Scheduled drift check of the `prod` stack: plan, never apply.
 *
 *   tsx scripts/ci/collect-keys.ts -- npx tsx scripts/ci/drift.ts plan   # needs the keys, see below
 *   tsx scripts/ci/drift.ts report                                       # another job: opens/updates/closes an issue
 *
 * `plan` synthesizes, inits and runs `terraform plan -detailed-exitcode -lock=false -json` (0 = in sync, 2 = drift,
 * anything else = error). It needs TF_VAR_api_keys/TF_VAR_pass because the secret bindings are compared with state:
 * without the real values every binding would show up as drift. It writes a report of resource ADDRESSES and
 * ACTIONS only (from the JSON log, never attribute values, never a saved plan file, which would hold the keys) as the
 * step outputs `drift=true|false` and `report`. Before any deploy of prod (no state object, or one without resources)
 * there is nothing to compare: it skips the plan with a notice and `drift=skipped`, so the first nightly run does not
 * open an issue listing every resource "to add". `report` runs in a job with `issues: write` and no Cloudflare
 * credentials, reading DRIFT and DRIFT_REPORT (those two outputs).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { clientFromEnv, requireEnv } from './github';

export const DRIFT_MARKER = '<!-- cf-deploy:drift-issue -->';
export const STACK_DIR = 'cdktf.out/stacks/prod';

/**
 * Exit code 0 = in sync, 1 = error, 2 = changes. `-lock=false`: a read-only check must not take (or wait for) the
 * lock a deploy needs, and the read-only R2 token could not write a lock file anyway. No `-out`: a saved plan holds
 * the keys in plaintext.
 */
export const PLAN_ARGS: readonly string[] = [
  `-chdir=${STACK_DIR}`,
  'plan',
  '-detailed-exitcode',
  '-lock=false',
  '-input=false',
  '-no-color',
  '-json',
];

/**
 * Lists resource ADDRESSES in the state and nothing else; `terraform show -json` or `state pull` would also work, but
 * they print every attribute, the keys included. Reading state takes no lock.
 */
export const STATE_LIST_ARGS: readonly string[] = [`-chdir=${STACK_DIR}`, 'state', 'list', '-no-color'];

export type StateCheck =
  | { readonly deployed: true; readonly resources: number }
  | { readonly deployed: false; readonly reason: string };

/**
 * What `terraform state list` says about prod. No state object is not an error to Terraform's S3 backend until a
 * state command runs: `state list` then fails with "No state file was found!". An object without resources (prod was
 * destroyed) is empty output. Any other failure (credentials, bucket, network) is an error, never a skip.
 */
export function classifyStateList(status: number | null, stdout: string, stderr: string): StateCheck {
  if (status === 0) {
    const resources = stdout.split('\n').filter((line) => line.trim() !== '').length;
    return resources > 0
      ? { deployed: true, resources }
      : { deployed: false, reason: 'the prod state holds no resources' };
  }
  if (/No state file was found/i.test(stderr)) return { deployed: false, reason: 'there is no prod state yet' };
  const tail = stderr.trim().split('\n').slice(-5).join(' ').trim();
  throw new Error(`terraform state list failed (exit ${status ?? 'signal'}): ${tail || 'no output'}`);
}

export interface ResourceChange {
  readonly address: string;
  readonly action: string;
}

export interface PlanSummary {
  /** changes made outside Terraform since the last apply */
  readonly drifted: readonly ResourceChange[];
  /** what an apply of main would do now */
  readonly planned: readonly ResourceChange[];
  readonly counts: { readonly add: number; readonly change: number; readonly remove: number } | undefined;
  readonly errors: readonly string[];
}

/** Summarizes `terraform plan -json` log lines. Non-JSON lines are ignored. */
export function summarizePlan(lines: Iterable<string>): PlanSummary {
  const drifted: ResourceChange[] = [];
  const planned: ResourceChange[] = [];
  const errors: string[] = [];
  let counts: PlanSummary['counts'];
  for (const line of lines) {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const change = msg.change as { resource?: { addr?: unknown }; action?: unknown } | undefined;
    const entry =
      change && typeof change.resource?.addr === 'string' && typeof change.action === 'string'
        ? { address: change.resource.addr, action: change.action }
        : undefined;
    if (msg.type === 'resource_drift' && entry) drifted.push(entry);
    else if (msg.type === 'planned_change' && entry) planned.push(entry);
    else if (msg.type === 'change_summary') {
      const c = msg.changes as { add?: number; change?: number; remove?: number } | undefined;
      counts = { add: c?.add ?? 0, change: c?.change ?? 0, remove: c?.remove ?? 0 };
    } else if (msg.type === 'diagnostic') {
      const d = msg.diagnostic as { severity?: string; summary?: string } | undefined;
      if (d?.severity === 'error' && d.summary) errors.push(d.summary);
    }
  }
  return { drifted, planned, counts, errors };
}

export function renderDriftReport(summary: PlanSummary, runUrl?: string): string {
  const list = (items: readonly ResourceChange[]): string[] =>
    items.length === 0 ? ['- _none_'] : items.map((c) => `- \`${c.address}\`: ${c.action}`);
  const c = summary.counts;
  return [
    DRIFT_MARKER,
    '### Drift in the `prod` stack',
    '',
    'The scheduled plan of `main` against the deployed `prod` stack is not empty. Nothing was applied.',
    c ? `Plan: ${c.add} to add, ${c.change} to change, ${c.remove} to destroy.` : '',
    '',
    '**Changed outside Terraform:**',
    ...list(summary.drifted),
    '',
    '**An apply of `main` would:**',
    ...list(summary.planned),
    '',
    `Re-run the deploy of \`main\` to converge, or fix the code if the outside change should stay.${runUrl ? ` [Workflow run](${runUrl}).` : ''}`,
    '',
  ].join('\n');
}

/**
 * cdktf points Terraform at this provider cache when IT runs Terraform; the drift check runs Terraform itself, so it
 * sets the same directory to reuse the providers the workflow restores with actions/cache.
 */
function terraformEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const cache = env.TF_PLUGIN_CACHE_DIR || join(homedir(), '.terraform.d', 'plugin-cache');
  mkdirSync(cache, { recursive: true });
  return { ...env, TF_PLUGIN_CACHE_DIR: cache };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

async function plan(env: NodeJS.ProcessEnv): Promise<number> {
  run('npx', ['cdktf', 'synth']);
  if (!existsSync(`${STACK_DIR}/cdk.tf.json`)) throw new Error(`synth did not produce ${STACK_DIR}/cdk.tf.json`);
  const tfEnv = terraformEnv(env);
  run('terraform', [`-chdir=${STACK_DIR}`, 'init', '-input=false', '-no-color'], tfEnv);

  const list = spawnSync('terraform', [...STATE_LIST_ARGS], {
    env: tfEnv,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const state = classifyStateList(list.status, list.stdout ?? '', list.stderr ?? '');
  if (!state.deployed) {
    const message = `${state.reason}, so there is nothing deployed to compare with; the check starts after the first deploy of main.`;
    process.stdout.write(`::notice title=Drift check skipped::${message}\n`);
    if (env.GITHUB_STEP_SUMMARY)
      appendFileSync(
        env.GITHUB_STEP_SUMMARY,
        `### Drift check skipped\n\n${message[0]?.toUpperCase()}${message.slice(1)}\n`,
      );
    appendFileSync(requireEnv(env, 'GITHUB_OUTPUT'), driftOutputs('skipped', ''));
    return 0;
  }
  process.stdout.write(`prod state: ${state.resources} resources\n`);

  const child = spawn('terraform', [...PLAN_ARGS], { stdio: ['ignore', 'pipe', 'inherit'], env: tfEnv });
  const lines: string[] = [];
  const rl = createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    lines.push(line);
    // human-readable progress; Terraform's messages show "(sensitive value)" rather than secret attributes
    try {
      const m = (JSON.parse(line) as { '@message'?: unknown })['@message'];
      if (typeof m === 'string') process.stdout.write(`${m}\n`);
    } catch {
      process.stdout.write(`${line}\n`);
    }
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const summary = summarizePlan(lines);
  if (code !== 0 && code !== 2) {
    process.stderr.write(`terraform plan failed (exit ${code}): ${summary.errors.join('; ') || 'see the log above'}\n`);
    return 1;
  }
  const drift = code === 2;
  appendFileSync(
    requireEnv(env, 'GITHUB_OUTPUT'),
    driftOutputs(drift, drift ? renderDriftReport(summary, env.RUN_URL) : ''),
  );
  process.stdout.write(drift ? 'drift detected\n' : 'prod matches main\n');
  return 0;
}

/** GITHUB_OUTPUT text for `drift` and the multi-line `report`, with a delimiter that cannot occur in the report. */
export function driftOutputs(
  drift: boolean | 'skipped',
  reportText: string,
  delimiter = `EOF_${randomUUID()}`,
): string {
  if (reportText.includes(delimiter)) throw new Error('report contains the output delimiter');
  return `drift=${drift}\nreport<<${delimiter}\n${reportText}\n${delimiter}\n`;
}

/** Opens or updates the drift issue, or closes it once prod is back in sync. */
export async function report(env: NodeJS.ProcessEnv): Promise<string> {
  // strict: anything but true/false (e.g. "skipped", which the workflow does not hand over) is a wiring mistake, and
  // reading it as "no drift" would close an open drift issue
  const rawDrift = requireEnv(env, 'DRIFT');
  if (rawDrift !== 'true' && rawDrift !== 'false') throw new Error(`DRIFT must be true or false, got "${rawDrift}"`);
  const drift = rawDrift === 'true';
  const client = clientFromEnv(env);
  const open = await client.findOpenIssue(DRIFT_MARKER);
  let result: string;
  if (drift) {
    const body = requireEnv(env, 'DRIFT_REPORT');
    if (!body.includes(DRIFT_MARKER))
      throw new Error('DRIFT_REPORT does not look like a drift report (marker missing)');
    if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, body.replace(DRIFT_MARKER, ''));
    if (open?.number !== undefined) {
      await client.updateIssue(open.number, { body });
      result = `updated issue #${open.number}`;
    } else {
      result = `opened issue #${await client.createIssue('Drift detected in the prod stack', body)}`;
    }
  } else if (open?.number !== undefined) {
    await client.comment(
      open.number,
      `No drift any more${env.RUN_URL ? ` ([workflow run](${env.RUN_URL}))` : ''}: closing.`,
    );
    await client.updateIssue(open.number, { state: 'closed' });
    result = `closed issue #${open.number}`;
  } else {
    result = 'no drift, no open issue';
  }
  if (env.GITHUB_STEP_SUMMARY && !drift) appendFileSync(env.GITHUB_STEP_SUMMARY, `No drift in prod (${result}).\n`);
  return result;
}

if (require.main === module) {
  const cmd = process.argv[2];
  const task = cmd === 'plan' ? plan(process.env).then(String) : cmd === 'report' ? report(process.env) : undefined;
  if (!task) {
    process.stderr.write('usage: drift.ts plan|report\n');
    process.exit(2);
  }
  task.then(
    (out) => {
      if (cmd === 'report') process.stdout.write(`${out}\n`);
      process.exit(cmd === 'plan' ? Number(out) : 0);
    },
    (err: unknown) => {
      process.stderr.write(`drift: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
