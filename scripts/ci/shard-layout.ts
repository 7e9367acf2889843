/**
 * Puts the prod stack's shard layout in the deploy's run summary: its `shard_layout` output (which key numbers and
 * projects each shard holds; never a key), present only when `KEY_PROJECTS` is set. Nothing to say without it.
 *
 *   tsx scripts/ci/shard-layout.ts
 *
 * Env: OUTPUTS_FILE (the deploy's `--outputs-file`); optional STACK (default `prod`) and GITHUB_STEP_SUMMARY.
 * Every value printed is checked first (numbers, project labels, worker names), so the summary shows nothing else.
 *
 * @module
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { describeLayout, type ShardLayoutEntry } from '../../constructs/shard-layout';
import { isProjectLabel } from '../../workers/shared/key-layout';
import { requireEnv } from './github';

type Entry = Omit<ShardLayoutEntry, 'quota_share'>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isKeyNumber = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) > 0;

/** One entry as the output holds it, or undefined when any part of it is not what synth writes. */
function entryOf(value: unknown): Entry | undefined {
  if (!isRecord(value)) return undefined;
  const { shard, worker, keys, projects } = value;
  if (!Number.isSafeInteger(shard) || (shard as number) < 0) return undefined;
  if (typeof worker !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(worker)) return undefined;
  if (!Array.isArray(keys) || !keys.every(isKeyNumber)) return undefined;
  if (!Array.isArray(projects) || projects.length !== keys.length) return undefined;
  if (!projects.every((p): p is string => typeof p === 'string' && isProjectLabel(p))) return undefined;
  return { shard: shard as number, worker, keys, projects };
}

/**
 * The `shard_layout` output of `stack` in a cdktf outputs file (or a raw `terraform output -json`), or undefined
 * when there is none or it is malformed.
 */
export function layoutEntries(outputs: unknown, stack: string): Entry[] | undefined {
  const root = isRecord(outputs) && isRecord(outputs[stack]) ? outputs[stack] : outputs;
  if (!isRecord(root)) return undefined;
  const found = Object.entries(root).find(([key]) => /^shard_?layout$/i.test(key))?.[1];
  // raw `terraform output -json` wraps each value
  const value = isRecord(found) && 'value' in found ? found.value : found;
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const entries = value.map(entryOf);
  return entries.every((e): e is Entry => e !== undefined) ? entries : undefined;
}

/** The summary section: a total line, then one line per shard. */
export function renderLayoutSummary(stack: string, entries: readonly Entry[]): string {
  const [total, ...shards] = describeLayout(entries);
  return [
    `### Shard layout of \`${stack}\``,
    '',
    `${total} (KEY_PROJECTS); key numbers count from 1 in \`TF_VAR_api_keys\`:`,
    '',
    ...shards.map((line) => `- ${line}`),
    '',
  ].join('\n');
}

/** CLI; returns the exit code (0 also when there is no layout to show). */
export function main(env: NodeJS.ProcessEnv, stdout: (line: string) => void): number {
  const stack = env.STACK?.trim() || 'prod';
  const outputs: unknown = JSON.parse(readFileSync(requireEnv(env, 'OUTPUTS_FILE'), 'utf8'));
  const entries = layoutEntries(outputs, stack);
  if (entries === undefined) {
    stdout(`no shard_layout output in ${stack} (KEY_PROJECTS is not set): every key is its own project`);
    return 0;
  }
  for (const line of describeLayout(entries)) stdout(line);
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, renderLayoutSummary(stack, entries));
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.env, (line) => process.stdout.write(`${line}\n`));
  } catch (error) {
    process.stderr.write(`shard-layout: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
