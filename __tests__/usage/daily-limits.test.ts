/** `PROJECT_DAILY_LIMITS`: a limit per project (or `*`), for every model or per model, and a message per mistake. */
import { dailyLimit, DailyLimitsError, parseDailyLimits } from '../../scripts/usage/daily-limits';

describe('PROJECT_DAILY_LIMITS', () => {
  const limits = parseDailyLimits(
    '{"*": {"gemini-3.8-flash": 250, "*": 1000}, "paid": 10000, "b": {"gemini-3.8-flash": 20}}',
  );

  test.each([
    ['a', 'gemini-3.8-flash', 250],
    ['a', 'gemini-3.5-flash', 1000],
    ['paid', 'gemini-3.8-flash', 10000],
    ['b', 'gemini-3.8-flash', 20],
    ['b', 'gemini-3.5-flash', undefined],
  ])('project %s, model %s: %p', (project, model, limit) => {
    expect(dailyLimit(limits, project, model)).toBe(limit);
  });

  test('unset or empty: no limits', () => {
    expect(parseDailyLimits(undefined)).toEqual({});
    expect(parseDailyLimits(' ')).toEqual({});
    expect(dailyLimit({}, 'a', 'm')).toBeUndefined();
  });

  test.each([
    ['{', 'PROJECT_DAILY_LIMITS is not JSON'],
    ['[250]', 'must be a JSON object'],
    ['{"a": 0}', 'PROJECT_DAILY_LIMITS.a must be a positive integer or an object'],
    ['{"a": {"gemini-3.8-flash": 2.5}}', 'PROJECT_DAILY_LIMITS.a.gemini-3.8-flash must be a positive integer'],
    ['{"a": "250"}', 'PROJECT_DAILY_LIMITS.a must be a positive integer'],
  ])('%s is refused', (text, message) => {
    expect(() => parseDailyLimits(text)).toThrow(DailyLimitsError);
    expect(() => parseDailyLimits(text)).toThrow(message);
  });
});
