/**
 * Merged listings at the orchestrator: a shard hands on to the next shard without knowing whether it holds anything,
 * and `@google/genai`'s pager yields `undefined` for an empty page, so the orchestrator follows empty pages and looks
 * ahead before handing out a token that leads only to empty shards.
 */
import type { Backend } from '../../../workers/orchestrator/backends';
import { LISTING_READ_MAX_BYTES, MAX_LISTING_SHARD_CALLS } from '../../../workers/orchestrator/listing';
import { routeRequest, type RouteDeps } from '../../../workers/orchestrator/route-request';
import { SHARD_COUNT_HEADER } from '../../../workers/shared/contract';
import { decodeListCursor, encodeListCursor } from '../../../workers/shared/owner-tag';
import { defined } from '../../helpers/guards';
import { backend, bind, routeHarness } from '../../helpers/stub-backends';

const harness = routeHarness;

const get = (path: string, headers: Record<string, string> = {}): Request =>
  new Request(`https://gw.example${path}`, { headers });

/**
 * A shard listing `names` the way the shard worker does: from the cursor's offset (kept as Google's page token), up to
 * `pageSize` (10 by default); a token within the shard while it has more, else a token to the next shard when
 * `x-zen-shard-count` says there is one, else none.
 */
function lister(shard: number, names: readonly string[], field = 'files'): Backend & { seen: Request[] } {
  return backend(async (request) => {
    const url = new URL(request.url);
    const token = url.searchParams.get('pageToken');
    const cursor = token === null ? undefined : decodeListCursor(token);
    if (cursor !== undefined && cursor.shard !== shard) return Response.json({ error: 'misrouted' }, { status: 421 });
    const from = Number(cursor?.pageToken ?? 0);
    const size = Number(url.searchParams.get('pageSize') ?? 10);
    const items = names.slice(from, from + size).map((name) => ({ name }));
    const count = Number(request.headers.get(SHARD_COUNT_HEADER));
    const nextPageToken =
      from + size < names.length
        ? encodeListCursor({ shard, key: 1, pageToken: String(from + size) })
        : shard + 1 < count
          ? encodeListCursor({ shard: shard + 1, key: 1 })
          : undefined;
    return Response.json({ [field]: items, ...(nextPageToken !== undefined ? { nextPageToken } : {}) });
  });
}

interface ListingPageBody {
  files?: { name: string }[];
  nextPageToken?: string;
}

/** Pages through the listing as the SDK's pager does, returning each page's names. */
async function pages(shards: Backend[], deps: RouteDeps, pageSize: number): Promise<string[][]> {
  const seen: string[][] = [];
  let token: string | undefined;
  do {
    const query = new URLSearchParams({
      pageSize: String(pageSize),
      ...(token !== undefined ? { pageToken: token } : {}),
    });
    const res = await routeRequest(get(`/v1beta/files?${query}`), bind(...shards), deps);
    expect(res.status).toBe(200);
    const body = (await res.json()) as ListingPageBody;
    seen.push((body.files ?? []).map((f) => f.name));
    token = body.nextPageToken;
  } while (token !== undefined && seen.length < 20);
  return seen;
}

const pageSizesAsked = (shard: { seen: Request[] }): (string | null)[] =>
  shard.seen.map((r) => new URL(r.url).searchParams.get('pageSize'));

describe('merged listings across shards', () => {
  it('skips the empty page of a shard whose keys hold nothing', async () => {
    const shards = [lister(0, ['a']), lister(1, []), lister(2, ['c', 'd'])];
    const { deps, logs } = harness({ shardKeyCounts: '1,1,1' });
    // shard 0's page hands on to shard 1, which only hands on to shard 2
    expect(await pages(shards, deps, 2)).toEqual([['a'], ['c', 'd']]);
    expect(logs[1]).toEqual({
      event: 'orchestrator_request',
      requestId: 'generated-id',
      shard: 2,
      status: 200,
      owner: 1,
      attempts: 2,
      asked: [1, 2],
      ms: 0,
    });
  });

  it('follows an empty first page to the first shard with items, keeping the client query and headers', async () => {
    const shards = [lister(0, []), lister(1, []), lister(2, ['c'])];
    const { deps } = harness();
    const request = get('/v1beta/files?pageSize=5&key=client-pass', {
      'x-goog-api-key': 'client-pass',
      'x-request-id': 'client-id',
    });
    const res = await routeRequest(request, bind(...shards), deps);
    expect(await res.json()).toEqual({ files: [{ name: 'c' }] });
    expect(res.headers.get('x-request-id')).toBe('client-id');
    const followed = defined(shards[2]?.seen[0], "shard 2's request");
    const query = new URL(followed.url).searchParams;
    expect([query.get('pageSize'), query.get('key')]).toEqual(['5', 'client-pass']);
    expect(decodeListCursor(query.get('pageToken') ?? '')).toEqual({ shard: 2, key: 1 });
    expect(followed.headers.get('x-goog-api-key')).toBe('client-pass');
    expect(followed.headers.get('x-request-id')).toBe('client-id');
    expect(followed.headers.get(SHARD_COUNT_HEADER)).toBe('3');
  });

  it('follows the empty page of a batch listing (its items are operations), and one Google left the list out of', async () => {
    const empty = backend(async () => Response.json({ nextPageToken: encodeListCursor({ shard: 1, key: 1 }) }));
    const shards = [empty, lister(1, ['batches/b'], 'operations')];
    const { deps } = harness();
    const res = await routeRequest(get('/v1beta/batches'), bind(...shards), deps);
    expect(await res.json()).toEqual({ operations: [{ name: 'batches/b' }] });
  });

  it('drops the nextPageToken of a page behind which every shard is empty', async () => {
    const shards = [lister(0, ['a', 'b']), lister(1, []), lister(2, [])];
    const { deps, logs } = harness({ shardKeyCounts: '1,1,1' });
    const res = await routeRequest(get('/v1beta/files?pageSize=2'), bind(...shards), deps);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toBe('generated-id');
    expect(await res.json()).toEqual({ files: [{ name: 'a' }, { name: 'b' }] });
    // the shards after it were asked for one item each
    expect([pageSizesAsked(defined(shards[1], 'shard 1')), pageSizesAsked(defined(shards[2], 'shard 2'))]).toEqual([
      ['1'],
      ['1'],
    ]);
    expect(logs).toEqual([
      {
        event: 'orchestrator_request',
        requestId: 'generated-id',
        shard: 0,
        status: 200,
        owner: 0,
        attempts: 3,
        asked: [0, 1, 2],
        nextPageToken: 'dropped',
        ms: 0,
      },
    ]);
    expect(await pages(shards, deps, 2)).toEqual([['a', 'b']]);
  });

  it('returns the page byte for byte when a shard ahead has an item', async () => {
    const token = encodeListCursor({ shard: 1, key: 1 });
    const text = `{ "files" : [ {"name":"files/z0k1abcd-x", "displayName": "caf\\u00e9 ☕"} ],\n "nextPageToken": "${token}" }`;
    const first = backend(async () =>
      Promise.resolve(new Response(text, { headers: { 'content-type': 'application/json', 'x-extra': 'kept' } })),
    );
    const shards = [first, lister(1, []), lister(2, ['c'])];
    const { deps, logs } = harness();
    const res = await routeRequest(get('/v1beta/files?pageSize=1'), bind(...shards), deps);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(Buffer.from(text));
    expect(res.headers.get('x-extra')).toBe('kept');
    expect(shards.map((s) => (s as { seen: Request[] }).seen.length)).toEqual([1, 1, 1]);
    const peek = new URL(defined(shards[2]?.seen[0], "shard 2's look-ahead").url).searchParams;
    expect([peek.get('pageSize'), decodeListCursor(peek.get('pageToken') ?? '')]).toEqual(['1', { shard: 2, key: 1 }]);
    expect(logs[0]).toMatchObject({ shard: 0, status: 200, attempts: 3, asked: [0, 1, 2] });
    expect(logs[0]).not.toHaveProperty('nextPageToken');
  });

  it('passes a page whose token stays inside its shard without asking further', async () => {
    const shards = [lister(0, ['a', 'b', 'c']), lister(1, [])];
    const { deps } = harness();
    const res = await routeRequest(get('/v1beta/files?pageSize=2'), bind(...shards), deps);
    const body = (await res.json()) as ListingPageBody;
    expect(decodeListCursor(body.nextPageToken ?? '')).toMatchObject({ shard: 0 });
    expect(shards[1]?.seen).toHaveLength(0);
  });

  it("passes a shard's error as it sent it, on the first page and on a followed one", async () => {
    const refused = (): Promise<Response> =>
      Promise.resolve(Response.json({ error: { code: 'invalid_api_key' } }, { status: 401 }));
    const first = [backend(refused), lister(1, ['b'])];
    const { deps } = harness();
    const res = await routeRequest(get('/v1beta/files'), bind(...first), deps);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: 'invalid_api_key' } });
    expect(first[1]?.seen).toHaveLength(0);

    const failing = (): Promise<Response> => Promise.resolve(new Response('upstream broke', { status: 502 }));
    const followed = [lister(0, []), backend(failing)];
    const { deps: deps2, logs } = harness();
    const res2 = await routeRequest(get('/v1beta/files'), bind(...followed), deps2);
    expect([res2.status, await res2.text()]).toEqual([502, 'upstream broke']);
    expect(logs[0]).toMatchObject({ shard: 1, status: 502, attempts: 2, asked: [0, 1] });
  });

  it('keeps the token when a shard asked ahead fails, so the next page meets the error', async () => {
    const shards = [lister(0, ['a']), backend(() => Promise.resolve(new Response('down', { status: 503 })))];
    const { deps } = harness();
    const res = await routeRequest(get('/v1beta/files'), bind(...shards), deps);
    const body = (await res.json()) as ListingPageBody;
    expect(body.files).toEqual([{ name: 'a' }]);
    expect(decodeListCursor(body.nextPageToken ?? '')).toEqual({ shard: 1, key: 1 });

    const throwing = [lister(0, ['a']), backend(() => Promise.reject(new Error('shard crashed')))];
    const res2 = await routeRequest(get('/v1beta/files'), bind(...throwing), harness().deps);
    expect(((await res2.json()) as ListingPageBody).nextPageToken).toBeDefined();
  });

  it('answers 502 when a followed shard throws', async () => {
    const shards = [lister(0, []), backend(() => Promise.reject(new Error('internal detail')))];
    const { deps, logs } = harness();
    const res = await routeRequest(get('/v1beta/files'), bind(...shards), deps);
    expect(res.status).toBe(502);
    expect(await res.text()).not.toContain('internal detail');
    expect(logs[0]).toMatchObject({ shard: 1, status: 502, error: 'shard_error', asked: [0, 1] });
  });

  it(`calls at most ${MAX_LISTING_SHARD_CALLS} shards, then passes the page read last with its token`, async () => {
    const count = MAX_LISTING_SHARD_CALLS + 9;
    const empties = Array.from({ length: count }, (_, shard) => lister(shard, []));
    const { deps, logs } = harness();
    const res = await routeRequest(get('/v1beta/files'), bind(...empties), deps);
    const body = (await res.json()) as ListingPageBody;
    expect(body.files).toEqual([]);
    expect(decodeListCursor(body.nextPageToken ?? '')).toEqual({ shard: MAX_LISTING_SHARD_CALLS, key: 1 });
    expect(empties.filter((s) => s.seen.length > 0)).toHaveLength(MAX_LISTING_SHARD_CALLS);
    expect(logs[0]).toMatchObject({ shard: MAX_LISTING_SHARD_CALLS - 1, attempts: MAX_LISTING_SHARD_CALLS });

    // a look-ahead stops at the same bound and keeps the page's token
    const ahead = [lister(0, ['a']), ...empties.slice(1).map((_, i) => lister(i + 1, []))];
    const res2 = await routeRequest(get('/v1beta/files'), bind(...ahead), harness().deps);
    const body2 = (await res2.json()) as ListingPageBody;
    expect(body2.files).toEqual([{ name: 'a' }]);
    expect(decodeListCursor(body2.nextPageToken ?? '')).toEqual({ shard: 1, key: 1 });
    expect(ahead.filter((s) => s.seen.length > 0)).toHaveLength(MAX_LISTING_SHARD_CALLS);
  });

  it('passes a reply past the read bound as it came, without reading it whole', async () => {
    const token = encodeListCursor({ shard: 1, key: 1 });
    const text = `{"files":[],"padding":"${'x'.repeat(LISTING_READ_MAX_BYTES)}","nextPageToken":"${token}"}`;
    const bytes = new TextEncoder().encode(text);
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += 65_536) controller.enqueue(bytes.slice(at, at + 65_536));
        controller.close();
      },
    });
    const shards = [
      backend(() => Promise.resolve(new Response(chunked, { headers: { 'content-type': 'application/json' } }))),
      lister(1, ['b']),
    ];
    const res = await routeRequest(get('/v1beta/files'), bind(...shards), harness().deps);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    expect(shards[1]?.seen).toHaveLength(0);
  });

  it('passes a reply that is not a JSON listing as it came', async () => {
    const shards = [
      backend(() => Promise.resolve(new Response('plain text', { headers: { 'content-type': 'text/plain' } }))),
    ];
    const { deps } = harness();
    const res = await routeRequest(get('/v1beta/files'), bind(...shards), deps);
    expect(await res.text()).toBe('plain text');
  });
});
