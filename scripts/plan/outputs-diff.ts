/**
 * What changes against the outputs of the deployed state, when no previous `cdk.tf.json` is at hand: the outputs a
 * deploy adds or removes, and each output synth already knows (the public worker's name, the preview's key count, the
 * shard layout) whose deployed value differs. The outputs come from `cdktf deploy --outputs-file` (nested by stack) or
 * `terraform output -json` (one stack, each output `{ value, sensitive }`); a sensitive output is never read.
 *
 * @module
 */
import type { StackSummary } from './stack-summary';

/** Deployed outputs of one stack, by name. */
export type DeployedOutputs = ReadonlyMap<string, unknown>;

export interface OutputsDiff {
  readonly stack: string;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  /** outputs synth knows whose deployed value differs */
  readonly changed: readonly { readonly name: string; readonly before: string; readonly after: string }[];
  /** outputs known only at apply, so not compared */
  readonly notCompared: readonly string[];
  /** shard count in the deployed and the new `shard_layout`, when both are lists */
  readonly shards?: { readonly before: number; readonly after: number };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `terraform output -json` wraps each output as `{ sensitive, type, value }`. */
function isTerraformOutput(value: unknown): value is { value: unknown; sensitive?: unknown } {
  return isRecord(value) && 'value' in value && ('sensitive' in value || 'type' in value);
}

function unwrap(outputs: Record<string, unknown>): Map<string, unknown> {
  const found = new Map<string, unknown>();
  for (const [name, raw] of Object.entries(outputs)) {
    if (!isTerraformOutput(raw)) found.set(name, raw);
    else if (raw.sensitive !== true) found.set(name, raw.value);
  }
  return found;
}

/**
 * The deployed outputs of `stack` in an outputs file: its entry when the file is nested by stack, else the whole
 * file when it is one stack's `terraform output -json`; undefined when the file holds neither.
 */
export function deployedOutputsOf(file: unknown, stack: string): DeployedOutputs | undefined {
  if (!isRecord(file)) return undefined;
  const nested = file[stack];
  if (isRecord(nested)) return unwrap(nested);
  const values = Object.values(file);
  if (values.length > 0 && values.every(isTerraformOutput)) return unwrap(file);
  return undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
}

/** A `shard_layout` value's shard count, when it is (the JSON text of) a list. */
function shardCountOf(value: unknown): number | undefined {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return Array.isArray(parsed) ? parsed.length : undefined;
}

/** Same value, whether written as JSON text or as the structure (a literal output in cdk.tf.json vs the state). */
function sameValue(deployed: unknown, synthesized: string): boolean {
  if (text(deployed) === synthesized) return true;
  try {
    return JSON.stringify(JSON.parse(synthesized)) === JSON.stringify(deployed);
  } catch {
    return false;
  }
}

/** The difference between the deployed outputs and what this synth declares. */
export function diffOutputs(summary: StackSummary, deployed: DeployedOutputs): OutputsDiff {
  const now = new Map(summary.outputs.map((o) => [o.name, o.value]));
  const known = (value: string) => !value.startsWith('(computed') && value !== '(sensitive)';
  const common = [...now.keys()].filter((name) => deployed.has(name));
  const layoutBefore = shardCountOf(deployed.get('shard_layout'));
  const layoutAfter = shardCountOf(now.get('shard_layout'));
  return {
    stack: summary.stack,
    added: [...now.keys()].filter((name) => !deployed.has(name)),
    removed: [...deployed.keys()].filter((name) => !now.has(name)),
    changed: common
      .filter((name) => known(now.get(name) ?? '') && !sameValue(deployed.get(name), now.get(name) ?? ''))
      .map((name) => ({ name, before: text(deployed.get(name)), after: now.get(name) ?? '' })),
    notCompared: common.filter((name) => !known(now.get(name) ?? '')),
    shards:
      layoutBefore !== undefined && layoutAfter !== undefined
        ? { before: layoutBefore, after: layoutAfter }
        : undefined,
  };
}
