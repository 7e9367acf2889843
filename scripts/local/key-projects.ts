/**
 * Projects for `npm start`. Google counts quota per project, and `KEY_PROJECTS` (one label per key, in key order)
 * tells synth which keys share one. With demo keys `npm start` uses a small multi-project layout unless
 * `KEY_PROJECTS` says otherwise: the first half of the keys in one project, every other key its own (20 demo keys:
 * one project of 10 keys and 10 projects of one key, the layout issue 22 measured). The same labels go to synth (as
 * `KEY_PROJECTS`) and to the fake Gemini (as its `projects`), so the emulated gateway and its fake Google agree.
 *
 * @module
 */
import { DEMO_KEY_COUNT } from '../../config';
import type { Admission } from '../../dev/fake-gemini';
import { WindowedRateLimit } from '../../dev/fake-gemini/rate-limit';
import { CliError } from './cli';

/** The project the first half of the demo keys share. */
export const DEMO_SHARED_PROJECT = 'shared';

/** The demo layout for `keyCount` keys: `shared` for the first half (rounded up), `solo1`, `solo2`, ... after. */
export function demoKeyProjects(keyCount: number): string[] {
  const shared = Math.ceil(keyCount / 2);
  return Array.from({ length: keyCount }, (_, i) => (i < shared ? DEMO_SHARED_PROJECT : `solo${i - shared + 1}`));
}

/** The key count synth uses without real keys: `KEY_COUNT` when it is a positive integer, else the demo count. */
function demoKeyCount(env: Readonly<Record<string, string | undefined>>): number {
  const count = Number(env.KEY_COUNT);
  return /^[0-9]+$/.test(env.KEY_COUNT ?? '') && count > 0 ? count : DEMO_KEY_COUNT;
}

/**
 * The project labels `npm start` runs with: `KEY_PROJECTS` as the user set it; else, with demo keys, the demo
 * layout; else none (every real key its own project, as without projects).
 */
export function keyProjectsFor(
  env: Readonly<Record<string, string | undefined>>,
  realKeyCount: number | undefined,
): string[] | undefined {
  const declared = env.KEY_PROJECTS?.trim();
  if (declared) return declared.split(',').map((label) => label.trim());
  return realKeyCount === undefined ? demoKeyProjects(demoKeyCount(env)) : undefined;
}

/** The fake's `projects` option: each key with a label mapped to it (a key without one is its own project). */
export function fakeProjects(
  apiKeys: readonly string[],
  labels: readonly string[] | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  apiKeys.forEach((key, i) => {
    const label = labels?.[i];
    if (label !== undefined) out[key] = label;
  });
  return out;
}

/** `20 keys in 11 projects` */
export function projectSummary(keyCount: number, labels: readonly string[] | undefined): string {
  const projects =
    labels === undefined ? keyCount : new Set(labels.slice(0, keyCount)).size + Math.max(0, keyCount - labels.length);
  return `${keyCount} key${keyCount === 1 ? '' : 's'} in ${projects} project${projects === 1 ? '' : 's'}`;
}

/**
 * `DEMO_QUOTA` (`<calls>/<seconds>s`, e.g. `4/1s`): the fake's quota per project and model per window, so the demo
 * shows projects cooling down; unset, the fake admits every call.
 */
export function demoQuota(raw: string | undefined): Admission | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const match = /^([1-9][0-9]{0,5})\/([1-9][0-9]{0,4})s$/.exec(raw.trim());
  if (!match)
    throw new CliError(
      `DEMO_QUOTA must look like 4/1s (calls per project and model per window), got ${JSON.stringify(raw)}`,
    );
  const limit = new WindowedRateLimit({ limit: Number(match[1]), windowMs: Number(match[2]) * 1000 });
  return (project, model) => limit.admit(project, model);
}
