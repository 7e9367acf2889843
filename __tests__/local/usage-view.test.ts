/**
 * The usage part of `npm start`'s status view: each shard's dataset added up, keys named by their global number (a
 * shard without the layout names its keys locally; the emulated bindings say which global key each is).
 */
import type { RequestLineContext } from '../../scripts/local/cli';
import { formatStatusView } from '../../scripts/local/status-view';
import { summarizeUsage, type StoredUsagePoint } from '../../workers/shard/core/usage-summary';
import { usageDataPoint } from '../../workers/shared/usage-schema';

const context: RequestLineContext = {
  shards: new Map(
    [0, 1].map((i) => [
      i,
      {
        scriptName: `zen-ai-router-worker-${i}`,
        apiKeyIndexes: Object.fromEntries(Array.from({ length: 2 }, (_, j) => [`KEY${j + 1}`, i * 2 + j])),
      },
    ]),
  ),
  publicWorker: { scriptName: 'zen-ai-router-orchestrator', apiKeyIndexes: {} },
};

const MIDNIGHT = Date.parse('2026-05-01T07:00:00Z');

function point(key: string, project: string, client: string, model: string, status = 200): StoredUsagePoint {
  return {
    timestamp: MIDNIGHT + 1000,
    ...usageDataPoint({
      project,
      blobs: { route: 'chat.completions', model, client, key, error: '', delivery: 'whole' },
      doubles: {
        status,
        upstreamStatus: status,
        attempts: 1,
        ms: 10,
        totalMs: 10,
        promptTokens: 1200,
        outputTokens: 30,
        cachedTokens: 1000,
        thinkingTokens: 5,
        totalTokens: 1235,
        globalKey: 0,
        shard: 1,
        keyIndex: 1,
        waitedMs: 0,
      },
    }),
  };
}

const shardStatus = (points: StoredUsagePoint[]) => ({
  time: '2026-05-01T12:00:03.000Z',
  requests: points.length,
  keys: [],
  usage: summarizeUsage(points, MIDNIGHT),
});

describe('the status view with usage', () => {
  const body = {
    time: '2026-05-01T12:00:03.000Z',
    shards: [
      { shard: 0, status: shardStatus([point('KEY1', 'key1', 'pass', 'gemini-3.8-flash')]) },
      {
        shard: 1,
        status: shardStatus([
          point('shard1:KEY1', 'shard1:key1', 'alice', 'gemini-3.8-flash'),
          point('shard1:KEY1', 'shard1:key1', 'alice', 'gemini-3.5-flash', 429),
        ]),
      },
    ],
  };

  test('adds up the shards, per key, project, client and model, keys by their global number', () => {
    const view = formatStatusView(body, context);
    const usage = view.slice(view.indexOf('usage today'));
    expect(usage).toBe(
      [
        "usage today (since 07:00:00Z, midnight Pacific time; npm start's in-memory dataset)",
        '  3 requests, 1 error; tokens 3,600 prompt (3,000 cached), 90 output, 15 thinking',
        '  key   requests  errors  prompt  cached  output  thinking  total',
        '  KEY3         2       1   2,400   2,000      60        10  2,470',
        '  KEY1         1       0   1,200   1,000      30         5  1,235',
        '  project  requests  errors  prompt  cached  output  thinking  total',
        '  key3            2       1   2,400   2,000      60        10  2,470',
        '  key1            1       0   1,200   1,000      30         5  1,235',
        '  client  requests  errors  prompt  cached  output  thinking  total',
        '  alice          2       1   2,400   2,000      60        10  2,470',
        '  pass           1       0   1,200   1,000      30         5  1,235',
        '  model             requests  errors  prompt  cached  output  thinking  total',
        '  gemini-3.8-flash         2       0   2,400   2,000      60        10  2,470',
        '  gemini-3.5-flash         1       1   1,200   1,000      30         5  1,235',
      ].join('\n'),
    );
  });

  test('no usage section when no worker reports one (a deployed gateway, or metering off)', () => {
    const bare = { ...body, shards: body.shards.map((s) => ({ ...s, status: { ...s.status, usage: undefined } })) };
    expect(formatStatusView(bare, context)).not.toContain('usage today');
  });

  test("a preview worker's own answer", () => {
    const preview = { ...shardStatus([point('KEY2', 'key2', 'pass', 'm')]) };
    expect(formatStatusView(preview, context)).toContain('  KEY2         1');
  });
});
