/**
 * `npm run plan`'s command line: which stacks to read (synthesizing them first when there are none), what to compare
 * them with, and how to print the result. The summary itself is built by pure functions (`plan-report.ts`); this
 * module only reads files, runs synth and writes the output.
 *
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../../config';
import { WORKERS_PLANS, type WorkersPlan } from '../../constructs/limits';
import { PROJECT_ROOT, runSynth } from '../local/synth';
import { buildReport } from './plan-report';
import { renderReport } from './render-report';
import { type SynthesizedStack, readStackFile, readSynthesizedStacks, stackNameOf } from './stack-json';

export const USAGE = `usage: npm run plan -- [options]
  --json              print the summary as JSON (for scripts)
  --markdown          print it as Markdown (the workflow's job summary)
  --out <dir>         the synthesized app to read (default cdktf.out; synthesized first when it holds no stack)
  --synth             synthesize first even when <dir> already holds stacks
  --no-synth          never synthesize: with no stack in <dir>, say so and exit 0
  --stack <name>      only this stack (prod, preview-7, ...)
  --against <path>    a previous cdk.tf.json, or a previous cdktf.out: print what changes
  --outputs <file>    the deployed outputs (cdktf deploy --outputs-file, or terraform output -json): print what changes
  --plan free|paid    the Workers plan whose limits to check (default WORKERS_PLAN, else free)`;

/** A wrong command line; the message is for the user, with the usage. */
export class PlanUsageError extends Error {
  override readonly name = 'PlanUsageError';
}

export interface PlanArgs {
  readonly format: 'text' | 'markdown' | 'json';
  readonly outDir: string;
  readonly synth: 'missing' | 'always' | 'never';
  readonly stack?: string;
  readonly against?: string;
  readonly outputs?: string;
  readonly plan?: WorkersPlan;
}

const VALUE_FLAGS = new Set(['--out', '--stack', '--against', '--outputs', '--plan']);
const SWITCHES: Readonly<Record<string, Partial<PlanArgs>>> = {
  '--json': { format: 'json' },
  '--markdown': { format: 'markdown' },
  '--synth': { synth: 'always' },
  '--no-synth': { synth: 'never' },
};

function valueArg(flag: string, value: string, cwd: string): Partial<PlanArgs> {
  if (flag === '--plan') {
    if (!(WORKERS_PLANS as readonly string[]).includes(value))
      throw new PlanUsageError(`--plan must be one of ${WORKERS_PLANS.join(', ')}, got ${JSON.stringify(value)}`);
    return { plan: value as WorkersPlan };
  }
  if (flag === '--stack') return { stack: value };
  const path = resolve(cwd, value);
  return flag === '--out' ? { outDir: path } : flag === '--against' ? { against: path } : { outputs: path };
}

/** The command line as options; `--flag=value` and `--flag value` both work. */
export function parsePlanArgs(argv: readonly string[], cwd: string = process.cwd()): PlanArgs {
  let args: PlanArgs = { format: 'text', outDir: join(PROJECT_ROOT, 'cdktf.out'), synth: 'missing' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag = '', inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg];
    const switched = SWITCHES[flag];
    if (switched !== undefined && inline === undefined) {
      args = { ...args, ...switched };
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) throw new PlanUsageError(`unknown argument ${JSON.stringify(arg)}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '') throw new PlanUsageError(`${flag} needs a value`);
    args = { ...args, ...valueArg(flag, value, cwd) };
  }
  return args;
}

/** A previous synth: one `cdk.tf.json`, a stack directory, a `stacks/` directory or a whole `cdktf.out`. */
export function readPrevious(path: string): SynthesizedStack[] {
  if (!existsSync(path)) throw new PlanUsageError(`--against: ${path} does not exist`);
  if (!statSync(path).isDirectory()) {
    const json = readStackFile(path);
    return [{ name: stackNameOf(json) ?? basename(dirname(path)), dir: dirname(path), json }];
  }
  if (existsSync(join(path, 'cdk.tf.json'))) return readPrevious(join(path, 'cdk.tf.json'));
  const stacks = readSynthesizedStacks(existsSync(join(path, 'stacks')) ? path : dirname(path));
  if (stacks.length === 0) throw new PlanUsageError(`--against: no cdk.tf.json under ${path}`);
  return stacks;
}

function readJsonFile(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new PlanUsageError(`${what}: cannot read ${path} as JSON (${(error as Error).message})`);
  }
}

/** Gzip size of a bundle, what Cloudflare's worker size limit measures; undefined when the file is not there. */
export function gzipSize(file: string): number | undefined {
  try {
    return gzipSync(readFileSync(file)).byteLength;
  } catch {
    return undefined;
  }
}

export interface PlanIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

async function synthesizedStacks(args: PlanArgs, io: PlanIo): Promise<SynthesizedStack[]> {
  const existing = readSynthesizedStacks(args.outDir);
  const synth = args.synth === 'always' || (args.synth === 'missing' && existing.length === 0);
  if (!synth) return existing;
  io.stderr(`synthesizing into ${args.outDir} (as npm run synth does)...\n`);
  const result = await runSynth({ outDir: args.outDir, env: io.env });
  for (const line of result.annotations) io.stderr(`${line}\n`);
  return readSynthesizedStacks(args.outDir);
}

/** Runs `npm run plan` with `argv`; resolves to the exit code. */
export async function runPlan(argv: readonly string[], io: PlanIo): Promise<number> {
  const args = parsePlanArgs(argv);
  const all = await synthesizedStacks(args, io);
  const stacks = args.stack === undefined ? all : all.filter((s) => s.name === args.stack);
  // no stack at all (a deploy that failed before synth wrote one) is reported, not an error
  if (args.stack !== undefined && stacks.length === 0 && all.length > 0)
    throw new PlanUsageError(
      `no stack ${args.stack} in ${args.outDir} (it has: ${all.map((s) => s.name).join(', ') || 'none'})`,
    );
  const report = buildReport({
    stacks,
    plan: args.plan ?? loadConfig(io.env).stack.workersPlan,
    previous: args.against === undefined ? undefined : readPrevious(args.against),
    deployedOutputs: args.outputs === undefined ? undefined : readJsonFile(args.outputs, '--outputs'),
    gzipSize,
  });
  io.stdout(args.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report, args.format));
  return 0;
}
