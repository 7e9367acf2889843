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

/** `cdktf synth` failed; the message holds what synth said about why. */
export class SynthError extends Error {
  override readonly name = 'SynthError';
}

/**
 * The lines of cdktf's output that explain a failure: the app's own `configuration error:` lines when there are any,
 * else the tail without the spinner frames and the warning about a missing `~/.terraformrc`.
 */
export function synthFailureSummary(output: string): string {
  const lines = output.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split(/\r?\n/).map((line) => line.trimEnd());
  const configErrors = [...new Set(lines.filter((l) => /^\s*configuration error:/.test(l)).map((l) => l.trim()))];
  if (configErrors.length > 0) return configErrors.join('\n');
  const noise = /^\s*$|^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|^[│╷╵]|CLI configuration|\.terraformrc/;
  return lines.filter((l) => !noise.test(l)).slice(-15).join('\n');
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
      else reject(new SynthError(`cdktf synth failed (exit ${code}):\n${synthFailureSummary(output)}`));
    });
  });
}
