/**
 * `npm run synth`: writes every stack to `cdktf.out/` exactly as `cdktf synth` would, but without loading the cdktf
 * CLI, so it works on every supported Node.js (README "Node.js versions"). `TF_VAR_*` never reaches the app.
 */
import { join, resolve } from 'node:path';
import { PROJECT_ROOT, SynthError, runSynth } from './local/synth';

const USAGE = 'usage: npm run synth [-- --output <dir>]   (default cdktf.out; set PR_NUMBER for a preview stack)';

function outputDir(argv: readonly string[]): string {
  if (argv.length === 0) return join(PROJECT_ROOT, 'cdktf.out');
  const [flag, value] =
    argv.length === 1 && argv[0]?.startsWith('--output=') ? ['--output', argv[0].slice('--output='.length)] : argv;
  if (flag !== '--output' || !value || argv.length > 2)
    throw new SynthError(`unexpected arguments ${JSON.stringify(argv.join(' '))}\n${USAGE}`);
  return resolve(process.cwd(), value);
}

async function main(): Promise<void> {
  const outDir = outputDir(process.argv.slice(2));
  const result = await runSynth({ outDir, env: process.env });
  process.stderr.write(result.output);
  for (const line of result.annotations) process.stderr.write(`${line}\n`);
  process.stdout.write(`Generated Terraform code for the stacks: ${result.stacks.join(', ')} (in ${outDir})\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    error instanceof SynthError
      ? `error: ${error.message}\n`
      : `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
