/**
 * The whole deploy summary as text (a terminal) or Markdown (the workflow's job summary): each stack, the plan limits
 * it was checked against, and what changes from a previous synth or from the deployed outputs.
 *
 * @module
 */
import type { LimitCheck } from './limits-check';
import type { OutputsDiff } from './outputs-diff';
import type { PlanReport } from './plan-report';
import { renderStack } from './render-stack';
import { type StackDiff, type WorkerChange, isEmptyDiff } from './stack-diff';
import { type Format, heading, ranges, size, table } from './text-format';

function limitValue(check: LimitCheck, value: number): string {
  return check.unit === 'bytes' ? size(value) : value.toLocaleString('en-US');
}

function renderLimits(report: PlanReport, format: Format): string {
  const rows = report.limits.map((c) => [
    c.limit,
    c.where,
    limitValue(c, c.value),
    limitValue(c, c.max),
    c.ok ? 'ok' : 'OVER',
    c.note ?? '',
  ]);
  return [
    heading(`Plan limits (Workers ${report.plan})`, 2, format),
    table(['Limit', 'Where', 'This deploy', `${report.plan} plan`, '', 'Note'], rows, format),
  ].join('\n\n');
}

function workerChangeLines(change: WorkerChange): string[] {
  const lines: string[] = [];
  if (change.codeChanged) lines.push('code changed (content hash)');
  if (change.keys !== undefined)
    lines.push(`keys ${ranges(change.keys.before) || 'none'} → ${ranges(change.keys.after) || 'none'}`);
  if (change.bindingsAdded.length > 0) lines.push(`bindings added: ${change.bindingsAdded.join(', ')}`);
  if (change.bindingsRemoved.length > 0) lines.push(`bindings removed: ${change.bindingsRemoved.join(', ')}`);
  if (change.bindingsRetyped.length > 0) lines.push(`bindings retyped: ${change.bindingsRetyped.join(', ')}`);
  if (change.bindingsChanged.length > 0) lines.push(`binding values changed: ${change.bindingsChanged.join(', ')}`);
  if (change.workersDevChanged) lines.push('workers.dev switch changed');
  if (change.settingsChanged.length > 0) lines.push(`settings changed: ${change.settingsChanged.join(', ')}`);
  return lines.map((line) => `${change.scriptName}: ${line}`);
}

function stackDiffLines(diff: StackDiff): string[] {
  if (isEmptyDiff(diff)) return ['no change to workers, bindings, code, outputs or resources'];
  return [
    ...diff.workersAdded.map((w) => `worker added: ${w}`),
    ...diff.workersRemoved.map((w) => `worker removed: ${w}`),
    ...diff.workersChanged.flatMap(workerChangeLines),
    ...diff.outputsAdded.map((o) => `output added: ${o}`),
    ...diff.outputsRemoved.map((o) => `output removed: ${o}`),
    ...diff.resourcesAdded.map((r) => `resource added: ${r}`),
    ...diff.resourcesRemoved.map((r) => `resource removed: ${r}`),
    ...(diff.backendChanged
      ? ['state backend changed: Terraform must migrate the state (terraform init -migrate-state)']
      : []),
  ];
}

function outputsDiffLines(diff: OutputsDiff): string[] {
  const lines = [
    ...(diff.shards === undefined || diff.shards.before === diff.shards.after
      ? []
      : [`shards: ${diff.shards.before} deployed → ${diff.shards.after}`]),
    ...diff.changed.map((c) => `${c.name}: ${c.before} → ${c.after}`),
    ...diff.added.map((name) => `output added: ${name}`),
    ...diff.removed.map((name) => `output removed: ${name}`),
  ];
  if (lines.length === 0) lines.push('no output synth knows differs from the deployed state');
  if (diff.notCompared.length > 0) lines.push(`known only at apply, not compared: ${diff.notCompared.join(', ')}`);
  return lines;
}

function bullets(lines: readonly string[], format: Format): string {
  return lines.map((line) => (format === 'markdown' ? `- ${line}` : `  - ${line}`)).join('\n');
}

function renderDifferences(report: PlanReport, format: Format): string[] {
  const sections: string[] = [];
  for (const diff of report.differences) {
    sections.push(heading(`Changes to ${diff.stack} since the previous synth`, 2, format));
    sections.push(bullets(stackDiffLines(diff), format));
  }
  for (const diff of report.outputDifferences) {
    sections.push(heading(`Changes to ${diff.stack} against the deployed outputs`, 2, format));
    sections.push(bullets(outputsDiffLines(diff), format));
  }
  if (report.notes.length > 0)
    sections.push(
      bullets(
        report.notes.map((n) => `note: ${n}`),
        format,
      ),
    );
  return sections;
}

/** The report as text for a terminal or Markdown for a job summary. */
export function renderReport(report: PlanReport, format: Format): string {
  const title = format === 'markdown' ? '# What this deploy creates' : 'What this deploy creates';
  const sections =
    report.stacks.length === 0
      ? ['No synthesized stack was found.']
      : [
          ...report.stacks.map((s) => renderStack(s, format)),
          renderLimits(report, format),
          ...renderDifferences(report, format),
        ];
  return `${[title, ...sections].join('\n\n')}\n`;
}
