/**
 * The queries `npm run usage` sends: their columns come from the data point's layout, and the period is one Analytics
 * Engine can answer.
 */
import { parseQuery } from '../../dev/analytics-engine-sql/sql';
import { parsePeriod, periodMs, periodQuery, todayQuery } from '../../scripts/usage/usage-sql';

describe('parsePeriod', () => {
  test.each([
    ['30m', { amount: 30, unit: 'MINUTE' }],
    ['24h', { amount: 24, unit: 'HOUR' }],
    ['7d', { amount: 7, unit: 'DAY' }],
    ['92d', { amount: 92, unit: 'DAY' }],
  ])('%s', (text, period) => {
    expect(parsePeriod(text)).toEqual(period);
  });

  test.each(['', '24', 'h', '0h', '1w', '93d', '-1d', '1.5h', '24 h'])('refuses %p', (text) => {
    expect(parsePeriod(text)).toBeUndefined();
  });

  test('its length', () => {
    expect(periodMs({ amount: 2, unit: 'HOUR' })).toBe(7_200_000);
  });
});

describe('the queries', () => {
  test("the period's: one row per key, project, client and model, every figure sampled-aware", () => {
    const sql = periodQuery('zen_ai_router_usage', { amount: 24, unit: 'HOUR' });
    expect(sql).toBe(
      [
        'SELECT',
        '  blob4 AS key,',
        '  index1 AS project,',
        '  blob3 AS client,',
        '  blob2 AS model,',
        '  SUM(_sample_interval) AS requests,',
        '  SUM(if(double1 >= 400, _sample_interval, 0)) AS errors,',
        '  SUM(_sample_interval * double6) AS prompt_tokens,',
        '  SUM(_sample_interval * double8) AS cached_tokens,',
        '  SUM(_sample_interval * double7) AS output_tokens,',
        '  SUM(_sample_interval * double9) AS thinking_tokens,',
        '  SUM(_sample_interval * double10) AS total_tokens',
        'FROM zen_ai_router_usage',
        "WHERE timestamp > NOW() - INTERVAL '24' HOUR",
        'GROUP BY key, project, client, model',
        'ORDER BY requests DESC',
        'LIMIT 10000',
        'FORMAT JSON',
      ].join('\n'),
    );
    expect(() => parseQuery(sql, 0)).not.toThrow();
  });

  test("today's: what Google answered other than 429, per project and model, since an instant", () => {
    const sql = todayQuery('zen_ai_router_usage', Date.parse('2026-05-01T07:00:00Z'));
    expect(sql).toContain('WHERE timestamp >= toDateTime(1777618800) AND double2 > 0 AND double2 != 429');
    expect(sql).toContain('GROUP BY project, model');
    expect(() => parseQuery(sql, 0)).not.toThrow();
  });
});
