/**
 * The Analytics Engine SQL stand-in answers the subset `npm run usage` speaks, with sampling taken into account, and
 * refuses anything else instead of answering it.
 */
import { answer, parseQuery, SqlError, type StoredPoint } from '../../dev/analytics-engine-sql/sql';

const NOW = Date.parse('2026-05-01T12:00:00Z');

const point = (minutesAgo: number, blob1: string, doubles: number[], sampleInterval = 1, index = 'a'): StoredPoint => ({
  dataset: 'usage',
  timestamp: NOW - minutesAgo * 60_000,
  sampleInterval,
  blobs: [blob1],
  doubles,
  index,
});

const POINTS = [
  point(5, 'x', [200, 10]),
  point(10, 'x', [500, 20], 3),
  point(90, 'y', [200, 40]),
  point(60 * 30, 'x', [200, 1000]),
  { ...point(1, 'x', [200, 7]), dataset: 'other' },
];

describe('the SQL stand-in', () => {
  test('counts and sums with _sample_interval, groups, filters by time and value, orders and limits', () => {
    const sql = `SELECT blob1 AS name, index1 AS project, SUM(_sample_interval) AS n,
      SUM(if(double1 >= 400, _sample_interval, 0)) AS failed, SUM(_sample_interval * double2) AS total
      FROM usage WHERE timestamp > NOW() - INTERVAL '24' HOUR AND double1 != 429
      GROUP BY name, project ORDER BY n DESC LIMIT 10 FORMAT JSON`;
    expect(answer(sql, POINTS, ['usage'], NOW)).toEqual({
      meta: [
        { name: 'name', type: 'String' },
        { name: 'project', type: 'String' },
        { name: 'n', type: 'UInt64' },
        { name: 'failed', type: 'UInt64' },
        { name: 'total', type: 'Float64' },
      ],
      data: [
        { name: 'x', project: 'a', n: '4', failed: '3', total: 70 },
        { name: 'y', project: 'a', n: '1', failed: '0', total: 40 },
      ],
      rows: 2,
    });
  });

  test('toDateTime(<unix seconds>) bounds from an instant', () => {
    const sql = `SELECT SUM(_sample_interval) AS n FROM usage WHERE timestamp >= toDateTime(${(NOW - 60 * 60_000) / 1000})`;
    expect(answer(sql, POINTS, ['usage'], NOW).data).toEqual([{ n: '4' }]);
  });

  test.each([
    [
      'an unknown column',
      'SELECT blob21 AS b, SUM(_sample_interval) AS n FROM usage GROUP BY b',
      /unknown column "blob21"/,
    ],
    [
      'a column neither grouped nor aggregated',
      'SELECT blob1 AS b, SUM(_sample_interval) AS n FROM usage',
      /neither aggregated nor in GROUP BY/,
    ],
    ['a function it does not know', 'SELECT COUNT() AS n FROM usage', /unknown column "COUNT"|expected AS/],
    ['a count that ignores sampling', 'SELECT SUM(double1) AS n FROM usage', /expected _sample_interval/],
    ['a misspelled clause', 'SELECT SUM(_sample_interval) AS n FROM usage WERE double1 > 1', /unexpected "WERE"/],
    [
      'an unknown alias in GROUP BY',
      'SELECT blob1 AS b, SUM(_sample_interval) AS n FROM usage GROUP BY c',
      /unknown identifier "c"/,
    ],
    [
      'a format it does not answer',
      'SELECT SUM(_sample_interval) AS n FROM usage FORMAT TabSeparated',
      /FORMAT JSON only/,
    ],
    [
      'a bad interval',
      "SELECT SUM(_sample_interval) AS n FROM usage WHERE timestamp > NOW() - INTERVAL '1' WEEK",
      /MINUTE, HOUR or DAY/,
    ],
  ])('refuses %s', (_what, sql, message) => {
    expect(() => parseQuery(sql, NOW)).toThrow(message);
  });

  test('refuses a table that does not exist', () => {
    expect(() => answer('SELECT SUM(_sample_interval) AS n FROM nope', POINTS, ['usage'], NOW)).toThrow(SqlError);
  });
});
