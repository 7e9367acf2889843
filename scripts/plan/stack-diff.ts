/**
 * What changes between two summaries of the same stack (a previous `cdk.tf.json` and this synth): workers added and
 * removed, and per kept worker its bindings (by name and type), its code (content hash), its keys, its workers.dev
 * switch and the names of its other changed settings; outputs, other resources and the state backend. Workers are
 * matched by script name, the name Cloudflare knows them by.
 *
 * @module
 */
import type { StackSummary } from './stack-summary';
import type { BindingSummary, WorkerSummary } from './worker-summary';

export interface WorkerChange {
  readonly scriptName: string;
  /** `NAME (type)` of each binding only the new worker has */
  readonly bindingsAdded: readonly string[];
  readonly bindingsRemoved: readonly string[];
  /** `NAME: old type → new type` */
  readonly bindingsRetyped: readonly string[];
  /** `NAME (type)` of each binding kept with its type whose value (or reference) changed; the value is not shown */
  readonly bindingsChanged: readonly string[];
  readonly codeChanged: boolean;
  /** the key numbers before and after, when they differ */
  readonly keys?: { readonly before: readonly number[]; readonly after: readonly number[] };
  readonly workersDevChanged: boolean;
  /** names of other attributes whose value changed (compatibility date, placement, logging, ...) */
  readonly settingsChanged: readonly string[];
}

export interface StackDiff {
  readonly stack: string;
  readonly workersAdded: readonly string[];
  readonly workersRemoved: readonly string[];
  readonly workersChanged: readonly WorkerChange[];
  readonly outputsAdded: readonly string[];
  readonly outputsRemoved: readonly string[];
  readonly resourcesAdded: readonly string[];
  readonly resourcesRemoved: readonly string[];
  readonly backendChanged: boolean;
}

const label = (b: BindingSummary): string => `${b.name} (${b.type})`;

function added<T>(before: readonly T[], after: readonly T[]): T[] {
  const old = new Set(before);
  return after.filter((item) => !old.has(item));
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}

function changedSettings(before: WorkerSummary, after: WorkerSummary): string[] {
  const names = new Set([...Object.keys(before.settings), ...Object.keys(after.settings)]);
  const changed = [...names].filter((n) => before.settings[n] !== after.settings[n]);
  if (before.compatibilityDate !== after.compatibilityDate) changed.push('compatibility_date');
  if (before.smartPlacement !== after.smartPlacement) changed.push('placement');
  return changed.sort();
}

/** How one worker kept by name changed; undefined when nothing the summary shows did. */
export function workerChange(before: WorkerSummary, after: WorkerSummary): WorkerChange | undefined {
  const oldTypes = new Map(before.bindings.map((b) => [b.name, b.type]));
  const newTypes = new Map(after.bindings.map((b) => [b.name, b.type]));
  const change: WorkerChange = {
    scriptName: after.scriptName,
    bindingsAdded: after.bindings.filter((b) => !oldTypes.has(b.name)).map(label),
    bindingsRemoved: before.bindings.filter((b) => !newTypes.has(b.name)).map(label),
    bindingsRetyped: after.bindings
      .filter((b) => oldTypes.has(b.name) && oldTypes.get(b.name) !== b.type)
      .map((b) => `${b.name}: ${oldTypes.get(b.name)} → ${b.type}`),
    bindingsChanged: after.bindings
      .filter((b) => oldTypes.get(b.name) === b.type && before.bindingDigests[b.name] !== after.bindingDigests[b.name])
      .map(label),
    codeChanged: before.code.sha256 !== after.code.sha256,
    keys: sameList(before.keys, after.keys) ? undefined : { before: before.keys, after: after.keys },
    workersDevChanged:
      before.workersDev?.enabled !== after.workersDev?.enabled ||
      before.workersDev?.previews !== after.workersDev?.previews,
    settingsChanged: changedSettings(before, after),
  };
  const quiet =
    change.bindingsAdded.length +
      change.bindingsRemoved.length +
      change.bindingsRetyped.length +
      change.bindingsChanged.length ===
      0 &&
    !change.codeChanged &&
    change.keys === undefined &&
    !change.workersDevChanged &&
    change.settingsChanged.length === 0;
  return quiet ? undefined : change;
}

function resourceAddresses(summary: StackSummary): string[] {
  return [
    ...summary.routes.map((r) => `${r.kind} ${r.pattern} → ${r.worker}`),
    ...summary.policies.map((p) => p.address),
    ...summary.otherResources,
  ];
}

/** The difference from `before` (a previous synth of the stack) to `after`. */
export function diffStacks(before: StackSummary, after: StackSummary): StackDiff {
  const oldWorkers = new Map(before.workers.map((w) => [w.scriptName, w]));
  const newNames = after.workers.map((w) => w.scriptName);
  return {
    stack: after.stack,
    workersAdded: added([...oldWorkers.keys()], newNames),
    workersRemoved: added(newNames, [...oldWorkers.keys()]),
    workersChanged: after.workers.flatMap((w) => {
      const old = oldWorkers.get(w.scriptName);
      const change = old === undefined ? undefined : workerChange(old, w);
      return change === undefined ? [] : [change];
    }),
    outputsAdded: added(
      before.outputs.map((o) => o.name),
      after.outputs.map((o) => o.name),
    ),
    outputsRemoved: added(
      after.outputs.map((o) => o.name),
      before.outputs.map((o) => o.name),
    ),
    resourcesAdded: added(resourceAddresses(before), resourceAddresses(after)),
    resourcesRemoved: added(resourceAddresses(after), resourceAddresses(before)),
    backendChanged: JSON.stringify(before.backend) !== JSON.stringify(after.backend),
  };
}

/** True when the diff holds nothing to report. */
export function isEmptyDiff(diff: StackDiff): boolean {
  return (
    diff.workersAdded.length +
      diff.workersRemoved.length +
      diff.workersChanged.length +
      diff.outputsAdded.length +
      diff.outputsRemoved.length +
      diff.resourcesAdded.length +
      diff.resourcesRemoved.length ===
      0 && !diff.backendChanged
  );
}
