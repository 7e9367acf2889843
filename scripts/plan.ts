/**
 * `npm run plan`: what a deploy will create, read from the synthesized stacks (synthesized first when there are
 * none), in words and tables: each worker, public or private, its bindings by name and type (never a value), the keys
 * and projects each shard holds, routes, alerts, outputs, the state backend and the plan limits it was checked
 * against; with `--against` or `--outputs`, what changes. `--json` for scripts, `--markdown` for the job summary.
 * Options: scripts/plan/plan-cli.ts (`npm run plan -- --help`).
 */
import { ValidationError } from '../constructs/validate';
import { SynthError } from './local/synth';
import { PlanUsageError, USAGE, runPlan } from './plan/plan-cli';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  process.exitCode = await runPlan(argv, {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}

main().catch((error: unknown) => {
  const known = error instanceof PlanUsageError || error instanceof SynthError || error instanceof ValidationError;
  const usage = error instanceof PlanUsageError ? `\n${USAGE}` : '';
  process.stderr.write(
    known
      ? `error: ${(error as Error).message}${usage}\n`
      : `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
