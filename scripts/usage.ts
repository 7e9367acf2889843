/**
 * `npm run usage`: what the gateway's keys, projects, clients and models used in a period, and each project's requests
 * today against its daily limit, from the usage data points the shard workers write to Workers Analytics Engine, read
 * through the Analytics Engine SQL API. Options: scripts/usage/usage-cli.ts (`npm run usage -- --help`).
 */
import { DailyLimitsError } from './usage/daily-limits';
import { UsageApiError } from './usage/usage-api';
import { runUsage, USAGE, UsageCliError } from './usage/usage-cli';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  await runUsage(argv, {
    env: process.env,
    fetch: (url, init) => fetch(url, init),
    now: () => Date.now(),
    stdout: (text) => process.stdout.write(text),
  });
}

main().catch((error: unknown) => {
  const known = error instanceof UsageCliError || error instanceof DailyLimitsError || error instanceof UsageApiError;
  const usage = error instanceof UsageCliError ? `\n${USAGE}` : '';
  process.stderr.write(
    known
      ? `error: ${(error as Error).message}${usage}\n`
      : `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
