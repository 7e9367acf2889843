/**
 * The deploy summary as data: every synthesized stack summarized, the plan limits checked over all of them (they are
 * deployed to one account), and, when given, the difference from a previous synth of each stack and from the
 * deployed state's outputs. `npm run plan -- --json` prints exactly this object.
 *
 * @module
 */
import type { WorkersPlan } from '../../constructs/limits';
import { type LimitCheck, checkLimits } from './limits-check';
import { type OutputsDiff, deployedOutputsOf, diffOutputs } from './outputs-diff';
import { type StackDiff, diffStacks } from './stack-diff';
import { type SynthesizedStack, stackNameOf } from './stack-json';
import { type StackSummary, summarizeStack } from './stack-summary';

export interface PlanReport {
  /** the Workers plan whose limits were checked */
  readonly plan: WorkersPlan;
  readonly stacks: readonly StackSummary[];
  readonly limits: readonly LimitCheck[];
  /** per stack, the difference from the previous synth given with `--against` */
  readonly differences: readonly StackDiff[];
  /** per stack, the difference from the deployed outputs given with `--outputs` */
  readonly outputDifferences: readonly OutputsDiff[];
  /** what could not be compared, and why */
  readonly notes: readonly string[];
}

export interface ReportInput {
  readonly stacks: readonly SynthesizedStack[];
  readonly plan: WorkersPlan;
  /** previous synths: the stacks of an older `cdktf.out`, or one `cdk.tf.json` */
  readonly previous?: readonly SynthesizedStack[];
  /** the parsed outputs file of the deployed state */
  readonly deployedOutputs?: unknown;
  /** measures a bundle file after gzip */
  readonly gzipSize?: (file: string) => number | undefined;
}

/** The previous synth of `stack`: by the stack name recorded in the file, else by its directory's name. */
function previousOf(name: string, previous: readonly SynthesizedStack[]): SynthesizedStack | undefined {
  return (
    previous.find((p) => stackNameOf(p.json) === name) ??
    previous.find((p) => stackNameOf(p.json) === undefined && p.name === name)
  );
}

function differencesOf(input: ReportInput, summaries: readonly StackSummary[], notes: string[]): StackDiff[] {
  const previous = input.previous;
  if (previous === undefined) return [];
  return summaries.flatMap((summary) => {
    // one file for one stack is compared whatever its name says
    const only = previous.length === 1 && summaries.length === 1 ? previous[0] : undefined;
    const old = previousOf(summary.stack, previous) ?? only;
    if (old === undefined) {
      notes.push(`no previous synth of ${summary.stack} was given: it is compared with nothing`);
      return [];
    }
    return [diffStacks(summarizeStack(old, input.gzipSize), summary)];
  });
}

function outputDifferencesOf(input: ReportInput, summaries: readonly StackSummary[], notes: string[]): OutputsDiff[] {
  const file = input.deployedOutputs;
  if (file === undefined) return [];
  const nested = typeof file === 'object' && file !== null && summaries.some((s) => s.stack in file);
  if (!nested && summaries.length > 1) {
    notes.push("the outputs file is one stack's (terraform output -json): choose that stack with --stack");
    return [];
  }
  return summaries.flatMap((summary) => {
    const deployed = deployedOutputsOf(input.deployedOutputs, summary.stack);
    if (deployed === undefined) {
      notes.push(`the outputs file holds no outputs of ${summary.stack}`);
      return [];
    }
    return [diffOutputs(summary, deployed)];
  });
}

export function buildReport(input: ReportInput): PlanReport {
  // prod first: it is what most readers look for, and previews sort after it by number
  const stacks = [...input.stacks]
    .sort(
      (a, b) =>
        Number(b.name === 'prod') - Number(a.name === 'prod') || a.name.localeCompare(b.name, 'en', { numeric: true }),
    )
    .map((s) => summarizeStack(s, input.gzipSize));
  const notes: string[] = [];
  return {
    plan: input.plan,
    stacks,
    limits: checkLimits(stacks, input.plan),
    differences: differencesOf(input, stacks, notes),
    outputDifferences: outputDifferencesOf(input, stacks, notes),
    notes,
  };
}
