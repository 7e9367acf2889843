/**
 * The orchestrator's project-aware routing: shards weighted by their share of the pool's quota (`KEY_PROJECTS`),
 * conversations named in the headers sent along their rendezvous order, and a shard's home misdirect (421 with
 * `x-zen-home-shard`) followed once with the kept copy of the body.
 */
import type { Backend } from '../../../workers/orchestrator/backends';
import { conversationOrder } from '../../../workers/orchestrator/pick';
import { routeRequest, type RouteDeps } from '../../../workers/orchestrator/route-request';
import { poolWeights } from '../../../workers/orchestrator/weights';
import { fingerprintOf } from '../../../workers/shared/affinity';
import {
  AFFINITY_HEADER,
  HOME_SHARD_HEADER,
  MISDIRECTED_STATUS,
  REPLAY_MAX_BYTES,
} from '../../../workers/shared/contract';
import { POOL_EXHAUSTED, POOL_HEADER } from '../../../workers/shared/pool-refusal';
import { defined } from '../../helpers/guards';
import { backend, bind, routeHarness } from '../../helpers/stub-backends';

/** The issue's pool: one project of 10 keys, then 10 projects of one key; shards of 8, 8 and 4 keys. */
const ISSUE_POOL = [...Array.from({ length: 10 }, () => 'big'), ...Array.from({ length: 10 }, (_, i) => `solo${i}`)];
const PROJECTS: Partial<RouteDeps> = { shardKeyCounts: '8,8,4', keyProjects: ISSUE_POOL.join(','), keysPerShard: '8' };
const WEIGHTS = [0.8, 6.2, 4];

const request = (headers: Record<string, string> = {}, body?: string | ReadableStream<Uint8Array>): Request =>
  new Request('https://gw.example/v1/chat/completions', {
    method: 'POST',
    headers,
    body: body ?? '{"messages":[]}',
    duplex: 'half',
  } as RequestInit);

/** A shard that reads the whole body and answers with its name, keeping what it read and the affinity it got. */
function echo(name: string): Backend & { seen: Request[]; bodies: string[]; affinities: (string | null)[] } {
  const bodies: string[] = [];
  const affinities: (string | null)[] = [];
  const shard = backend(async (req) => {
    bodies.push(await req.text());
    affinities.push(req.headers.get(AFFINITY_HEADER));
    return new Response(`from ${name}`);
  });
  return Object.assign(shard, { bodies, affinities });
}

/** A shard that reads the body, finds a conversation homed on shard `home`, and misdirects it there. */
function homing(home: string, affinity?: string): Backend & { seen: Request[] } {
  return backend(async (req) => {
    await req.arrayBuffer();
    const headers: Record<string, string> = { [HOME_SHARD_HEADER]: home };
    if (affinity !== undefined) headers[AFFINITY_HEADER] = affinity;
    return Response.json({ error: { code: 'misdirected_request' } }, { status: MISDIRECTED_STATUS, headers });
  });
}

const poolRefusal = (): Promise<Response> =>
  Promise.resolve(
    new Response('{"error":{"code":"all_keys_cooling"}}', {
      status: 429,
      headers: { 'retry-after': '9', [POOL_HEADER]: POOL_EXHAUSTED },
    }),
  );

/** A conversation id whose home (among `weights`) is shard `home`, found by trying ids in order. */
function conversationHomedOn(home: number, weights: readonly number[] = WEIGHTS): string {
  for (let i = 0; i < 10_000; i++) {
    const id = `conversation-${i}`;
    if (conversationOrder(fingerprintOf(id), weights, [0, 1, 2], 1)[0] === home) return id;
  }
  throw new Error(`no conversation homed on shard ${home}`);
}

describe('weights: each shard by its share of the pool quota', () => {
  test('with KEY_PROJECTS the weights are the layout quota shares, not the key counts', () => {
    const backends = bind(echo('0'), echo('1'), echo('2'));
    expect(poolWeights(PROJECTS, backends)).toMatchObject({ weights: WEIGHTS });
    expect(poolWeights({ shardKeyCounts: '8,8,4' }, backends)).toEqual({ weights: [8, 8, 4] });
  });

  test('an anonymous request is drawn by quota share: 0.8 of 11 for the shard holding 8 keys of one project', async () => {
    const shards = [echo('0'), echo('1'), echo('2')];
    const draw = async (random: number): Promise<string> => {
      const { deps } = routeHarness({ ...PROJECTS, random: () => random });
      return (await routeRequest(request(), bind(...shards), deps)).text();
    };
    expect(await draw(0.07)).toBe('from 0');
    expect(await draw(0.08)).toBe('from 1');
    expect(await draw(0.64)).toBe('from 2');
  });

  test('a KEY_PROJECTS that does not place the bound shards is noted, and the key counts weigh instead', async () => {
    const { deps, logs } = routeHarness({ ...PROJECTS, keyProjects: 'a,a,b', random: () => 0.5 });
    const response = await routeRequest(request(), bind(echo('0'), echo('1'), echo('2')), deps);
    expect(await response.text()).toBe('from 1');
    expect(logs).toEqual([expect.objectContaining({ layout: 'malformed', shard: 1 })]);
    expect(JSON.stringify(logs)).not.toContain('shardKeyCounts');
  });
});

describe('conversations named in the headers', () => {
  test.each(['x-claude-code-session-id', 'session-id'])(
    '%s: every turn goes to its home, whatever the draw, with its fingerprint',
    async (header) => {
      const id = conversationHomedOn(2);
      const shards = [echo('0'), echo('1'), echo('2')];
      for (const random of [0, 0.5, 0.99]) {
        const { deps, logs } = routeHarness({ ...PROJECTS, random: () => random });
        const response = await routeRequest(request({ [header]: id }), bind(...shards), deps);
        expect(await response.text()).toBe('from 2');
        expect(logs).toEqual([expect.objectContaining({ shard: 2, home: 2, affinity: fingerprintOf(id) })]);
      }
      expect(shards[2]?.affinities).toEqual(Array(3).fill(fingerprintOf(id)));
      expect(JSON.stringify(shards[2]?.seen.map((r) => [...r.headers]))).toContain(id);
    },
  );

  test('the log names the fingerprint, never the conversation id', async () => {
    const id = conversationHomedOn(0);
    const { deps, logs } = routeHarness(PROJECTS);
    await routeRequest(request({ 'x-claude-code-session-id': id }), bind(echo('0'), echo('1'), echo('2')), deps);
    expect(JSON.stringify(logs)).not.toContain(id);
  });

  test('a cooling home falls through to the next shard of the same order, in every isolate alike', async () => {
    const id = conversationHomedOn(1);
    const order = conversationOrder(fingerprintOf(id), WEIGHTS, [0, 1, 2], 3);
    const next = defined(order[1], 'the second shard');
    const shards = [echo('0'), backend(poolRefusal), echo('2')];
    const { deps, logs } = routeHarness({ ...PROJECTS, random: () => 0.99 });
    const response = await routeRequest(request({ 'session-id': id }, '{"turn":2}'), bind(...shards), deps);
    expect(await response.text()).toBe(`from ${next}`);
    expect((shards[next] as ReturnType<typeof echo>).bodies).toEqual(['{"turn":2}']);
    expect(logs).toEqual([expect.objectContaining({ shard: next, home: 1, attempts: 2 })]);
  });

  test("a client's own x-zen-affinity never reaches a shard", async () => {
    const shard = echo('0');
    const { deps } = routeHarness({ shardKeyCounts: '1' });
    await routeRequest(request({ [AFFINITY_HEADER]: '0badc0de' }), bind(shard), deps);
    expect(shard.affinities).toEqual([null]);
  });

  test('without KEY_PROJECTS, conversations spread by key count and stay home alike', async () => {
    const id = conversationHomedOn(0, [8, 8, 4]);
    const { deps } = routeHarness({ shardKeyCounts: '8,8,4', random: () => 0.99 });
    const response = await routeRequest(request({ 'session-id': id }), bind(echo('0'), echo('1'), echo('2')), deps);
    expect(await response.text()).toBe('from 0');
  });
});

describe("following a shard's home misdirect", () => {
  test('goes once to the home the shard names, with the kept body and the fingerprint', async () => {
    const fingerprint = fingerprintOf('body-conversation');
    const shards = [homing('2', fingerprint), echo('1'), echo('2')];
    const { deps, logs } = routeHarness({ ...PROJECTS, random: () => 0 });
    const response = await routeRequest(request({}, '{"prompt_cache_key":"body-conversation"}'), bind(...shards), deps);
    expect(await response.text()).toBe('from 2');
    expect((shards[2] as ReturnType<typeof echo>).bodies).toEqual(['{"prompt_cache_key":"body-conversation"}']);
    expect((shards[2] as ReturnType<typeof echo>).affinities).toEqual([fingerprint]);
    expect(logs).toEqual([
      expect.objectContaining({ shard: 2, misdirectedBy: 0, home: 2, affinity: fingerprint, attempts: 2 }),
    ]);
  });

  test('a refusing home falls through along the order of the fingerprint the misdirect carried', async () => {
    const fingerprint = fingerprintOf(conversationHomedOn(2));
    const next = defined(conversationOrder(fingerprint, WEIGHTS, [0, 1, 2], 3)[1], 'the second shard');
    // shard 0 misdirects only a request without a fingerprint, as the contract says a shard does
    const first = homing('2', fingerprint);
    const served = echo('0');
    const zero = backend((req) => (req.headers.has(AFFINITY_HEADER) ? served.fetch(req) : first.fetch(req)));
    const { deps, logs } = routeHarness({ ...PROJECTS, random: () => 0 });
    const response = await routeRequest(request({}, '{"n":1}'), bind(zero, echo('1'), backend(poolRefusal)), deps);
    expect(await response.text()).toBe(`from ${next}`);
    expect(logs).toEqual([expect.objectContaining({ shard: next, misdirectedBy: 0, home: 2, attempts: 3 })]);
  });

  test('is followed once: a second home misdirect reaches the client as the shard sent it', async () => {
    const shards = [homing('1'), homing('0'), echo('2')];
    const { deps, logs } = routeHarness({ ...PROJECTS, random: () => 0 });
    const response = await routeRequest(request(), bind(...shards), deps);
    expect(response.status).toBe(MISDIRECTED_STATUS);
    expect(response.headers.get(HOME_SHARD_HEADER)).toBe('0');
    expect(logs).toEqual([expect.objectContaining({ shard: 1, status: 421, misdirectedBy: 0, home: 1 })]);
  });

  test('a request routed by its headers is already home: a misdirect is not followed', async () => {
    const id = conversationHomedOn(0);
    const { deps } = routeHarness(PROJECTS);
    const response = await routeRequest(request({ 'session-id': id }), bind(homing('1'), echo('1'), echo('2')), deps);
    expect(response.status).toBe(MISDIRECTED_STATUS);
  });

  test('a misdirect with the fingerprint alone: the orchestrator finds the home, which may be the same shard', async () => {
    for (const home of [0, 1, 2]) {
      const id = conversationHomedOn(home, [8, 8, 4]);
      const fingerprint = fingerprintOf(id);
      // shard 0 cannot place conversations (no KEY_PROJECTS), so it misdirects any request without a fingerprint
      const served = echo('0');
      const asks = backend(async (req) => {
        if (req.headers.has(AFFINITY_HEADER)) return served.fetch(req);
        await req.arrayBuffer();
        return new Response(null, { status: MISDIRECTED_STATUS, headers: { [AFFINITY_HEADER]: fingerprint } });
      });
      const { deps, logs } = routeHarness({ shardKeyCounts: '8,8,4', random: () => 0 });
      const response = await routeRequest(request({}, '{"user":"x"}'), bind(asks, echo('1'), echo('2')), deps);
      expect(await response.text()).toBe(`from ${home}`);
      expect(logs).toEqual([expect.objectContaining({ shard: home, misdirectedBy: 0, home, affinity: fingerprint })]);
    }
  });

  test('an owner misdirect wins over a fingerprint on the same 421', async () => {
    const shard0 = backend(async (req) => {
      await req.arrayBuffer();
      const headers = { 'x-zen-owner': '1', [AFFINITY_HEADER]: fingerprintOf('c') };
      return new Response(null, { status: MISDIRECTED_STATUS, headers });
    });
    const { deps, logs } = routeHarness({ ...PROJECTS, random: () => 0 });
    const response = await routeRequest(request(), bind(shard0, echo('1'), echo('2')), deps);
    expect(await response.text()).toBe('from 1');
    expect(logs).toEqual([expect.objectContaining({ shard: 1, owner: 1, misdirectedBy: 0 })]);
  });

  test('without the kept copy (a body past the replay bound) the 421 goes to the client', async () => {
    const big = 'x'.repeat(REPLAY_MAX_BYTES + 1);
    const { deps } = routeHarness({ ...PROJECTS, random: () => 0 });
    const response = await routeRequest(request({}, big), bind(homing('2'), echo('1'), echo('2')), deps);
    expect(response.status).toBe(MISDIRECTED_STATUS);
  });
});
