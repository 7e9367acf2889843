/**
 * How `config.ts` reads the text of one environment variable into a setting: each reader takes the variable's name
 * (for the message) and its text, applies the constructs' rule for it, and returns the value or throws a
 * `ValidationError` naming the variable, the allowed values and the value received. Nothing here reads the
 * environment.
 */
import { type ClientLimitsSetting, WORKERS_PLANS, type WorkersPlan } from './constructs';
import * as rules from './constructs/validate';
import { splitKeyProjects } from './workers/shared/key-layout';

/** Reads one variable's text into its setting. */
export type Reader<T> = (name: string, raw: string) => T;

/** The text as given, once `rule` (if any) accepts it. */
export const text =
  (rule?: (field: string, raw: string) => rules.RuleResult): Reader<string> =>
  (name, raw) => {
    if (rule !== undefined) rules.assertValid([rule(name, raw)]);
    return raw;
  };
/** The number the text spells, once `rule` accepts it. */
export const number =
  (rule: (field: string, raw: string) => rules.RuleResult): Reader<number> =>
  (name, raw) => {
    rules.assertValid([rule(name, raw)]);
    return Number(raw);
  };
export const integerIn = (min: number, max: number): Reader<number> =>
  number((field, raw) => rules.integerInRange(field, raw, min, max));
export const positiveInteger = number(rules.positiveInteger);

export function workersPlanFrom(name: string, raw: string): WorkersPlan {
  rules.assertValid([rules.oneOf(name, raw, WORKERS_PLANS as readonly string[])]);
  return raw as WorkersPlan;
}

export function accountIdProblem(name: string, raw: string): rules.RuleResult {
  return /^[0-9a-f]{32}$/.test(raw)
    ? undefined
    : `${name} must be 32 lower-case hex characters (the account id shown in the dashboard), got ${rules.received(raw)}`;
}

/**
 * `ANTHROPIC_MODEL_MAP` as the prop takes it, once the worker's own parser accepts the text: a JSON object from Claude
 * model lines to Gemini model ids.
 */
export function anthropicModelMapFrom(name: string, raw: string): Readonly<Record<string, string>> {
  rules.assertValid([rules.anthropicModelMap(name, raw)]);
  // the parser has checked it is an object of strings
  return JSON.parse(raw) as Record<string, string>;
}

/**
 * `CLIENT_LIMITS` as the prop takes it, once the worker's own parser accepts the text: a JSON object of client name
 * to `{rpm, burst?}`; the message names the client and the field (`CLIENT_LIMITS.alice.rpm must be …`).
 */
export function clientLimitsFrom(name: string, raw: string): ClientLimitsSetting {
  rules.assertValid([rules.clientLimits(name, raw)]);
  // the parser has checked every entry is an object of rpm and an optional burst
  return JSON.parse(raw) as ClientLimitsSetting;
}

/** Comma-separated values, each trimmed; empty entries dropped. */
export function commaList(_name: string, raw: string): readonly string[] {
  return raw.split(',').flatMap((item) => (item.trim() === '' ? [] : [item.trim()]));
}

/** `KEY_PROJECTS` as the prop takes it: one label per key (their count is checked against `KEY_COUNT` after the loop). */
export function keyProjectsFrom(name: string, raw: string): readonly string[] {
  const labels = splitKeyProjects(raw);
  rules.assertValid([rules.projectLabels(name, labels)]);
  return labels;
}

/** `true` or `false` only: a typo such as `yes` or `1` must not silently mean either. */
export function booleanFlag(name: string, raw: string): boolean {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new rules.ValidationError(`${name} must be true or false, got ${rules.received(raw)}`);
}

/** `USAGE_DATASET`: a dataset name, or `off` for no metering. */
export function usageDatasetFrom(name: string, raw: string): string | false {
  if (raw === 'off') return false;
  rules.assertValid([rules.usageDataset(name, raw)]);
  return raw;
}
