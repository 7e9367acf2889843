/**
 * The status page's reading of `/zen/status` (`page/client/pool-view.ts`, `usage-view.ts`, `format.ts`), on answers
 * built by the workers' own status builders: a lone worker's view, the orchestrator's merged view (with and without
 * projects), shards that gave no view, and usage where the answer carries it.
 */
import { gatewayStatus, type ShardAnswer } from '../../../../../workers/orchestrator/status';
import { declaredProjects, implicitProjects } from '../../../../../workers/shard/core/key-projects';
import { workerStatus } from '../../../../../workers/shard/core/status';
import {
  clockTime,
  compact,
  countdown,
  counted,
  heading,
} from '../../../../../workers/shard/surfaces/zen/page/client/format';
import { poolView, unanimousRefusal } from '../../../../../workers/shard/surfaces/zen/page/client/pool-view';
import { usageView } from '../../../../../workers/shard/surfaces/zen/page/client/usage-view';
import { keyLayout } from '../../../../../workers/shared/key-layout';

const T0 = Date.parse('2026-05-01T12:00:00Z');
const M = 'gemini-3.8-flash';

const snapshots = [
  { index: 1, calls: 4, rateLimited: 0, cooldowns: [] },
  {
    index: 2,
    calls: 3,
    rateLimited: 1,
    lastError: { status: 429, code: 'RESOURCE_EXHAUSTED', at: T0 - 2_000 },
    cooldowns: [{ model: M, until: T0 + 17_000, reason: 'quota-minute' as const }],
  },
  { index: 3, calls: 1, rateLimited: 0, removed: 'API_KEY_INVALID', cooldowns: [] },
];

const answered = (body: unknown): ShardAnswer => ({
  kind: 'answered',
  status: 200,
  body: JSON.stringify(body),
  contentType: 'application/json',
});

describe("a lone worker's status (a preview worker)", () => {
  const status = workerStatus(snapshots, { count: 8, since: T0 - 60_000 }, T0, implicitProjects([1, 2, 3]));

  it('shows each key by its own number, which is global there, with its state and counters', () => {
    const view = poolView(JSON.parse(JSON.stringify(status)), 0);
    expect(view).toMatchObject({ time: T0, summary: { ok: 1, cooling: 1, removed: 1 }, requests: 8, problems: [] });
    expect(view?.groups).toHaveLength(1);
    expect(view?.groups[0]?.title).toBe('Keys');
    expect(view?.groups[0]?.keys).toEqual([
      { label: 'KEY1', order: 1, state: 'ok', cooling: [], requests: 4, rateLimited: 0 },
      {
        label: 'KEY2',
        order: 2,
        state: 'cooling',
        cooling: [{ model: M, until: T0 + 17_000, reason: 'quota-minute' }],
        requests: 3,
        rateLimited: 1,
        lastError: { status: 429, code: 'RESOURCE_EXHAUSTED', at: T0 - 2_000 },
      },
      {
        label: 'KEY3',
        order: 3,
        state: 'removed',
        reason: 'API_KEY_INVALID',
        cooling: [],
        requests: 1,
        rateLimited: 0,
      },
    ]);
    expect(view?.usage).toEqual({ tables: [] });
  });

  it('groups the keys by project when the user declared them', () => {
    const projects = declaredProjects(
      ['a', 'a', 'b'],
      [1, 2, 3].map((global, i) => ({ index: i + 1, global })),
    );
    const view = poolView(JSON.parse(JSON.stringify(workerStatus(snapshots, { count: 0 }, T0, projects))), 0);
    expect(view?.groups.map((g) => [g.title, g.state, g.keys.map((k) => k.label)])).toEqual([
      ['Project a', 'ok', ['KEY1', 'KEY2']],
      ['Project b', 'removed', ['KEY3']],
    ]);
    expect(view?.capacity).toBe('3 keys in 2 projects');
  });

  it('refuses what is not a status answer', () => {
    expect(poolView({ error: { message: 'nope' } }, 0)).toBeUndefined();
    expect(poolView([], 0)).toBeUndefined();
    expect(poolView('text', 0)).toBeUndefined();
  });
});

describe("the orchestrator's merged status", () => {
  const shardView = (count: number) =>
    JSON.parse(JSON.stringify(workerStatus(snapshots.slice(0, count), { count: 2 }, T0))) as unknown;

  it('numbers every key globally, groups them by shard, and says which shards gave no view', () => {
    const merged = gatewayStatus(
      T0,
      [
        { shard: 0, answer: answered(shardView(3)) },
        { shard: 1, answer: answered(shardView(2)) },
        { shard: 2, answer: { kind: 'timeout' } },
        { shard: 3, answer: { kind: 'answered', status: 403, body: '{}', contentType: null } },
      ],
      [3, 2, 4, 1],
      undefined,
    );
    const view = poolView(JSON.parse(JSON.stringify(merged)), 0);
    expect(view?.groups.map((g) => [g.title, g.keys.map((k) => `${k.label} ${k.state}`)])).toEqual([
      ['Shard 0', ['KEY1 ok', 'KEY2 cooling', 'KEY3 removed']],
      ['Shard 1', ['KEY4 ok', 'KEY5 cooling']],
    ]);
    expect(view?.summary).toEqual({ ok: 2, cooling: 2, removed: 1 });
    expect(view?.requests).toBe(4);
    expect(view?.problems).toEqual([
      'Shard 2 did not answer in time.',
      'Shard 3 refused this credential (403): the status needs the operator password.',
    ]);
  });

  it("names keys by shard where the global numbers are unknown, and shows the pool's projects", () => {
    const unknown = gatewayStatus(T0, [{ shard: 1, answer: answered(shardView(1)) }], undefined, 'missing');
    expect(poolView(JSON.parse(JSON.stringify(unknown)), 0)?.groups[0]?.keys[0]?.label).toBe('shard 1 KEY1');

    const layout = keyLayout(['a', 'a', 'b', 'b', 'c'], 5, 3);
    const withProjects = gatewayStatus(
      T0,
      layout.shards.map((s, shard) => ({ shard, answer: answered(shardView(s.keys.length)) })),
      layout.shards.map((s) => s.keys.length),
      undefined,
      layout,
    );
    const view = poolView(JSON.parse(JSON.stringify(withProjects)), 0);
    expect(view?.capacity).toBe('5 keys in 3 projects');
    expect(view?.groups.map((g) => [g.title, g.keys.map((k) => k.label)])).toEqual([
      ['Project a', ['KEY1', 'KEY2']],
      ['Project b', ['KEY3', 'KEY4']],
      ['Project c', ['KEY5']],
    ]);
  });

  it('stands for a refusal when every shard asked refused the credential alike', () => {
    const entry = (shard: number, error: string) => ({ shard, error });
    const view = (...shards: unknown[]) => ({ time: '2026-05-01T12:00:00Z', shards });
    expect(unanimousRefusal(view(entry(0, 'status 403'), entry(1, 'status 403'), entry(2, 'not_queried')))).toBe(403);
    expect(unanimousRefusal(view(entry(0, 'status 401')))).toBe(401);
    expect(unanimousRefusal(view(entry(0, 'status 403'), entry(1, 'timeout')))).toBeUndefined();
    expect(unanimousRefusal(view(entry(0, 'status 403'), { shard: 1, status: { keys: [] } }))).toBeUndefined();
    expect(unanimousRefusal(view())).toBeUndefined();
    expect(unanimousRefusal({ keys: [] })).toBeUndefined();
  });

  it('passes on the note about shards not asked', () => {
    const view = poolView({ time: '2026-05-01T12:00:00Z', shards: [], notQueried: 'shards 31 were not asked' }, 0);
    expect(view?.problems).toEqual(['shards 31 were not asked']);
    expect(view?.groups).toEqual([]);
  });
});

describe('usage, where the status carries it', () => {
  const tokens = (n: number) => ({ prompt: 10 * n, output: n, cached: 0, thinking: 0, total: 11 * n });
  /** a shard's `usage` as metering writes it (`core/usage-summary.ts`) */
  const usage = (shard: number, n: number) => ({
    scope: 'dataset',
    note: 'Today’s usage…',
    since: '2026-05-01T07:00:00.000Z',
    requests: n,
    errors: 0,
    tokens: tokens(n),
    keys: [
      {
        key: `KEY${shard + 1}`,
        keyIndex: 1,
        globalKey: shard + 1,
        project: 'a',
        requests: n,
        errors: 0,
        tokens: tokens(n),
      },
      { key: `shard${shard}:KEY2`, keyIndex: 2, project: 'key2', requests: 1, errors: 1, tokens: tokens(0) },
    ],
    projects: [{ project: 'a', requests: n, errors: 0, tokens: tokens(n) }],
    clients: [{ client: 'pass', requests: n, errors: 0, tokens: tokens(n) }],
    models: [],
    dropped: 0,
    writeFailures: 0,
  });
  const keyEntry = (shard: number) => ({ key: 1, globalKey: shard + 1, state: 'ok', requests: 1, rateLimited: 0 });
  const merged = {
    time: '2026-05-01T12:00:00Z',
    shards: [0, 1].map((shard) => ({ shard, status: { keys: [keyEntry(shard)], usage: usage(shard, shard + 2) } })),
  };

  it('sums each table over the shards, flattens the token counts into columns, and names keys by their label', () => {
    const view = poolView(merged, 0);
    // columns that are 0 in every row (no cached or thinking tokens, nothing dropped) are left out
    const columns = ['requests', 'prompt tokens', 'output tokens', 'total tokens'];
    expect(view?.usage.since).toBe(Date.parse('2026-05-01T07:00:00Z'));
    expect(view?.usage.tables.map((t) => [t.title, t.columns, t.rows.map((r) => r.name)])).toEqual([
      ['total', columns, ['all']],
      ['keys', [...columns, 'errors'], ['KEY1', 'shard 0 KEY2', 'KEY2', 'shard 1 KEY2']],
      ['projects', columns, ['a']],
      ['clients', columns, ['pass']],
    ]);
    const projects = view?.usage.tables.find((t) => t.title === 'projects');
    expect(projects?.rows[0]?.figures).toEqual({
      requests: 5,
      errors: 0,
      'prompt tokens': 50,
      'output tokens': 5,
      'cached tokens': 0,
      'thinking tokens': 0,
      'total tokens': 55,
    });
  });

  it("puts each key's tokens today on its card", () => {
    const keys = poolView(merged, 0)?.groups.flatMap((g) => g.keys);
    expect(keys?.map((k) => [k.label, k.tokens])).toEqual([
      ['KEY1', 22],
      ['KEY2', 33],
    ]);
  });

  it("counts a lone worker's usage once", () => {
    const lone = { time: '2026-05-01T12:00:00Z', keys: [keyEntry(0)], usage: usage(0, 2) };
    const view = poolView(lone, 0);
    expect(view?.usage.tables.find((t) => t.title === 'total')?.rows[0]?.figures.requests).toBe(2);
    expect(view?.groups[0]?.keys[0]?.tokens).toBe(22);
  });

  it('reads a map of records too, and ignores what holds none', () => {
    const view = usageView([{ usage: { clients: { alice: { requests: 2 } } }, shard: 0 }, { usage: { list: [1, 2] } }]);
    expect(view).toEqual({
      tables: [{ title: 'clients', columns: ['requests'], rows: [{ name: 'alice', figures: { requests: 2 } }] }],
    });
    expect(usageView([{ usage: undefined }, { usage: 'x' }, { usage: { note: 'n' } }])).toEqual({ tables: [] });
  });

  it('has none without a usage object', () => {
    expect(poolView({ time: '2026-05-01T12:00:00Z', keys: [] }, 0)?.usage).toEqual({ tables: [] });
  });
});

describe('how the page writes times and numbers', () => {
  it('counts down in seconds, minutes, hours and days', () => {
    expect(countdown(T0 + 17_000, T0)).toBe('17 s');
    expect(countdown(T0 + 16_001, T0)).toBe('17 s');
    expect(countdown(T0 - 5_000, T0)).toBe('0 s');
    expect(countdown(T0 + 245_000, T0)).toBe('4 min 05 s');
    expect(countdown(T0 + (3 * 60 + 12) * 60_000, T0)).toBe('3 h 12 min');
    expect(countdown(T0 + 51 * 3_600_000, T0)).toBe('2 d 3 h');
  });

  it('writes clock times in UTC, compact counts and headings from field names', () => {
    expect(clockTime(T0 + 3_000)).toBe('12:00:03');
    expect([950, 12_345, 123_456, 4_560_000].map(compact)).toEqual(['950', '12.3k', '123k', '4.56M']);
    expect(heading('promptTokens')).toBe('prompt tokens');
    expect(heading('cached_tokens')).toBe('cached tokens');
    expect([counted(1, 'call'), counted(0, 'call'), counted(12, 'request')]).toEqual([
      '1 call',
      '0 calls',
      '12 requests',
    ]);
  });
});
