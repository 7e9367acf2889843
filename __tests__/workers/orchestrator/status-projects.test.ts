/**
 * The orchestrator's `GET /zen/status` with `KEY_PROJECTS` bound: each shard's keys carry their global numbers and
 * projects from the layout (no longer a consecutive run), and the view states the pool's capacity in projects.
 */
import { routeRequest } from '../../../workers/orchestrator/route-request';
import { capacityLine, gatewayStatus, type GatewayStatus } from '../../../workers/orchestrator/status';
import { keyLayout } from '../../../workers/shared/key-layout';
import { backend, bind, routeHarness } from '../../helpers/stub-backends';

const LABELS = ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b', 'c'];
const T0 = Date.parse('2026-05-01T12:00:00Z');

const keysBody = (count: number): string =>
  JSON.stringify({ keys: Array.from({ length: count }, (_, i) => ({ key: i + 1, state: 'ready' })) });

describe('status with projects', () => {
  test('keys get their global number and project from the layout; the view states the capacity', () => {
    const layout = keyLayout(LABELS, 11, 8);
    const view = gatewayStatus(
      T0,
      [
        { shard: 0, answer: { kind: 'answered', status: 200, contentType: null, body: keysBody(6) } },
        { shard: 1, answer: { kind: 'timeout' } },
      ],
      [6, 5],
      undefined,
      layout,
    );
    expect(view.capacity).toBe('11 keys in 3 projects');
    expect(view.shards[0]).toEqual({
      shard: 0,
      keyCount: 6,
      globalKeys: [1, 2, 3, 4, 5, 11],
      projects: ['a', 'a', 'a', 'a', 'a', 'c'],
      status: {
        keys: [1, 2, 3, 4, 5, 11].map((globalKey, i) => ({
          key: i + 1,
          state: 'ready',
          globalKey,
          project: i === 5 ? 'c' : 'a',
        })),
      },
    });
    expect(view.shards[1]).toEqual({
      shard: 1,
      keyCount: 5,
      globalKeys: [6, 7, 8, 9, 10],
      projects: ['b', 'b', 'b', 'b', 'b'],
      error: 'timeout',
    });
  });

  test('capacityLine counts keys and projects', () => {
    expect(capacityLine(keyLayout(['x'], 1, 8))).toBe('1 key in 1 project');
    expect(capacityLine(keyLayout(undefined, 20, 8))).toBe('20 keys in 20 projects');
  });

  test('the route reads the layout from KEY_PROJECTS and KEYS_PER_SHARD', async () => {
    const shards = [6, 5].map((count) => backend(async () => new Response(keysBody(count))));
    const { deps } = routeHarness({ shardKeyCounts: '6,5', keyProjects: LABELS.join(','), keysPerShard: '8' });
    const response = await routeRequest(new Request('https://gw.example/zen/status'), bind(...shards), deps);
    const view = (await response.json()) as GatewayStatus;
    expect(view.capacity).toBe('11 keys in 3 projects');
    expect(view.shards.map((s) => s.globalKeys)).toEqual([
      [1, 2, 3, 4, 5, 11],
      [6, 7, 8, 9, 10],
    ]);
  });
});
