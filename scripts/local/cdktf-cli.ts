/**
 * How the project runs the cdktf CLI: its entry point, the environment it runs in, and whether it can start on this
 * Node.js.
 *
 * Every command of the CLI but `--version` and `--help` loads the native module `@cdktf/node-pty-prebuilt-multiarch`,
 * which ships builds for Node.js up to 22 (ABI 127) only. On a newer Node.js the module exists only if npm compiled it
 * at install time, for that Node.js's headers (README "Node.js versions").
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './synth';

export const CDKTF_NATIVE_MODULE = '@cdktf/node-pty-prebuilt-multiarch';

/** The CLI's entry point, run with this process's Node.js (`node <it> synth ...`). */
export const CDKTF_CLI_PATH = join(PROJECT_ROOT, 'node_modules', 'cdktf-cli', 'bundle', 'bin', 'cdktf');

/**
 * The environment the project runs the CLI in: the caller's, with HashiCorp's checkpoint service turned off. Without
 * `CHECKPOINT_DISABLE` every command asks checkpoint-api.hashicorp.com for news and, on a machine without that host
 * (offline, a locked-down runner), prints `[ERROR] default - getaddrinfo ENOTFOUND checkpoint-api.hashicorp.com` in
 * the middle of a good synth. cdktf-cli 0.21 checks only that the variable is set, and Terraform reads the same one.
 */
export function cdktfCliEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) out[name] = value;
  return { ...out, CHECKPOINT_DISABLE: '1' };
}

/** Why the CLI's native module did not load, from the loader's error output. */
export function nativeModuleProblem(stderr: string, nodeVersion: string, abi: string): string {
  const compiledFor = /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/.exec(
    stderr,
  );
  if (compiledFor) {
    return `${CDKTF_NATIVE_MODULE} was compiled for another Node.js (ABI ${compiledFor[1]}; Node.js ${nodeVersion} needs ABI ${compiledFor[2]}): ERR_DLOPEN_FAILED`;
  }
  if (/Cannot find module '\.\.\/build\/Release\/pty\.node'/.test(stderr)) {
    return `${CDKTF_NATIVE_MODULE} has no build for Node.js ${nodeVersion} (ABI ${abi}) and npm did not compile one: "Cannot find module '../build/Release/pty.node'"`;
  }
  const last = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /Error/.test(line))
    .pop();
  return `${CDKTF_NATIVE_MODULE} does not load on Node.js ${nodeVersion}: ${last ?? 'no error output'}`;
}

/**
 * Loads the CLI's native module in a child process of this Node.js (a failed native load cannot be undone in this
 * one); `undefined` when it loads, else why not.
 */
export function cdktfCliLoadProblem(): string | undefined {
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(CDKTF_NATIVE_MODULE)})`], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  });
  return probe.status === 0 ? undefined : nativeModuleProblem(probe.stderr, process.version, process.versions.modules);
}
