import { routeRequest } from '../../../workers/orchestrator/route-request';
import { REPLAY_MAX_BYTES } from '../../../workers/shared/contract';
import { POOL_EXHAUSTED, POOL_HEADER, REROUTE_AVAILABLE, REROUTE_HEADER } from '../../../workers/shared/pool-refusal';
import { backend, bind, ok, routeHarness } from '../../helpers/stub-backends';

/** A shard that reads the body and refuses from its pool, recording the reroute header each send carried. */
function refuser(): ReturnType<typeof backend> & { readonly said: (string | null)[] } {
  const said: (string | null)[] = [];
  const shard = backend(async (request) => {
    said.push(request.headers.get(REROUTE_HEADER));
    await request.arrayBuffer();
    return new Response('{"error":{"code":"all_keys_cooling"}}', {
      status: 429,
      headers: { 'retry-after': '1', [POOL_HEADER]: POOL_EXHAUSTED },
    });
  });
  return Object.assign(shard, { said });
}

const chat = (headers: Record<string, string>, body = '{"model":"m","messages":[]}'): Request =>
  new Request('https://gw.example/v1/chat/completions', { method: 'POST', headers, body });

describe('x-zen-reroute: a shard may decline on a presumption only when its refusal would go on', () => {
  it('tells every shard but the last that another can take the request, and the last that none can', async () => {
    const shards = [refuser(), refuser(), refuser()];
    const { deps } = routeHarness({ random: () => 0, shardKeyCounts: '1,1,1' });
    const body = '{"model":"m","messages":[{"role":"user","content":"hi"}]}';
    const res = await routeRequest(chat({ 'content-length': String(body.length) }, body), bind(...shards), deps);
    expect(res.status).toBe(429);
    expect(shards.map((s) => s.said)).toEqual([[REROUTE_AVAILABLE], [REROUTE_AVAILABLE], [null]]);
  });

  it("never passes on a client's own value, and says nothing when only one shard may be tried", async () => {
    const only = refuser();
    const { deps } = routeHarness({ random: () => 0, shardKeyCounts: '1', attempts: 1 });
    await routeRequest(chat({ [REROUTE_HEADER]: REROUTE_AVAILABLE, 'content-length': '27' }), bind(only), deps);
    expect(only.said).toEqual([null]);
  });

  it('says nothing on a first send whose body has no length or one too long to keep for another shard', async () => {
    const lengths: Record<string, string>[] = [
      {},
      { 'content-length': String(REPLAY_MAX_BYTES + 1) },
      { 'content-length': '1e3' },
    ];
    for (const headers of lengths) {
      const first = refuser();
      const { deps } = routeHarness({ random: () => 0, shardKeyCounts: '1,1' });
      await routeRequest(chat(headers), bind(first, backend(ok)), deps);
      expect(first.said).toEqual([null]);
    }
  });

  it('tells the first shard of a bodyless request, which can always be sent again', async () => {
    const first = refuser();
    const { deps } = routeHarness({ random: () => 0, shardKeyCounts: '1,1' });
    const res = await routeRequest(new Request('https://gw.example/v1/models'), bind(first, backend(ok)), deps);
    expect(res.status).toBe(200);
    expect(first.said).toEqual([REROUTE_AVAILABLE]);
  });
});
