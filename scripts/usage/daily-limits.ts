/**
 * `PROJECT_DAILY_LIMITS`: the requests per day each Google project may make per model, as the operator knows them
 * from Google AI Studio's rate-limit page (Google does not say them through the API). A JSON object from a project
 * label, or `*` for every project not named, to either one number for every model or an object of model ids (and `*`
 * for the others) to numbers: `{"*": {"gemini-3.8-flash": 250, "*": 1000}, "paid": 10000}`. Not a secret.
 *
 * @module
 */

/** A project's limit: one number for every model, or per model (`*` for the others). */
export type ProjectLimit = number | Readonly<Record<string, number>>;

/** Project label (or `*`) to its limit. */
export type DailyLimits = Readonly<Record<string, ProjectLimit>>;

/** A mistake in the setting; the message names the setting and the field. */
export class DailyLimitsError extends Error {
  override readonly name = 'DailyLimitsError';
}

const SETTING = 'PROJECT_DAILY_LIMITS';

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function limitOf(at: string, value: unknown): ProjectLimit {
  if (isCount(value)) return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new DailyLimitsError(`${at} must be a positive integer or an object of model ids to positive integers`);
  }
  for (const [model, n] of Object.entries(value)) {
    if (!isCount(n)) throw new DailyLimitsError(`${at}.${model.slice(0, 64)} must be a positive integer`);
  }
  return value as Record<string, number>;
}

/** The setting's text as limits; absent or empty means none. */
export function parseDailyLimits(text: string | undefined): DailyLimits {
  if (text === undefined || text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DailyLimitsError(`${SETTING} is not JSON; expected e.g. {"*": 250, "my-project": 1000}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DailyLimitsError(`${SETTING} must be a JSON object of project labels (or "*") to limits`);
  }
  return Object.fromEntries(
    Object.entries(parsed).map(([project, value]) => [project, limitOf(`${SETTING}.${project.slice(0, 64)}`, value)]),
  );
}

/** The daily limit of `project` for `model`, when one is declared. */
export function dailyLimit(limits: DailyLimits, project: string, model: string): number | undefined {
  const limit = limits[project] ?? limits['*'];
  if (limit === undefined || typeof limit === 'number') return limit;
  return limit[model] ?? limit['*'];
}
