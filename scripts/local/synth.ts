/**
 * Synthesizes the app exactly as `cdktf synth` does, without loading the cdktf CLI.
 *
 * The CLI cannot start on a Node.js its native dependency was not built for (README "Node.js versions"), yet synth
 * needs nothing from it: the CLI runs cdktf.json's `app` in the environment {@link appEnv} builds, then reads
 * `manifest.json`, reports the stacks' annotations and removes stack directories the app no longer writes. This module
 * does the same (after `SynthStack.synth` of @cdktf/cli-core 0.21), so `npm start`, `npm run synth`, the tests and the
 * benchmarks run on every supported Node.js and see the stacks a deploy would.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export const PROJECT_ROOT = join(__dirname, '..', '..');

/** How cdktf.json's `app` starts the app, after `node`; a test keeps the two the same. */
export const APP_NODE_ARGS: readonly string[] = ['--import', 'tsx', 'main.ts'];

/** The parts of cdktf.json that shape the app's environment. */
export interface CdktfConfig {
  readonly app?: string;
  readonly context?: Readonly<Record<string, unknown>>;
  readonly terraformModules?: readonly unknown[];
}

export interface SynthOptions {
  /** where `cdktf.out`-style output goes; stacks land in `<outDir>/stacks/<stack>/` */
  readonly outDir: string;
  /** the environment synth is run from; `TF_VAR_*` never reaches the app (see {@link appEnv}) */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * The arguments after `node` that start the app, run with this process's Node.js from the project root.
   *
   * @default APP_NODE_ARGS
   */
  readonly nodeArgs?: readonly string[];
}

export interface SynthResult {
  /** the synthesized stacks, in manifest order */
  readonly stacks: readonly string[];
  /** what the app wrote to stdout and stderr (its notices) */
  readonly output: string;
  /** one `WARN [construct path]: message` (or `INFO`) line per non-error annotation */
  readonly annotations: readonly string[];
}

/** Synth failed; the message holds what the app said about why. */
export class SynthError extends Error {
  override readonly name = 'SynthError';
}

const ANNOTATION_LEVELS: Readonly<Record<string, string>> = {
  '@cdktf/info': 'INFO',
  '@cdktf/warn': 'WARN',
  '@cdktf/error': 'ERROR',
};

export function readCdktfConfig(root: string = PROJECT_ROOT): CdktfConfig {
  return JSON.parse(readFileSync(join(root, 'cdktf.json'), 'utf8')) as CdktfConfig;
}

function isRelativeModule(module: unknown): boolean {
  const source = typeof module === 'string' ? module : (module as { source?: unknown } | null)?.source;
  return typeof source === 'string' && (source.startsWith('./') || source.startsWith('../'));
}

/**
 * The app's environment as the cdktf CLI builds it: the caller's environment without `TF_VAR_*` (Terraform variables,
 * and so the keys and the password, are for plan and apply only), `NODE_OPTIONS` raising the heap limit unless the
 * caller set it, the `NODE_ENV` the CLI sets for its whole process tree, and the `CDKTF_*` variables the app reads.
 */
export function appEnv(
  env: Readonly<Record<string, string | undefined>>,
  outDir: string,
  config: CdktfConfig,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && !name.startsWith('TF_VAR_')) out[name] = value;
  }
  if (!out.NODE_OPTIONS) out.NODE_OPTIONS = '--max-old-space-size=4096';
  if (!out.NODE_ENV) out.NODE_ENV = 'production';
  // cdktf.json's context replaces one from the environment, as in the CLI; both are usually absent or empty
  const context =
    config.context ?? (out.CDKTF_CONTEXT_JSON ? (JSON.parse(out.CDKTF_CONTEXT_JSON) as Record<string, unknown>) : {});
  return {
    ...out,
    CDKTF_OUTDIR: outDir,
    // error annotations land in the manifest instead of throwing, and are reported from there as the CLI does
    CDKTF_CONTINUE_SYNTH_ON_ERROR_ANNOTATIONS: 'true',
    CDKTF_CONTEXT_JSON: JSON.stringify({
      ...context,
      cdktfRelativeModules: (config.terraformModules ?? []).filter(isRelativeModule),
    }),
    SYNTH_HCL_OUTPUT: 'false',
  };
}

/** The lines of the app's output that explain a failure: its `configuration error:` lines if any, else the tail. */
export function synthFailureSummary(output: string): string {
  const lines = output
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour sequences, which begin with ESC
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
    .split(/\r?\n/)
    .map((line) => line.trimEnd());
  const configErrors = [...new Set(lines.filter((l) => /^\s*configuration error:/.test(l)).map((l) => l.trim()))];
  if (configErrors.length > 0) return configErrors.join('\n');
  return lines
    .filter((l) => l.trim() !== '')
    .slice(-15)
    .join('\n');
}

function stackDirectories(outDir: string): string[] {
  const dir = join(outDir, 'stacks');
  return existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
    : [];
}

function runApp(nodeArgs: readonly string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolvePromise(output);
      else
        reject(
          new SynthError(
            `synth failed (${signal ? `killed by ${signal}` : `exit ${code}`}):\n${synthFailureSummary(output)}`,
          ),
        );
    });
  });
}

interface ManifestStack {
  readonly annotations?: readonly {
    readonly constructPath?: string;
    readonly level?: string;
    readonly message?: string;
  }[];
}

/** Runs the app the way `cdktf synth --output <outDir>` does; rejects with the app's own explanation when it fails. */
export async function runSynth({ outDir, env, nodeArgs = APP_NODE_ARGS }: SynthOptions): Promise<SynthResult> {
  const existing = stackDirectories(outDir);
  // the manifest read below must be this run's, never one an earlier synth left behind
  rmSync(join(outDir, 'manifest.json'), { force: true });
  const output = await runApp(nodeArgs, appEnv(env, outDir, readCdktfConfig()));

  let manifest: { stacks?: Record<string, ManifestStack> };
  try {
    manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as typeof manifest;
  } catch (error) {
    throw new SynthError(
      `the app exited without writing ${join(outDir, 'manifest.json')} (${(error as Error).message}): does it call app.synth()?`,
    );
  }
  const stacks = Object.keys(manifest.stacks ?? {});
  const annotations = Object.values(manifest.stacks ?? {}).flatMap((stack) =>
    (stack.annotations ?? []).map((a) => ({
      level: ANNOTATION_LEVELS[a.level ?? ''] ?? String(a.level),
      line: `[${a.constructPath}]: ${a.message}`,
    })),
  );
  // a stack the app no longer writes must not be emulated or deployed from a stale directory
  for (const name of existing.filter((dir) => !stacks.includes(dir))) {
    rmSync(join(outDir, 'stacks', name), { recursive: true, force: true });
  }
  const errors = annotations.filter((a) => a.level === 'ERROR');
  if (errors.length > 0) {
    throw new SynthError(
      `synth reported ${errors.length} error annotation(s):\n${errors.map((a) => `ERROR ${a.line}`).join('\n')}`,
    );
  }
  return { stacks, output, annotations: annotations.map((a) => `${a.level} ${a.line}`) };
}
