/**
 * The usage data point's layout, shared by the worker that writes it and `npm run usage` that queries it, and "today"
 * as Google's daily quotas count it (from midnight Pacific time, on the days the clocks change too).
 */
import {
  blobColumn,
  doubleColumn,
  pacificMidnight,
  USAGE_BLOBS,
  USAGE_DOUBLES,
  usageDataPoint,
  usageFieldsOf,
} from '../../../workers/shared/usage-schema';

describe('the usage data point', () => {
  test('fits Analytics Engine: at most 20 blobs, 20 doubles and one index', () => {
    expect(USAGE_BLOBS.length).toBeLessThanOrEqual(20);
    expect(USAGE_DOUBLES.length).toBeLessThanOrEqual(20);
  });

  test('each field has its column, in list order, and reads back by name', () => {
    expect(blobColumn('route')).toBe('blob1');
    expect(blobColumn('delivery')).toBe(`blob${USAGE_BLOBS.length}`);
    expect(doubleColumn('status')).toBe('double1');
    expect(doubleColumn('promptTokens')).toBe('double6');
    const blobs = Object.fromEntries(USAGE_BLOBS.map((name) => [name, `${name}!`])) as never;
    const doubles = Object.fromEntries(USAGE_DOUBLES.map((name, i) => [name, i * 10])) as never;
    const point = usageDataPoint({ project: 'p', blobs, doubles });
    expect(point.blobs[0]).toBe('route!');
    expect(point.doubles[5]).toBe(50);
    expect(point.indexes).toEqual(['p']);
    expect(usageFieldsOf(point)).toEqual({ project: 'p', blobs, doubles });
  });
});

describe('pacificMidnight', () => {
  test.each([
    ['2026-05-01T12:00:03.250Z', '2026-05-01T07:00:00.000Z'],
    ['2026-05-01T06:59:59.999Z', '2026-04-30T07:00:00.000Z'],
    ['2026-01-15T08:00:00.000Z', '2026-01-15T08:00:00.000Z'],
    // the clocks go forward at 2:00 on 8 March 2026 and back at 2:00 on 1 November 2026
    ['2026-03-08T12:00:00.000Z', '2026-03-08T08:00:00.000Z'],
    ['2026-03-09T12:00:00.000Z', '2026-03-09T07:00:00.000Z'],
    ['2026-11-01T12:00:00.000Z', '2026-11-01T07:00:00.000Z'],
    ['2026-11-02T12:00:00.000Z', '2026-11-02T08:00:00.000Z'],
  ])('at %s, today began at %s', (now, midnight) => {
    expect(new Date(pacificMidnight(Date.parse(now))).toISOString()).toBe(midnight);
  });
});
