/**
 * What `npm run keys:check` prints: one line per key (by index, `KEY3`, never the key), the pool's projects, a
 * `KEY_PROJECTS=` line to copy, and how a declared `KEY_PROJECTS` compares. Pure, so every line is tested.
 *
 * @module
 */
import { type KeyState, STATE_NAMES } from './key-state';
import { contradictions, foundLabels } from './projects';

export interface ReportInput {
  /** where the calls went (Google, or `GEMINI_BASE_URL`) */
  readonly baseUrl: string;
  readonly states: readonly KeyState[];
  /** per key, the project found (numbered in order), undefined when unknown */
  readonly projectOf: ReadonlyArray<number | undefined>;
  /** files the search could not delete */
  readonly leftovers: readonly string[];
  /** the declared `KEY_PROJECTS`: its labels, a problem with it, or nothing when unset */
  readonly declared: { readonly labels: readonly string[] } | { readonly problem: string } | undefined;
}

export interface Report {
  readonly lines: readonly string[];
  /** lines worth a CI warning: keys that do not work, files left behind */
  readonly warnings: readonly string[];
  /** lines worth failing for: a declared layout that is malformed or contradicts Google */
  readonly errors: readonly string[];
}

const STATE_WIDTH = Math.max(...Object.values(STATE_NAMES).map((n) => n.length));

function keyLine(i: number, state: KeyState, projectOf: ReadonlyArray<number | undefined>, width: number): string {
  const name = `KEY${i + 1}`.padEnd(width);
  const project = projectOf[i];
  const where =
    state.kind !== 'ok'
      ? state.detail
      : project === undefined
        ? 'project unknown (the file probe got no clear answer)'
        : `project p${project + 1}`;
  return `  ${name}  ${STATE_NAMES[state.kind].padEnd(STATE_WIDTH)}  ${where}`;
}

function capacityLine(projectOf: ReadonlyArray<number | undefined>): string {
  const known = new Set(projectOf.filter((p) => p !== undefined)).size;
  const unknown = projectOf.map((p, i) => (p === undefined ? `KEY${i + 1}` : undefined)).filter(Boolean);
  const keys = projectOf.length;
  return (
    `${keys} key${keys === 1 ? '' : 's'}: ${keys - unknown.length} in ${known} project${known === 1 ? '' : 's'}` +
    (unknown.length > 0 ? `; project unknown for ${unknown.join(', ')} (each counted as its own)` : '')
  );
}

/** The lines comparing the declared layout with what Google showed, and its errors. */
function declaredLines(input: ReportInput): { lines: string[]; errors: string[] } {
  const { declared, projectOf } = input;
  if (declared === undefined)
    return { lines: ['KEY_PROJECTS is not set: every key counts as its own project'], errors: [] };
  if ('problem' in declared) return { lines: [declared.problem], errors: [declared.problem] };
  const found = contradictions(declared.labels, projectOf);
  if (found.length === 0) return { lines: ['KEY_PROJECTS as declared agrees with what Google shows'], errors: [] };
  return {
    lines: ['KEY_PROJECTS as declared contradicts what Google shows:', ...found.map((c) => `  - ${c}`)],
    errors: found.map((c) => `KEY_PROJECTS contradicts Google: ${c}`),
  };
}

export function formatReport(input: ReportInput): Report {
  const { states, projectOf, leftovers } = input;
  const width = `KEY${states.length}`.length;
  const warnings = states.flatMap((s, i) =>
    s.kind === 'ok' ? [] : [`KEY${i + 1} is ${STATE_NAMES[s.kind]} (${s.detail}): the gateway will not use it`],
  );
  if (leftovers.length > 0) {
    warnings.push(
      `could not delete ${leftovers.join(', ')}: Google deletes files after 48 hours, or delete them in AI Studio`,
    );
  }
  const declared = declaredLines(input);
  const lines = [
    `keys:check: ${states.length} key${states.length === 1 ? '' : 's'}, asked ${input.baseUrl}`,
    ...states.map((s, i) => keyLine(i, s, projectOf, width)),
    capacityLine(projectOf),
    `KEY_PROJECTS=${foundLabels(projectOf).join(',')}`,
    ...declared.lines,
    ...(leftovers.length > 0 ? [`left behind: ${leftovers.join(', ')}`] : []),
  ];
  return { lines, warnings, errors: declared.errors };
}
