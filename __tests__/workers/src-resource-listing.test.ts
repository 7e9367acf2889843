import { decodeListCursor, type ListCursor } from '../../workers/shared/owner-tag';
import { type KeyPage, MAX_LIST_CALLS, walkListing } from '../../workers/src/resource-listing';

/** A stubbed Google: each key holds `counts[key]` items, listed `pageSize` at a time with numeric page tokens. */
function stubGoogle(counts: Readonly<Record<number, number>>, pageSize: number) {
  const calls: { key: number; pageToken: string | undefined }[] = [];
  const list = async (key: number, pageToken: string | undefined): Promise<KeyPage<string>> => {
    calls.push({ key, pageToken });
    const total = counts[key] ?? 0;
    const start = pageToken === undefined ? 0 : Number(pageToken);
    const items = Array.from(
      { length: Math.max(0, Math.min(pageSize, total - start)) },
      (_, i) => `k${key}-${start + i}`,
    );
    const next = start + pageSize < total ? { nextPageToken: String(start + pageSize) } : {};
    return { kind: 'page', items, ...next };
  };
  return { calls, list };
}

/** Pages through the whole listing of one shard (and on to the next when `shards` > 1), as a client would. */
async function listAll(keysByShard: readonly Readonly<Record<number, number>>[], pageSize: number) {
  const items: unknown[] = [];
  const pageLengths: number[] = [];
  let cursor: ListCursor | undefined;
  let googleCalls = 0;
  for (let page = 0; page < 100; page++) {
    const shard = cursor?.shard ?? 0;
    const counts = keysByShard[shard] ?? {};
    const google = stubGoogle(counts, pageSize);
    const result = await walkListing({
      shard,
      ...(cursor ? { cursor } : {}),
      keys: Object.keys(counts).map(Number),
      ...(shard + 1 < keysByShard.length ? { nextShard: shard + 1 } : {}),
      list: google.list,
    });
    if (result.kind !== 'page') throw new Error('unexpected failure');
    googleCalls += google.calls.length;
    items.push(...result.items);
    pageLengths.push(result.items.length);
    if (result.nextPageToken === undefined) return { items, pageLengths, googleCalls };
    cursor = decodeListCursor(result.nextPageToken);
    if (cursor === undefined) throw new Error('the walk issued a token it cannot read back');
  }
  throw new Error('the listing never ended');
}

describe('walkListing', () => {
  it('lists every key of every shard exactly once, in key order, in pages of at most pageSize', async () => {
    const { items, pageLengths } = await listAll(
      [
        { 1: 3, 2: 0, 3: 5 },
        { 1: 0, 2: 2 },
      ],
      2,
    );
    expect(items).toEqual(['k1-0', 'k1-1', 'k1-2', 'k3-0', 'k3-1', 'k3-2', 'k3-3', 'k3-4', 'k2-0', 'k2-1']);
    expect(Math.max(...pageLengths)).toBeLessThanOrEqual(2);
  });

  it("resumes a key with Google's own page token, and moves to the next key when that key's listing ends", async () => {
    const google = stubGoogle({ 1: 3, 2: 1 }, 2);
    const first = await walkListing({ shard: 0, keys: [1, 2], list: google.list });
    expect(first).toMatchObject({ kind: 'page', key: 1, items: ['k1-0', 'k1-1'] });
    const cursor = decodeListCursor(first.kind === 'page' ? (first.nextPageToken ?? '') : '');
    expect(cursor).toEqual({ shard: 0, key: 1, pageToken: '2' });
    const second = await walkListing({ shard: 0, keys: [1, 2], list: google.list, ...(cursor ? { cursor } : {}) });
    expect(second).toMatchObject({ kind: 'page', key: 1, items: ['k1-2'] });
    expect(decodeListCursor(second.kind === 'page' ? (second.nextPageToken ?? '') : '')).toEqual({ shard: 0, key: 2 });
    expect(google.calls).toEqual([
      { key: 1, pageToken: undefined },
      { key: 1, pageToken: '2' },
    ]);
  });

  it('skips empty keys within the call bound and hands on where it stopped', async () => {
    const counts = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [i + 1, i === 19 ? 1 : 0]));
    const google = stubGoogle(counts, 10);
    const page = await walkListing({ shard: 0, keys: Object.keys(counts).map(Number), list: google.list });
    expect(google.calls).toHaveLength(MAX_LIST_CALLS);
    expect(page).toMatchObject({ kind: 'page', items: [] });
    expect(decodeListCursor(page.kind === 'page' ? (page.nextPageToken ?? '') : '')).toEqual({
      shard: 0,
      key: MAX_LIST_CALLS + 1,
    });
    // the whole listing still arrives, every page within the bound
    const all = await listAll([counts], 10);
    expect(all.items).toEqual(['k20-0']);
  });

  it('ends the listing after the last key of a worker that stands alone, and hands on to the next shard otherwise', async () => {
    const alone = await walkListing({ shard: 0, keys: [1], list: stubGoogle({ 1: 1 }, 5).list });
    expect(alone).toEqual({ kind: 'page', key: 1, items: ['k1-0'], calls: 1 });
    const sharded = await walkListing({ shard: 3, keys: [1], nextShard: 4, list: stubGoogle({ 1: 1 }, 5).list });
    expect(decodeListCursor(sharded.kind === 'page' ? (sharded.nextPageToken ?? '') : '')).toEqual({
      shard: 4,
      key: 1,
    });
  });

  it('starts at the cursor key, skipping the keys before it', async () => {
    const google = stubGoogle({ 1: 5, 4: 1 }, 5);
    await walkListing({ shard: 0, keys: [1, 4], cursor: { shard: 0, key: 2 }, list: google.list });
    expect(google.calls).toEqual([{ key: 4, pageToken: undefined }]);
  });

  it("passes a key's failure on and stops", async () => {
    const page = await walkListing<string>({
      shard: 0,
      keys: [1, 2],
      list: async () => ({ kind: 'failed', failure: 'google said no' }),
    });
    expect(page).toEqual({ kind: 'failed', failure: 'google said no', calls: 1 });
  });
});
