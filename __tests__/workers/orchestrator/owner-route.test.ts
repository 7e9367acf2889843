/**
 * The orchestrator's routing of owned resources (files, cached contents, batches, interactions): by the owner tag in
 * the URL, and by a shard's misdirect (421 with x-zen-owner) for a resource named in the body.
 */
import { createHash } from 'node:crypto';
import type { Backend } from '../../../workers/orchestrator/backends';
import { routeRequest, type RouteDeps } from '../../../workers/orchestrator/route-request';
import {
  MISDIRECTED_STATUS,
  OWNER_HEADER,
  REPLAY_MAX_BYTES,
  SHARD_COUNT_HEADER,
} from '../../../workers/shared/contract';
import { encodeListCursor } from '../../../workers/shared/owner-tag';
import { POOL_EXHAUSTED, POOL_HEADER } from '../../../workers/shared/pool-refusal';
import { googleErrorBody } from '../../helpers/google-errors';
import { defined } from '../../helpers/guards';
import { backend, bind, ok, routeHarness } from '../../helpers/stub-backends';

const harness = (overrides: Partial<RouteDeps> = {}) => routeHarness({ shardKeyCounts: '1,1,1', ...overrides });

const get = (path: string, headers: Record<string, string> = {}): Request =>
  new Request(`https://gw.example${path}`, { headers });

const post = (body: string | Uint8Array | ReadableStream<Uint8Array>, path = '/v1beta/models/m:generateContent') =>
  new Request(`https://gw.example${path}`, { method: 'POST', body, duplex: 'half' } as RequestInit);

/** A shard that answers with its name and the bytes it read, so a test sees where a request went and with what. */
function echo(name: string): Backend & { seen: Request[]; bodies: Uint8Array[] } {
  const bodies: Uint8Array[] = [];
  const shard = backend(async (request) => {
    bodies.push(new Uint8Array(await request.arrayBuffer()));
    return new Response(`from ${name}`, { headers: { 'x-shard': name } });
  });
  return Object.assign(shard, { bodies });
}

/** A shard that reads the whole body, as one that parses it for resource names does, and answers a misdirect. */
function misdirecting(owner: string): Backend & { seen: Request[]; bodies: Uint8Array[] } {
  const bodies: Uint8Array[] = [];
  const shard = backend(async (request) => {
    bodies.push(new Uint8Array(await request.arrayBuffer()));
    return Response.json(
      { error: { code: 'misdirected_request' } },
      { status: MISDIRECTED_STATUS, headers: { [OWNER_HEADER]: owner } },
    );
  });
  return Object.assign(shard, { bodies });
}

const poolRefusal = (): Promise<Response> =>
  Promise.resolve(
    new Response('{"error":{"code":"all_keys_cooling"}}', {
      status: 429,
      headers: { 'retry-after': '9', [POOL_HEADER]: POOL_EXHAUSTED },
    }),
  );

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** `total` bytes of a repeating non-uniform pattern, streamed in chunks of `chunk` bytes. */
function chunked(total: number, chunk: number): { stream: ReadableStream<Uint8Array>; bytes: Uint8Array } {
  const bytes = new Uint8Array(total);
  for (let i = 0; i < total; i++) bytes[i] = (i * 31 + (i >> 8)) & 0xff;
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (offset >= total) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + chunk));
        offset += chunk;
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, bytes };
}

describe('routing by the owner tag in the URL', () => {
  it.each([
    ['a file', 'GET', '/v1beta/files/z1k2abcd-f123'],
    ['a download', 'GET', '/download/v1beta/files/z1k2abcd-f123:download'],
    ['a cached content', 'DELETE', '/v1beta/cachedContents/z1k1qqqq-c9'],
    ['a batch cancel', 'POST', '/v1beta/batches/z1k3wxyz-b7:cancel'],
    ['an OpenAI-compatible file', 'GET', '/v1/files/z1k2abcd-f123/content'],
    ['an upload session', 'PUT', '/upload/v1beta/files?upload_id=z1k2abcd-u55'],
  ])('%s goes to the owning shard only, and its pool refusal goes to the client', async (_what, method, path) => {
    const shards = [backend(ok), backend(poolRefusal), backend(ok)];
    const { deps, logs } = harness();
    const res = await routeRequest(new Request(`https://gw.example${path}`, { method }), bind(...shards), deps);
    expect(res.status).toBe(429);
    expect(res.headers.get(POOL_HEADER)).toBe(POOL_EXHAUSTED);
    expect(shards.map((s) => s.seen.length)).toEqual([0, 1, 0]);
    expect(logs).toEqual([
      { event: 'orchestrator_request', requestId: 'generated-id', shard: 1, status: 429, owner: 1, ms: 0 },
    ]);
  });

  it.each([
    ['no owner tag', '/v1beta/files/abc123', '("abc123")'],
    ['a malformed tag', '/v1beta/cachedContents/z1kxabcd-c9', '("z1kxabcd-c9")'],
    ['an upload session without a tag', '/upload/v1beta/files?upload_id=AbC-google-session', '("AbC-google-session")'],
  ])("a name with %s is the orchestrator's 404, and no shard is called", async (_what, path, quoted) => {
    const shards = [backend(ok), backend(ok)];
    const { deps, logs } = harness({ shardKeyCounts: '1,1' });
    const res = await routeRequest(get(path), bind(...shards), deps);
    expect(res.status).toBe(404);
    // Google's error object, as the native clients on these paths parse it
    const body = (await res.json()) as { error: { message: string } };
    expect(body).toEqual(googleErrorBody(404, 'unknown_resource_owner'));
    expect(body.error).toMatchObject({ status: 'NOT_FOUND' });
    expect(body.error.message).toContain(quoted);
    expect(body.error.message).toMatch(/owner tag .* missing, malformed or names no shard of this gateway/);
    expect(body.error.message).toContain('only valid exactly as this gateway handed them out');
    expect(res.headers.get('x-request-id')).toBe('generated-id');
    expect(shards.map((s) => s.seen.length)).toEqual([0, 0]);
    expect(logs).toEqual([
      { event: 'orchestrator_request', requestId: 'generated-id', status: 404, error: 'unknown_resource_owner', ms: 0 },
    ]);
  });

  it('does not quote an id that is long or holds characters a message should not carry', async () => {
    const { deps } = harness({ shardKeyCounts: '1' });
    for (const id of ['x'.repeat(200), '%3Cscript%3E', 'a%22b']) {
      const res = await routeRequest(get(`/v1beta/files/${id}`), bind(backend(ok)), deps);
      expect(res.status).toBe(404);
      const text = await res.text();
      expect(text).not.toContain(id);
      expect(text).not.toContain('("');
    }
  });

  it('a forged tag naming a shard past the bound ones is a 404 without any shard call', async () => {
    const shards = [backend(ok), backend(ok)];
    const { deps, logs } = harness({ shardKeyCounts: '1,1' });
    const res = await routeRequest(get('/v1beta/files/z2k1abcd-f1'), bind(...shards), deps);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(googleErrorBody(404, 'unknown_resource_owner'));
    expect(shards.map((s) => s.seen.length)).toEqual([0, 0]);
    expect(logs).toEqual([
      {
        event: 'orchestrator_request',
        requestId: 'generated-id',
        status: 404,
        error: 'unknown_resource_owner',
        owner: 2,
        ms: 0,
      },
    ]);
  });

  it('a listing without a page token starts at shard 0, whatever the draw would pick', async () => {
    const shards = [echo('0'), echo('1'), echo('2')];
    const { deps, logs } = harness({ random: () => 0.99 });
    const res = await routeRequest(get('/v1beta/files?pageSize=10'), bind(...shards), deps);
    expect(await res.text()).toBe('from 0');
    expect(logs[0]).toMatchObject({ shard: 0, owner: 0 });
  });

  it("a listing's next page goes to the shard its cursor names", async () => {
    const shards = [echo('0'), echo('1'), echo('2')];
    const { deps } = harness();
    const token = encodeListCursor({ shard: 2, key: 3, pageToken: 'google-token' });
    const res = await routeRequest(get(`/v1beta/cachedContents?pageToken=${token}`), bind(...shards), deps);
    expect(await res.text()).toBe('from 2');
    expect(shards.map((s) => s.seen.length)).toEqual([0, 0, 1]);
  });

  it('sets x-zen-shard-count to the bound shards on every forwarded request, replacing a client value', async () => {
    const shards = [echo('0'), echo('1'), echo('2')];
    const { deps } = harness();
    await routeRequest(get('/v1beta/models', { [SHARD_COUNT_HEADER]: '99' }), bind(...shards), deps);
    await routeRequest(get('/v1beta/files', { [SHARD_COUNT_HEADER]: '1' }), bind(...shards), deps);
    await routeRequest(post('{"contents":[]}'), bind(...shards), deps);
    const seen = shards.flatMap((s) => s.seen).map((r) => r.headers.get(SHARD_COUNT_HEADER));
    expect(seen).toEqual(['3', '3', '3']);
  });

  it('a chat request without owned names is drawn and re-routed as before', async () => {
    const shards = [backend(poolRefusal), echo('1'), echo('2')];
    const { deps, logs } = harness();
    const res = await routeRequest(post('{"contents":[{"parts":[{"text":"hi"}]}]}'), bind(...shards), deps);
    expect(await res.text()).toBe('from 1');
    expect(logs).toEqual([
      { event: 'orchestrator_request', requestId: 'generated-id', shard: 1, status: 200, attempts: 2, ms: 0 },
    ]);
  });
});

describe("following a shard's misdirect", () => {
  it.each([
    ['a small JSON body', () => ({ body: '{"contents":[{"parts":[{"fileData":{"fileUri":"files/z2k1abcd-x"}}]}]}' })],
    ['a chunked body of odd-sized chunks', () => chunked(300_001, 7_777)],
    ['a body at the replay bound', () => chunked(REPLAY_MAX_BYTES, 64 * 1024)],
  ])('sends %s once to the owner, with the exact bytes, and hides x-zen-owner', async (_what, make) => {
    const made = make();
    const [body, bytes] =
      'stream' in made ? [made.stream, made.bytes] : [made.body, new TextEncoder().encode(made.body)];
    const shards = [misdirecting('2'), echo('1'), echo('2')];
    const { deps, logs } = harness();
    const res = await routeRequest(post(body), bind(...shards), deps);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('from 2');
    expect(res.headers.get(OWNER_HEADER)).toBeNull();
    expect(res.headers.get('x-request-id')).toBe('generated-id');
    expect(shards.map((s) => s.seen.length)).toEqual([1, 0, 1]);
    expect(sha(defined(shards[0]?.bodies[0], 'the body shard 0 read'))).toBe(sha(bytes));
    expect(sha(defined(shards[2]?.bodies[0], 'the body the owner read'))).toBe(sha(bytes));
    expect(logs).toEqual([
      {
        event: 'orchestrator_request',
        requestId: 'generated-id',
        shard: 2,
        status: 200,
        attempts: 2,
        owner: 2,
        misdirectedBy: 0,
        ms: 0,
      },
    ]);
  });

  it('follows a misdirect even with SHARD_ATTEMPTS 1, and a second misdirect goes to the client as sent', async () => {
    const shards = [misdirecting('1'), misdirecting('0')];
    const { deps, logs } = harness({ attempts: 1, shardKeyCounts: '1,1' });
    const res = await routeRequest(post('{"x":1}'), bind(...shards), deps);
    expect(res.status).toBe(MISDIRECTED_STATUS);
    expect(res.headers.get(OWNER_HEADER)).toBe('0');
    expect(await res.json()).toEqual({ error: { code: 'misdirected_request' } });
    expect(shards.map((s) => s.seen.length)).toEqual([1, 1]);
    expect(logs[0]).toMatchObject({ shard: 1, status: 421, attempts: 2, owner: 1, misdirectedBy: 0 });
  });

  it("passes the owner's pool refusal to the client: no random shard for an owned request", async () => {
    const untried = backend(ok);
    const shards = [misdirecting('1'), backend(poolRefusal), untried];
    const { deps, logs } = harness();
    const res = await routeRequest(post('{"x":1}'), bind(...shards), deps);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('9');
    expect(untried.seen).toHaveLength(0);
    expect(logs[0]).toMatchObject({ shard: 1, status: 429, attempts: 2, owner: 1, misdirectedBy: 0 });
  });

  it('follows a misdirect that comes after a pool refusal, outside SHARD_ATTEMPTS', async () => {
    const shards = [backend(poolRefusal), misdirecting('3'), backend(ok), echo('3')];
    const { deps, logs } = harness({ attempts: 2, shardKeyCounts: '1,1,1,1' });
    const res = await routeRequest(post('{"x":1}'), bind(...shards), deps);
    expect(await res.text()).toBe('from 3');
    expect(shards.map((s) => s.seen.length)).toEqual([1, 1, 0, 1]);
    expect(logs[0]).toMatchObject({ shard: 3, status: 200, attempts: 3, owner: 3, misdirectedBy: 1 });
  });

  it('passes the 421 through when the body went past REPLAY_MAX_BYTES, so no copy is left to send', async () => {
    const { stream } = chunked(REPLAY_MAX_BYTES + 64 * 1024, 64 * 1024);
    const owner = echo('1');
    const { deps, logs } = harness({ shardKeyCounts: '1,1' });
    const res = await routeRequest(post(stream), bind(misdirecting('1'), owner), deps);
    expect(res.status).toBe(MISDIRECTED_STATUS);
    expect(res.headers.get(OWNER_HEADER)).toBe('1');
    expect(owner.seen).toHaveLength(0);
    expect(logs).toEqual([
      {
        event: 'orchestrator_request',
        requestId: 'generated-id',
        shard: 0,
        status: 421,
        owner: 1,
        misdirectedBy: 0,
        ms: 0,
      },
    ]);
  });

  it('answers 404 unknown_resource_owner when the misdirect names a shard that is not bound', async () => {
    const shards = [misdirecting('5'), echo('1')];
    const { deps, logs } = harness({ shardKeyCounts: '1,1' });
    const res = await routeRequest(post('{"x":1}'), bind(...shards), deps);
    expect(res.status).toBe(404);
    expect(res.headers.get(OWNER_HEADER)).toBeNull();
    expect(await res.json()).toEqual(googleErrorBody(404, 'unknown_resource_owner'));
    expect(shards[1]?.seen).toHaveLength(0);
    expect(logs[0]).toMatchObject({ shard: 0, status: 404, error: 'unknown_resource_owner', owner: 5 });
  });

  it.each([
    ['without x-zen-owner', {}],
    ['with a malformed x-zen-owner', { [OWNER_HEADER]: '1; drop' }],
    ['naming the shard that answered', { [OWNER_HEADER]: '0' }],
  ])('passes a 421 %s to the client as the shard sent it, never as a failure', async (_what, headers) => {
    const other = echo('1');
    const odd = backend(() => Promise.resolve(new Response('odd', { status: MISDIRECTED_STATUS, headers })));
    const { deps, logs } = harness({ shardKeyCounts: '1,1' });
    const res = await routeRequest(post('{"x":1}'), bind(odd, other), deps);
    expect(res.status).toBe(MISDIRECTED_STATUS);
    expect(await res.text()).toBe('odd');
    expect(other.seen).toHaveLength(0);
    expect(logs[0]).toMatchObject({ shard: 0, status: 421 });
    expect(logs[0]).not.toHaveProperty('error');
  });

  it('does not follow a misdirect for a request the URL already sent to its owner', async () => {
    const shards = [echo('0'), misdirecting('0')];
    const { deps, logs } = harness({ shardKeyCounts: '1,1' });
    const res = await routeRequest(post('{"ttl":"60s"}', '/v1beta/cachedContents/z1k1abcd-c1'), bind(...shards), deps);
    expect(res.status).toBe(MISDIRECTED_STATUS);
    expect(shards[0]?.seen).toHaveLength(0);
    expect(logs[0]).toMatchObject({ shard: 1, status: 421, owner: 1 });
    expect(logs[0]).not.toHaveProperty('misdirectedBy');
  });
});
