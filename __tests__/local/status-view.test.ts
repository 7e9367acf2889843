/**
 * `npm start`'s key status view, from status answers shaped as the workers write them (the orchestrator's combined
 * view and a preview worker's own): one line per key, named by its global number.
 */
import type { RequestLineContext } from '../../scripts/local/cli';
import { formatStatusView } from '../../scripts/local/status-view';

/** Two shards of 8 keys: shard 1's KEY<n> is the (8 + n)th key of TF_VAR_api_keys. */
const prod: RequestLineContext = {
  shards: new Map(
    [0, 1].map((i) => [
      i,
      {
        scriptName: `zen-ai-router-worker-${i}`,
        apiKeyIndexes: Object.fromEntries(Array.from({ length: 8 }, (_, j) => [`KEY${j + 1}`, i * 8 + j])),
      },
    ]),
  ),
  publicWorker: { scriptName: 'zen-ai-router-orchestrator', apiKeyIndexes: {} },
};

const shard1 = {
  time: '2026-05-01T12:00:03.000Z',
  scope: 'isolate',
  requests: 12,
  since: '2026-05-01T11:59:00.000Z',
  summary: { ok: 1, cooling: 1, removed: 1 },
  keys: [
    { key: 1, state: 'ok', requests: 4, rateLimited: 0, globalKey: 9 },
    {
      key: 2,
      state: 'cooling',
      cooling: [
        { model: 'gemini-3.8-flash', until: '2026-05-01T12:00:20.000Z', reason: 'quota-minute' },
        { model: 'gemini-3.1-pro-preview', until: '2026-05-02T07:00:00.000Z', reason: 'quota-day' },
      ],
      requests: 3,
      rateLimited: 2,
      lastError: { status: 429, code: 'RESOURCE_EXHAUSTED', at: '2026-05-01T12:00:01.000Z' },
      globalKey: 10,
    },
    {
      key: 3,
      state: 'removed',
      reason: 'API_KEY_INVALID',
      requests: 1,
      rateLimited: 0,
      lastError: { status: 400, code: 'API_KEY_INVALID', at: '2026-05-01T11:59:30.000Z' },
      globalKey: 11,
    },
  ],
};

describe('formatStatusView', () => {
  it("prints the orchestrator's view: a line per shard, then one per key with its global number", () => {
    const body = {
      time: '2026-05-01T12:00:03.000Z',
      scope: 'isolate',
      shardCount: 3,
      queried: 3,
      answered: 1,
      shards: [
        { shard: 0, keyCount: 8, firstKey: 1, error: 'timeout' },
        { shard: 1, keyCount: 8, firstKey: 9, status: shard1 },
        { shard: 2, keyCount: 4, firstKey: 17, error: 'status 401' },
      ],
    };
    expect(formatStatusView(body, prod).split('\n')).toEqual([
      'key status at 12:00:03Z (each worker as its answering isolate sees it)',
      '  shard 0 (zen-ai-router-worker-0): timeout',
      '  shard 1 (zen-ai-router-worker-1): 12 requests since 11:59:00Z, 3 keys',
      '    KEY9   ok      4 calls, 0 × 429',
      '    KEY10  cooling gemini-3.8-flash until 12:00:20Z (quota-minute), gemini-3.1-pro-preview until 2026-05-02T07:00:00.000Z (quota-day)  3 calls, 2 × 429, last error 429 RESOURCE_EXHAUSTED at 12:00:01Z',
      '    KEY11  removed API_KEY_INVALID  1 call, 0 × 429, last error 400 API_KEY_INVALID at 11:59:30Z',
      // shard 2 is not in the emulated topology here: its index is all there is to print
      '  shard 2: status 401',
    ]);
  });

  it("prints a preview worker's own view with the keys' numbers from its bindings", () => {
    const preview: RequestLineContext = {
      shards: new Map(),
      publicWorker: { scriptName: 'zen-ai-router-worker-preview-1', apiKeyIndexes: { KEY1: 0, KEY2: 1, KEY3: 2 } },
    };
    const { globalKey: _dropped, ...plain } = shard1.keys[0] as Record<string, unknown>;
    const text = formatStatusView({ ...shard1, requests: 1, since: null, keys: [plain] }, preview);
    expect(text.split('\n')).toEqual([
      'key status at 12:00:03Z (each worker as its answering isolate sees it)',
      '  zen-ai-router-worker-preview-1: 1 request, 1 key',
      '    KEY1   ok      4 calls, 0 × 429',
    ]);
  });

  it('falls back to the global number the orchestrator added, and says what was not asked', () => {
    const text = formatStatusView(
      {
        time: '2026-05-01T12:00:03.000Z',
        shards: [{ shard: 7, status: { requests: 0, since: null, keys: [{ key: 2, state: 'ok', globalKey: 58 }] } }],
        notQueried: 'shards 31, 32 were not asked',
      },
      prod,
    );
    expect(text).toContain('    KEY58  ok      0 calls, 0 × 429');
    expect(text).toContain('  shards 31, 32 were not asked');
  });

  it('cannot be made to act on the terminal by what a worker wrote', () => {
    const text = formatStatusView(
      { time: 'x', requests: 0, keys: [{ key: 1, state: 'removed\u001b[2J', reason: 'X\r\nfake line' }] },
      { shards: new Map(), publicWorker: { scriptName: 'w', apiKeyIndexes: {} } },
    );
    expect(text.includes('\u001b') || text.includes('\r')).toBe(false);
    expect(text).toContain('\\x1b[2J');
    expect(text.split('\n')).toHaveLength(3);
  });

  it('groups the keys under their projects, says which cool for what until when, and heads the view with the capacity line', () => {
    const withProjects = {
      ...shard1,
      keys: [
        { key: 1, state: 'ok', requests: 4, rateLimited: 0, globalKey: 9, project: 'big' },
        {
          key: 2,
          state: 'cooling',
          cooling: [{ model: 'gemini-3.8-flash', until: '2026-05-01T12:00:20.000Z', reason: 'quota-minute' }],
          requests: 3,
          rateLimited: 2,
          globalKey: 10,
          project: 'big',
        },
        {
          key: 3,
          state: 'removed',
          reason: 'API_KEY_INVALID',
          requests: 1,
          rateLimited: 0,
          globalKey: 11,
          project: 'solo',
        },
      ],
      projects: [
        {
          project: 'big',
          keys: [1, 2],
          weight: 0.2,
          state: 'ok',
        },
        {
          project: 'solo',
          keys: [3],
          weight: 1,
          state: 'removed',
        },
      ],
      capacity: {
        declared: true,
        pool: { keys: 20, projects: 11, line: '20 keys in 11 projects' },
        worker: { keys: 3, projects: 2, share: 1.2 },
      },
    };
    const cooling = {
      requests: 0,
      since: null,
      keys: [{ key: 1, state: 'cooling', requests: 1, rateLimited: 1, project: 'p0' }],
      projects: [
        {
          project: 'p0',
          keys: [1],
          weight: 1,
          state: 'cooling',
          cooling: [{ model: 'gemini-3.8-flash', until: '2026-05-01T12:00:20.000Z', reason: 'quota-minute' }],
        },
      ],
      capacity: { declared: true, pool: { keys: 20, projects: 11, line: '20 keys in 11 projects' } },
    };
    const body = {
      time: '2026-05-01T12:00:03.000Z',
      shards: [
        { shard: 1, status: withProjects },
        { shard: 0, status: cooling },
      ],
    };
    expect(formatStatusView(body, prod).split('\n')).toEqual([
      'key status at 12:00:03Z (each worker as its answering isolate sees it)',
      '  capacity: 20 keys in 11 projects',
      '  shard 1 (zen-ai-router-worker-1): 12 requests since 11:59:00Z, 3 keys in 2 projects',
      '    project big  ok',
      '      KEY9   ok      4 calls, 0 × 429',
      '      KEY10  cooling gemini-3.8-flash until 12:00:20Z (quota-minute)  3 calls, 2 × 429',
      '    project solo  removed',
      '      KEY11  removed API_KEY_INVALID  1 call, 0 × 429',
      '  shard 0 (zen-ai-router-worker-0): 0 requests, 1 key',
      '    project p0  cooling gemini-3.8-flash until 12:00:20Z (quota-minute)',
      '      KEY1   cooling 1 call, 1 × 429',
    ]);
  });

  it('prints no capacity line when no worker knows the pool (every key its own project)', () => {
    const own = (keys: number) => ({
      requests: 0,
      keys: [],
      capacity: { declared: false, worker: { keys, projects: keys, share: keys } },
    });
    const text = formatStatusView(
      {
        time: 'x',
        shards: [
          { shard: 0, status: own(8) },
          { shard: 1, status: own(4) },
        ],
      },
      prod,
    );
    expect(text).not.toContain('capacity');
  });

  it('says so when the answer is not an object', () => {
    expect(formatStatusView([1], prod)).toBe('key status: the answer was not a JSON object');
  });
});
