/**
 * Runs `cdktf synth` exactly as a deploy would, so the emulated topology is the one Terraform would receive.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const PROJECT_ROOT = join(__dirname, '..', '..');

export interface SynthOptions {
  /** where `cdktf.out`-style output goes; stacks land in `<outDir>/stacks/<stack>/` */
  readonly outDir: string;
  /** the complete environment for synth (see `synthEnv`) */
  readonly env: Record<string, string>;
}

/** Runs `cdktf synth --output <outDir>`; rejects with synth's own output when it fails. */
export function runSynth({ outDir, env }: SynthOptions): Promise<void> {
  const cli = join(PROJECT_ROOT, 'node_modules', 'cdktf-cli', 'bundle', 'bin', 'cdktf');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cli, 'synth', '--output', outDir], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolvePromise();
      // strip the spinner's terminal control sequences so the message is readable in a log
      else reject(new Error(`cdktf synth failed (exit ${code}):\n${output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trim()}`));
    });
  });
}
