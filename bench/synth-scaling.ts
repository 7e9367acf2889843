/**
 * Benchmark 1: synth wall time and peak memory against KEY_COUNT, next to an empty stack.
 *
 * Each run is a fresh `node` process executing the app the way `cdktf synth` does (`tsx main.ts` with
 * CDKTF_OUTDIR set), timed by GNU time, so the figure is the app's own cost. The cdktf CLI adds a constant start-up on
 * top; it is measured once for the baseline and once for 800 keys so the ratio with it is shown too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CDKTF_CLI_PATH, cdktfCliEnv, cdktfCliLoadProblem } from '../scripts/local/cdktf-cli';
import { fmt, printTable, summarize } from './stats';

const ROOT = resolve(__dirname, '..');
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

interface Run {
  readonly seconds: number;
  readonly maxRssMiB: number;
}

function timed(command: string, argsFor: (out: string) => readonly string[], env: NodeJS.ProcessEnv): Run {
  const out = mkdtempSync(join(tmpdir(), 'zen-synth-bench-'));
  const args = argsFor(out);
  try {
    // GNU time writes "<elapsed seconds> <max RSS KiB>" as the last line of stderr.
    const result = spawnSync('/usr/bin/time', ['-f', '%e %M', command, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env, CDKTF_OUTDIR: out },
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr.slice(-2000)}`);
    return parseTime(result.stderr);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function parseTime(stderr: string): Run {
  const last = stderr.trim().split('\n').pop() ?? '';
  const [seconds, kib] = last.split(' ').map(Number);
  if (seconds === undefined || kib === undefined || !Number.isFinite(seconds) || !Number.isFinite(kib))
    throw new Error(`unexpected GNU time output: ${last}`);
  return { seconds, maxRssMiB: kib / 1024 };
}

function repeat(fn: () => Run): { seconds: number; maxRssMiB: number } {
  const runs = Array.from({ length: REPEATS }, fn);
  return {
    seconds: summarize(runs.map((r) => r.seconds)).p50,
    maxRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)),
  };
}

function main(): void {
  const tsxApp = (entry: string, env: NodeJS.ProcessEnv) =>
    repeat(() => timed(process.execPath, () => ['--import', 'tsx', entry], env));

  const baseline = tsxApp('bench/empty-app.ts', {});
  const rows: (string | number)[][] = [
    ['empty stack (baseline)', '-', fmt(baseline.seconds), '1.00', fmt(baseline.maxRssMiB, 0), '1.00'],
  ];
  // 2,000 keys need 250 shards: over the free plan's 100 workers, so the larger counts run on the paid plan's limits.
  for (const keys of [8, 80, 800, 2000]) {
    const plan = keys / 8 + 1 > 100 ? 'paid' : 'free';
    const run = tsxApp('main.ts', { KEY_COUNT: String(keys), KEYS_PER_SHARD: '8', WORKERS_PLAN: plan, PR_NUMBER: '' });
    rows.push([
      `prod, ${keys} keys`,
      plan,
      fmt(run.seconds),
      fmt(run.seconds / baseline.seconds),
      fmt(run.maxRssMiB, 0),
      fmt(run.maxRssMiB / baseline.maxRssMiB),
    ]);
  }
  process.stdout.write(`Synth scaling (median of ${REPEATS} runs; app process only)\n\n`);
  printTable(['app', 'plan', 'wall s', 'x baseline', 'peak RSS MiB', 'x baseline'], rows);

  const problem = cdktfCliLoadProblem();
  if (problem !== undefined) {
    // the figures above are the app's own; the CLI's constant start-up is an extra, not a reason to fail the run
    process.stdout.write(
      `Through the cdktf CLI: skipped, it cannot start on Node.js ${process.version} (${problem})\n`,
    );
    return;
  }
  const cli = CDKTF_CLI_PATH;
  // the environment the project runs the CLI in: no call to HashiCorp's checkpoint service while it is timed
  const cliEnv = cdktfCliEnv({});
  const cliBase = timed(
    process.execPath,
    (out) => [cli, 'synth', '--app', 'node --import tsx bench/empty-app.ts', '--output', out],
    cliEnv,
  );
  const cli800 = timed(process.execPath, (out) => [cli, 'synth', '--output', out], {
    ...cliEnv,
    KEY_COUNT: '800',
    WORKERS_PLAN: 'paid',
    PR_NUMBER: '',
  });
  process.stdout.write('Through the cdktf CLI (one run each)\n\n');
  printTable(
    ['command', 'wall s', 'x baseline'],
    [
      ['cdktf synth, empty stack', fmt(cliBase.seconds), '1.00'],
      ['cdktf synth, prod with 800 keys', fmt(cli800.seconds), fmt(cli800.seconds / cliBase.seconds)],
    ],
  );
}

main();
