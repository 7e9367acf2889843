/**
 * `npm start`'s stand-in for an Analytics Engine dataset: it refuses what Analytics Engine refuses (so a data point
 * that would be dropped deployed fails offline too), keeps what it accepts with the time it was written, and lets the
 * oldest go past its bound.
 */
import { checkedPoint, InMemoryDataset, LIMITS, MAX_POINTS } from '../../scripts/local/in-memory-dataset';

describe('InMemoryDataset', () => {
  test('keeps each point with the time it was written, and reads them back in order', () => {
    let now = 1_000;
    const dataset = new InMemoryDataset('zen_ai_router_usage', () => now++);
    dataset.writeDataPoint({ blobs: ['a', 'b'], doubles: [1, 2.5], indexes: ['p'] });
    dataset.writeDataPoint({ blobs: ['c'] });
    expect(dataset.read()).toEqual({
      points: [
        { timestamp: 1_000, blobs: ['a', 'b'], doubles: [1, 2.5], indexes: ['p'] },
        { timestamp: 1_001, blobs: ['c'], doubles: [], indexes: [] },
      ],
      dropped: 0,
    });
  });

  test.each([
    ['21 blobs', { blobs: Array.from({ length: 21 }, () => 'x') }, /blobs: at most 20/],
    ['21 doubles', { doubles: Array.from({ length: 21 }, () => 1) }, /doubles: at most 20/],
    ['two indexes', { indexes: ['a', 'b'] }, /indexes: at most 1/],
    ['an index over 96 bytes', { indexes: ['é'.repeat(49)] }, /over 96 bytes/],
    ['blobs over 16 KB together', { blobs: ['x'.repeat(10_000), 'y'.repeat(7_000)] }, /over 16384/],
    ['a number as a blob', { blobs: [1] }, /blobs\[0\] must be a string/],
    ['a string as a double', { doubles: ['1'] }, /doubles\[0\] must be a number/],
    ['no object', 'point', /must be an object/],
  ])('refuses %s, as Analytics Engine does', (_what, point, message) => {
    const dataset = new InMemoryDataset('d');
    expect(() => dataset.writeDataPoint(point)).toThrow(message);
    expect(dataset.read().points).toEqual([]);
  });

  test('accepts the most Analytics Engine does', () => {
    const blobs = Array.from({ length: LIMITS.blobs }, () => 'x'.repeat(LIMITS.blobBytes / LIMITS.blobs));
    expect(() =>
      checkedPoint({ blobs, doubles: Array(LIMITS.doubles).fill(0), indexes: ['i'.repeat(LIMITS.indexBytes)] }, 0),
    ).not.toThrow();
  });

  test('lets the oldest points go past its bound, and counts them', () => {
    const dataset = new InMemoryDataset('d', () => 0);
    for (let i = 0; i < MAX_POINTS + 3; i++) dataset.writeDataPoint({ blobs: [String(i)] });
    const { points, dropped } = dataset.read();
    expect(points).toHaveLength(MAX_POINTS);
    expect(dropped).toBe(3);
    expect(points[0]?.blobs).toEqual(['3']);
  });
});
