/**
 * `npm run bench`: runs every benchmark in its own process, one after another, so one cannot warm the next.
 * Exits non-zero only when a benchmark could not run; slow figures are reported, never failed.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const BENCHES = [
  'synth-scaling',
  'hop',
  'streaming',
  'failover',
  'bundle',
  'request-cpu',
  'capacity',
  'claude-code',
  'affinity-hash',
  'redaction',
  'metering',
  'implicit-cache',
] as const;
const only = process.argv.slice(2);
let failed = 0;
for (const name of BENCHES.filter((b) => only.length === 0 || only.includes(b))) {
  process.stdout.write(`\n## ${name}\n\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', resolve(__dirname, `${name}.ts`)], {
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    failed++;
    process.stderr.write(`benchmark ${name} could not run (exit ${result.status})\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);
