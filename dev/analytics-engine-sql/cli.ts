/**
 * Runs the Analytics Engine SQL API stand-in on 127.0.0.1 with a demo day of data points (`./demo.ts`), for trying
 * `npm run usage` without a Cloudflare account: `npx tsx dev/analytics-engine-sql/cli.ts [port]`, then run the
 * command it prints. The README's `npm run usage` output comes from it.
 */
import { DEFAULT_USAGE_DATASET } from '../../workers/shared/usage-schema';
import { demoPoints } from './demo';
import { startSqlStandIn } from './server';

const ACCOUNT = '0123456789abcdef0123456789abcdef';
const TOKEN = 'stand-in-token';

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? 0);
  const standIn = await startSqlStandIn({
    accountId: ACCOUNT,
    token: TOKEN,
    datasets: [DEFAULT_USAGE_DATASET],
    points: demoPoints(DEFAULT_USAGE_DATASET, Date.now()),
    port,
  });
  process.stdout.write(
    `Analytics Engine SQL API stand-in at ${standIn.baseUrl} (a demo day of usage; Ctrl-C to stop). Try:\n` +
      `  USAGE_API_URL=${standIn.baseUrl} CLOUDFLARE_ACCOUNT_ID=${ACCOUNT} USAGE_API_TOKEN=${TOKEN} \\\n` +
      `  PROJECT_DAILY_LIMITS='{"*":{"gemini-3.8-flash":250,"*":1000}}' npm run usage\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
