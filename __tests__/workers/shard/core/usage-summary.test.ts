/**
 * The status view's `usage`: today's points (since midnight Pacific time) added up per key, project, client and model,
 * from a dataset that can be read back (npm start's stand-in); none from Cloudflare's write-only binding.
 */
import {
  USAGE_BINDING,
  pacificMidnight,
  type UsageFields,
  usageDataPoint,
} from '../../../../workers/shared/usage-schema';
import { summarizeUsage, usageStatus, type StoredUsagePoint } from '../../../../workers/shard/core/usage-summary';

const NOW = Date.parse('2026-05-01T12:00:00Z');
const MIDNIGHT = Date.parse('2026-05-01T07:00:00Z');

function point(
  at: number,
  fields: Partial<UsageFields['blobs']> & { project?: string; status?: number; prompt?: number },
): StoredUsagePoint {
  const { project = '', status = 200, prompt = 0, ...blobs } = fields;
  return {
    timestamp: at,
    ...usageDataPoint({
      project,
      blobs: { route: 'chat.completions', model: '', client: '', key: '', error: '', delivery: 'whole', ...blobs },
      doubles: {
        status,
        upstreamStatus: status,
        attempts: 1,
        ms: 10,
        totalMs: 10,
        promptTokens: prompt,
        outputTokens: 2,
        cachedTokens: 0,
        thinkingTokens: 1,
        totalTokens: prompt + 3,
        globalKey: blobs.key === 'KEY3' ? 3 : 0,
        shard: 0,
        keyIndex: blobs.key === 'KEY3' ? 3 : 1,
        waitedMs: 0,
      },
    }),
  };
}

describe('summarizeUsage', () => {
  const points = [
    point(MIDNIGHT - 1, { key: 'KEY3', project: 'a', client: 'pass', model: 'm1', prompt: 100 }),
    point(MIDNIGHT, { key: 'KEY3', project: 'a', client: 'pass', model: 'm1', prompt: 10 }),
    point(MIDNIGHT + 5, { key: 'KEY3', project: 'a', client: 'alice', model: 'm2', prompt: 20, status: 503 }),
    point(MIDNIGHT + 9, { key: 'shard1:KEY1', project: 'b', client: 'alice', model: 'm1', prompt: 30 }),
    point(MIDNIGHT + 9, { client: '', status: 401 }),
  ];

  test('today only, as a whole and per key, project, client and model, largest first', () => {
    const usage = summarizeUsage(points, MIDNIGHT, 2, 1);
    expect(usage).toMatchObject({
      scope: 'dataset',
      since: '2026-05-01T07:00:00.000Z',
      requests: 4,
      errors: 2,
      tokens: { prompt: 60, output: 8, cached: 0, thinking: 4, total: 72 },
      dropped: 2,
      writeFailures: 1,
    });
    expect(usage.keys.map((k) => [k.key, k.keyIndex, k.globalKey, k.project, k.requests])).toEqual([
      ['KEY3', 3, 3, 'a', 2],
      ['shard1:KEY1', 1, undefined, 'b', 1],
    ]);
    expect(usage.projects.map((p) => [p.project, p.requests, p.errors, p.tokens.prompt])).toEqual([
      ['a', 2, 1, 30],
      ['b', 1, 0, 30],
    ]);
    expect(usage.clients.map((c) => [c.client, c.requests])).toEqual([
      ['alice', 2],
      ['pass', 1],
    ]);
    expect(usage.models.map((m) => [m.model, m.requests])).toEqual([
      ['m1', 2],
      ['m2', 1],
    ]);
  });
});

describe('usageStatus', () => {
  test('reads a dataset that can be read back, from midnight Pacific time', () => {
    const dataset = {
      writeDataPoint: () => undefined,
      read: () => ({ points: [point(NOW, { key: 'KEY3', project: 'a' })], dropped: 0 }),
    };
    const status = usageStatus({ [USAGE_BINDING]: dataset } as never, NOW);
    expect(pacificMidnight(NOW)).toBe(MIDNIGHT);
    expect(status.usage?.since).toBe('2026-05-01T07:00:00.000Z');
    expect(status.usage?.keys.map((k) => k.key)).toEqual(['KEY3']);
  });

  test("nothing from Cloudflare's write-only binding, or without one, or when reading fails", () => {
    expect(usageStatus({ [USAGE_BINDING]: { writeDataPoint: () => undefined } } as never, NOW)).toEqual({});
    expect(usageStatus({} as never, NOW)).toEqual({});
    const broken = {
      writeDataPoint: () => undefined,
      read: () => {
        throw new Error('gone');
      },
    };
    expect(usageStatus({ [USAGE_BINDING]: broken } as never, NOW)).toEqual({});
  });
});
