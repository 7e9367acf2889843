import { decodeListCursor, type ListCursor } from '../../../../../workers/shared/owner-tag';
import {
  type KeyPage,
  MAX_LIST_CALLS,
  SCAN_PAGE_SIZE,
  walkListing,
} from '../../../../../workers/shard/surfaces/resources/listing';

/** A stubbed Google: each key holds `counts[key]` items, listed `pageSize` at a time with numeric page tokens. */
function stubGoogle(counts: Readonly<Record<number, number>>) {
  const calls: { key: number; pageToken: string | undefined; pageSize: number }[] = [];
  const list = async (key: number, pageToken: string | undefined, pageSize: number): Promise<KeyPage<string>> => {
    calls.push({ key, pageToken, pageSize });
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

/** Pages through the whole listing, shard after shard, as a client would. */
async function listAll(keysByShard: readonly Readonly<Record<number, number>>[], pageSize: number) {
  const items: unknown[] = [];
  const pageLengths: number[] = [];
  let cursor: ListCursor | undefined;
  let maxCalls = 0;
  for (let page = 0; page < 100; page++) {
    const shard = cursor?.shard ?? 0;
    const counts = keysByShard[shard] ?? {};
    const google = stubGoogle(counts);
    const result = await walkListing({
      shard,
      ...(cursor ? { cursor } : {}),
      keys: Object.keys(counts).map(Number),
      ...(shard + 1 < keysByShard.length ? { nextShard: shard + 1 } : {}),
      pageSize,
      list: google.list,
    });
    if (result.kind !== 'page') throw new Error('unexpected failure');
    maxCalls = Math.max(maxCalls, google.calls.length);
    items.push(...result.items.map((i) => i.item));
    pageLengths.push(result.items.length);
    if (result.nextPageToken === undefined) return { items, pageLengths, maxCalls };
    cursor = decodeListCursor(result.nextPageToken);
    if (cursor === undefined) throw new Error('the walk issued a token it cannot read back');
  }
  throw new Error('the listing never ended');
}

const tokenOf = (page: Awaited<ReturnType<typeof walkListing>>): ListCursor | undefined =>
  page.kind === 'page' && page.nextPageToken !== undefined ? decodeListCursor(page.nextPageToken) : undefined;

describe('walkListing', () => {
  it('lists every key of every shard exactly once, in key order, in full pages of pageSize', async () => {
    const { items, pageLengths } = await listAll(
      [
        { 1: 3, 2: 0, 3: 5 },
        { 1: 0, 2: 2 },
      ],
      2,
    );
    expect(items).toEqual(['k1-0', 'k1-1', 'k1-2', 'k3-0', 'k3-1', 'k3-2', 'k3-3', 'k3-4', 'k2-0', 'k2-1']);
    expect(pageLengths).toEqual([2, 2, 2, 2, 2]);
  });

  it('hands out no nextPageToken when nothing follows, so no page is ever empty on a worker that stands alone', async () => {
    const cases: Readonly<Record<number, number>>[] = [
      { 1: 2 },
      { 1: 2, 2: 0, 3: 0 },
      { 1: 1, 2: 1 },
      { 1: 0, 2: 4, 3: 0 },
    ];
    for (const counts of cases) {
      const { pageLengths } = await listAll([counts], 2);
      expect(pageLengths.every((n) => n > 0)).toBe(true);
    }
  });

  it("resumes a key with Google's own page token, asking only for the room left on the page", async () => {
    const google = stubGoogle({ 1: 3, 2: 1 });
    const first = await walkListing({ shard: 0, keys: [1, 2], pageSize: 2, list: google.list });
    expect(first).toMatchObject({
      kind: 'page',
      items: [
        { key: 1, item: 'k1-0' },
        { key: 1, item: 'k1-1' },
      ],
    });
    const cursor = tokenOf(first);
    expect(cursor).toEqual({ shard: 0, key: 1, pageToken: '2' });
    const second = await walkListing({
      shard: 0,
      keys: [1, 2],
      pageSize: 2,
      list: google.list,
      ...(cursor ? { cursor } : {}),
    });
    expect(second).toMatchObject({
      items: [
        { key: 1, item: 'k1-2' },
        { key: 2, item: 'k2-0' },
      ],
    });
    expect(tokenOf(second)).toBeUndefined();
    expect(google.calls).toEqual([
      { key: 1, pageToken: undefined, pageSize: 2 },
      { key: 1, pageToken: '2', pageSize: 2 },
      { key: 2, pageToken: undefined, pageSize: 1 },
    ]);
  });

  it('bounds the Google calls of one page and goes on where it stopped', async () => {
    const keyCount = MAX_LIST_CALLS + 6;
    const counts = Object.fromEntries(Array.from({ length: keyCount }, (_, i) => [i + 1, i === keyCount - 1 ? 1 : 0]));
    const google = stubGoogle(counts);
    const page = await walkListing({
      shard: 0,
      keys: Object.keys(counts).map(Number),
      pageSize: 10,
      list: google.list,
    });
    expect(google.calls).toHaveLength(MAX_LIST_CALLS);
    expect(tokenOf(page)).toEqual({ shard: 0, key: MAX_LIST_CALLS + 1 });
    const all = await listAll([counts], 10);
    expect(all.items).toEqual([`k${keyCount}-0`]);
    expect(all.maxCalls).toBeLessThanOrEqual(MAX_LIST_CALLS);
  });

  it('ends the listing after the last key of a worker that stands alone, and hands on to the next shard otherwise', async () => {
    const alone = await walkListing({ shard: 0, keys: [1], pageSize: 5, list: stubGoogle({ 1: 1 }).list });
    expect(alone).toEqual({ kind: 'page', items: [{ key: 1, item: 'k1-0' }], calls: 1 });
    const sharded = await walkListing({
      shard: 3,
      keys: [1],
      nextShard: 4,
      pageSize: 5,
      list: stubGoogle({ 1: 1 }).list,
    });
    expect(tokenOf(sharded)).toEqual({ shard: 4, key: 1 });
  });

  it('starts at the cursor key, skipping the keys before it', async () => {
    const google = stubGoogle({ 1: 5, 4: 1 });
    await walkListing({ shard: 0, keys: [1, 4], cursor: { shard: 0, key: 2 }, pageSize: 5, list: google.list });
    expect(google.calls).toEqual([{ key: 4, pageToken: undefined, pageSize: 5 }]);
  });

  it("passes a key's failure on and stops", async () => {
    const page = await walkListing<string>({
      shard: 0,
      keys: [1, 2],
      pageSize: 5,
      list: async () => ({ kind: 'failed', failure: 'google said no' }),
    });
    expect(page).toEqual({ kind: 'failed', failure: 'google said no', calls: 1 });
  });
});

describe('walkListing of one client (keep)', () => {
  /** A stubbed Google whose key `k` holds items `k<k>-<i>`; the client's own are the items whose index `mine` accepts. */
  function scattered(counts: Readonly<Record<number, number>>, mine: (key: number, i: number) => boolean) {
    const google = stubGoogle(counts);
    const keep = (item: unknown): boolean => {
      const [, key, i] = /^k(\d+)-(\d+)$/.exec(String(item)) ?? [];
      return mine(Number(key), Number(i));
    };
    return { ...google, keep };
  }

  /** Pages through one shard's listing with `keep`, as a client on a worker that stands alone would. */
  async function listKept(
    counts: Readonly<Record<number, number>>,
    mine: (key: number, i: number) => boolean,
    size: number,
  ) {
    const google = scattered(counts, mine);
    const items: unknown[] = [];
    const pageLengths: number[] = [];
    let cursor: ListCursor | undefined;
    for (let page = 0; page < 200; page++) {
      const before = google.calls.length;
      const result = await walkListing({
        shard: 0,
        ...(cursor ? { cursor } : {}),
        keys: Object.keys(counts).map(Number),
        pageSize: size,
        list: google.list,
        keep: google.keep,
      });
      if (result.kind !== 'page') throw new Error('unexpected failure');
      expect(google.calls.length - before).toBeLessThanOrEqual(MAX_LIST_CALLS);
      items.push(...result.items.map((i) => i.item));
      pageLengths.push(result.items.length);
      if (result.nextPageToken === undefined) return { items, pageLengths, calls: google.calls };
      cursor = decodeListCursor(result.nextPageToken);
    }
    throw new Error('the listing never ended');
  }

  it("lists each of the client's items once, in full pages, skipping Google pages that hold none of them", async () => {
    const counts = { 1: 7, 2: 0, 3: 9, 4: 3 };
    const mine = (key: number, i: number) => (key * 7 + i) % 3 === 0;
    const { items, pageLengths } = await listKept(counts, mine, 2);
    const expected = Object.entries(counts).flatMap(([key, n]) =>
      Array.from({ length: n }, (_, i) => i)
        .filter((i) => mine(Number(key), i))
        .map((i) => `k${key}-${i}`),
    );
    expect(items).toEqual(expected);
    expect(pageLengths.slice(0, -1).every((n) => n === 2)).toBe(true);
    expect(pageLengths.every((n) => n > 0)).toBe(true);
  });

  it('ends without a nextPageToken when the rest of the shard holds nothing of the client, however much it holds', async () => {
    const { pageLengths } = await listKept({ 1: 3, 2: 40 }, (key, i) => key === 1 && i < 2, 2);
    expect(pageLengths).toEqual([2]);
    const none = await listKept({ 1: 5, 2: 5 }, () => false, 3);
    expect(none.items).toEqual([]);
    expect(none.pageLengths).toEqual([0]);
  });

  it('scans a hundred items a call, so one item among hundreds of others costs a page of few calls', async () => {
    const { items, pageLengths, calls } = await listKept({ 1: 250 }, (_key, i) => i === 150, 2);
    expect(items).toEqual(['k1-150']);
    expect(pageLengths).toEqual([1]);
    expect(calls.map((c) => c.pageSize)).toEqual([SCAN_PAGE_SIZE, SCAN_PAGE_SIZE, SCAN_PAGE_SIZE]);
  });

  it('asks again for the room left when a scanned Google page holds more of the client’s items than fit', async () => {
    const { items, pageLengths, calls } = await listKept({ 1: 5 }, () => true, 2);
    expect(items).toEqual(['k1-0', 'k1-1', 'k1-2', 'k1-3', 'k1-4']);
    expect(pageLengths).toEqual([2, 2, 1]);
    expect(calls[0]).toEqual({ key: 1, pageToken: undefined, pageSize: SCAN_PAGE_SIZE });
    expect(calls[1]).toEqual({ key: 1, pageToken: undefined, pageSize: 2 });
  });

  it('goes on where it stopped when the calls of one page run out amid items of others', async () => {
    const count = MAX_LIST_CALLS * SCAN_PAGE_SIZE + 300;
    const { items, pageLengths } = await listKept({ 1: count }, (_key, i) => i === count - 10, 2);
    expect(items).toEqual([`k1-${count - 10}`]);
    // the first page came back empty, with a token: the orchestrator follows such a page
    expect(pageLengths).toEqual([0, 1]);
  });

  it('matches the unfiltered walk of the kept items for any scattering (property)', async () => {
    const fc = (await import('fast-check')).default;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 1000 }),
        async (sizes, pageSize, seed) => {
          const counts = Object.fromEntries(sizes.map((n, i) => [i + 1, n]));
          const mine = (key: number, i: number) => (key * 31 + i * 17 + seed) % 5 < 2;
          const { items } = await listKept(counts, mine, pageSize);
          const expected = sizes.flatMap((n, k) =>
            Array.from({ length: n }, (_, i) => i)
              .filter((i) => mine(k + 1, i))
              .map((i) => `k${k + 1}-${i}`),
          );
          expect(items).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});
