/**
 * `npm run cdktf -- <command>`: the project's cdktf CLI (`npx cdktf`) with its checkpoint call turned off (see
 * {@link cdktfCliEnv}), so `npm run cdktf -- synth` offline prints no telemetry error. Arguments and exit code pass
 * through unchanged.
 */
import { spawn } from 'node:child_process';
import { CDKTF_CLI_PATH, cdktfCliEnv } from './local/cdktf-cli';

const child = spawn(process.execPath, [CDKTF_CLI_PATH, ...process.argv.slice(2)], {
  env: cdktfCliEnv(process.env),
  stdio: 'inherit',
});
child.once('error', (error) => {
  process.stderr.write(`error: could not start the cdktf CLI: ${error.message}\n`);
  process.exit(1);
});
child.once('close', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
