/**
 * Resources once per project, driven through the handler in-process against a stub Google that keeps cached contents
 * per project (as Google does): a resource is named by its project's representative key whichever key created it,
 * a listing asks one key per project (a project split across shards is listed by the shard holding its first key),
 * any key of the owning project that is not cooling or removed serves a call on it, and a tag naming another key of
 * the project still leads there.
 */
import { handleRequest, type HandlerDeps } from '../../../../../workers/shard/edge/handler';
import { ANY_MODEL, KeyPool } from '../../../../../workers/shard/core/key-pool';
import { keyFingerprint } from '../../../../../workers/shard/surfaces/resources/owner-keys';
import { parseTaggedId, tagId } from '../../../../../workers/shared/owner-tag';
import { defined } from '../../../../helpers/guards';
import { seeded } from '../../../../helpers/seeded-random';
import { gatewayReason } from '../../../../helpers/google-errors';

const PASS = 'resources-projects-pass';
const START = Date.parse('2026-06-15T10:00:00Z');
const keyValue = (global: number) => `resources-projects-key-${global}`;

/** The shard's env: its keys as KEY1..KEYn with their global numbers, the pool's labels, and its index if a shard. */
function env(labels: readonly string[], held: readonly number[], shard?: { index: number; perShard: number }) {
  return {
    PASS,
    GEMINI_BASE_URL: 'http://gemini.test',
    KEY_PROJECTS: labels.join(','),
    ...Object.fromEntries(held.map((global, i) => [`KEY${i + 1}`, keyValue(global)])),
    ...(shard !== undefined ? { SHARD_INDEX: String(shard.index), KEYS_PER_SHARD: String(shard.perShard) } : {}),
  };
}

/** A Google that keeps cached contents per project: any key of the project sees them, another project's is a 403. */
function projectGoogle(labels: readonly string[]) {
  const store = new Map<string, { name: string; project: string }>();
  const calls: { key: number; method: string; path: string }[] = [];
  const projectOf = (key: number) => defined(labels[key - 1], `the label of key ${key}`);
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const fetch: HandlerDeps['fetch'] = async (url, init) => {
    const { pathname } = new URL(url);
    const key = Number(/-(\d+)$/.exec(new Headers(init.headers).get('x-goog-api-key') ?? '')?.[1]);
    const method = init.method ?? 'GET';
    calls.push({ key, method, path: pathname });
    const project = projectOf(key);
    if (method === 'POST' && pathname === '/upload/v1beta/files') {
      const uploadId = new URL(url).searchParams.get('upload_id');
      if (uploadId === null) {
        const upload = `https://gemini.test/upload/v1beta/files?upload_id=up${key}&upload_protocol=resumable`;
        return new Response('{}', { status: 200, headers: { 'x-goog-upload-url': upload } });
      }
      return json(200, {
        file: { name: 'files/f1', uri: 'https://generativelanguage.googleapis.com/v1beta/files/f1' },
      });
    }
    if (method === 'POST' && pathname === '/v1beta/cachedContents') {
      const name = `cachedContents/c${store.size + 1}`;
      store.set(name, { name, project });
      return json(200, { name, model: 'models/gemini-3.8-flash' });
    }
    if (method === 'GET' && pathname === '/v1beta/cachedContents') {
      const mine = [...store.values()].filter((c) => c.project === project).map((c) => ({ name: c.name }));
      return json(200, { cachedContents: mine });
    }
    const item = store.get(pathname.replace('/v1beta/', ''));
    if (item?.project === project) return json(200, { name: item.name });
    return json(403, { error: { code: 403, message: 'You do not have permission', status: 'PERMISSION_DENIED' } });
  };
  return { fetch, calls, store };
}

function harness(labels: readonly string[], bindings: Record<string, string>) {
  const google = projectGoogle(labels);
  const deps: HandlerDeps = {
    now: () => START,
    random: seeded(5),
    randomUUID: () => 'req',
    sleep: async () => false,
    log: () => undefined,
    pool: new KeyPool(),
    fetch: google.fetch,
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await handleRequest(
      new Request(`http://worker.test${path}`, {
        method,
        headers: { 'x-goog-api-key': PASS },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
      bindings,
      deps,
    );
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return { ...google, deps, call };
}

const tagOf = (name: unknown) => parseTaggedId(String(name).replace('cachedContents/', ''))?.owner;

// one project of three keys and one of one, on a worker that stands alone
const LABELS = ['a', 'a', 'a', 'b'];

describe('resources once per project', () => {
  it('names every resource of a project by its first key, whichever of its keys created it', async () => {
    const h = harness(LABELS, env(LABELS, [1, 2, 3, 4]));
    const creators = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const created = await h.call('POST', '/v1beta/cachedContents', { model: 'models/gemini-3.8-flash' });
      expect(created.status).toBe(200);
      creators.add(defined(h.calls.at(-1), 'a call').key);
      expect([1, 4]).toContain(tagOf(created.json.name)?.key);
    }
    // keys 2 and 3 created some of them, yet no name says so
    expect([...creators].some((k) => k === 2 || k === 3)).toBe(true);
  });

  it('lists with one key per project, each resource once', async () => {
    const h = harness(LABELS, env(LABELS, [1, 2, 3, 4]));
    for (let i = 0; i < 6; i++) await h.call('POST', '/v1beta/cachedContents', { model: 'models/gemini-3.8-flash' });
    h.calls.length = 0;
    const listed = await h.call('GET', '/v1beta/cachedContents?pageSize=50');
    expect(listed.status).toBe(200);
    expect(h.calls).toHaveLength(2);
    const names = (listed.json.cachedContents as { name: string }[]).map((c) => c.name);
    expect(names).toHaveLength(6);
    expect(new Set(names.map((n) => n.replace(/z0k\d[a-z]{4}-/, '')))).toEqual(new Set(h.store.keys()));
    for (const name of names) expect([1, 4]).toContain(tagOf(name)?.key);
  });

  it('serves a call with any key of the owning project that is not cooling or removed, and an old tag of another of its keys', async () => {
    const h = harness(LABELS, env(LABELS, [1, 2, 3, 4]));
    let created = await h.call('POST', '/v1beta/cachedContents', { model: 'models/gemini-3.8-flash' });
    // a resource of project a (the draw may give b first)
    while (tagOf(created.json.name)?.key !== 1) {
      created = await h.call('POST', '/v1beta/cachedContents', { model: 'models/gemini-3.8-flash' });
    }
    const googleName = defined(parseTaggedId(String(created.json.name).replace('cachedContents/', '')), 'a tag');
    // the project's representative is cooling and its second key removed: the third serves
    h.deps.pool.coolDown(1, ANY_MODEL, { until: START + 60_000, reason: 'quota-minute' });
    h.deps.pool.remove(2, 'API_KEY_INVALID');
    h.calls.length = 0;
    const got = await h.call('GET', `/v1beta/${created.json.name}`);
    expect(got.status).toBe(200);
    expect(h.calls.map((c) => c.key)).toEqual([3]);
    // a tag naming key 2 (handed out before the project was declared) still leads to the project, named as it is now
    const old = tagId({ shard: 0, key: 2, fingerprint: await keyFingerprint(keyValue(2)) }, googleName.googleId);
    const again = await h.call('GET', `/v1beta/cachedContents/${old}`);
    expect(again.status).toBe(200);
    expect(again.json.name).toBe(created.json.name);
  });

  it('answers owner_key_removed only once every key of the project is removed', async () => {
    const h = harness(['a', 'a'], env(['a', 'a'], [1, 2]));
    const created = await h.call('POST', '/v1beta/cachedContents', { model: 'models/gemini-3.8-flash' });
    h.deps.pool.remove(1, 'API_KEY_INVALID');
    expect((await h.call('GET', `/v1beta/${created.json.name}`)).status).toBe(200);
    h.deps.pool.remove(2, 'API_KEY_INVALID');
    const gone = await h.call('GET', `/v1beta/${created.json.name}`);
    expect(gone.status).toBe(410);
    expect(gatewayReason(gone.json)).toBe('owner_key_removed');
  });

  it('takes tags of different keys of one project in one body as one owner', async () => {
    const h = harness(LABELS, env(LABELS, [1, 2, 3, 4]));
    const tag = async (key: number, id: string) =>
      tagId({ shard: 0, key, fingerprint: await keyFingerprint(keyValue(key)) }, id);
    const body = {
      cachedContent: `cachedContents/${await tag(1, 'c1')}`,
      contents: [{ role: 'user', parts: [{ fileData: { fileUri: `files/${await tag(2, 'f1')}` } }] }],
    };
    const res = await h.call('POST', '/v1beta/models/gemini-3.8-flash:generateContent', body);
    expect(res.json).not.toMatchObject({ error: { code: 'mixed_resource_owners' } });
    expect([1, 2, 3]).toContain(h.calls.at(-1)?.key);
    const mixed = { ...body, cachedContent: `cachedContents/${await tag(4, 'c2')}` };
    const refused = await h.call('POST', '/v1beta/models/gemini-3.8-flash:generateContent', mixed);
    expect(gatewayReason(refused.json)).toBe('mixed_resource_owners');
  });

  it('keeps an upload session on the key Google opened it for, and names the file it makes for the project', async () => {
    const h = harness(LABELS, env(LABELS, [1, 2, 3, 4]));
    const start = async () => {
      const res = await handleRequest(
        new Request('http://worker.test/upload/v1beta/files', {
          method: 'POST',
          headers: { 'x-goog-api-key': PASS, 'x-goog-upload-protocol': 'resumable', 'x-goog-upload-command': 'start' },
          body: JSON.stringify({ file: { displayName: 'report' } }),
        }),
        env(LABELS, [1, 2, 3, 4]),
        h.deps,
      );
      return { url: new URL(defined(res.headers.get('x-goog-upload-url'), 'an upload URL')), key: h.calls.at(-1)?.key };
    };
    let session = await start();
    while (session.key !== 2 && session.key !== 3) session = await start();
    const sessionTag = defined(
      parseTaggedId(defined(session.url.searchParams.get('upload_id'), 'an upload id')),
      'a tag',
    );
    expect(sessionTag.owner.key).toBe(session.key);
    h.calls.length = 0;
    const done = await handleRequest(
      new Request(`http://worker.test${session.url.pathname}${session.url.search}`, {
        method: 'POST',
        headers: { 'x-goog-api-key': PASS, 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' },
        body: 'bytes',
      }),
      env(LABELS, [1, 2, 3, 4]),
      h.deps,
    );
    expect(done.status).toBe(200);
    expect(h.calls.map((c) => c.key)).toEqual([session.key]);
    const file = ((await done.json()) as { file: { name: string } }).file;
    expect(parseTaggedId(file.name.replace('files/', ''))?.owner.key).toBe(1);
  });

  it('lists a project split across shards only on the shard holding its first key', async () => {
    // five keys of project a and one of b, four keys per shard: shard 0 holds a's first four, shard 1 a's fifth and b
    const labels = ['a', 'a', 'a', 'a', 'a', 'b'];
    const shard1 = harness(labels, env(labels, [5, 6], { index: 1, perShard: 4 }));
    const listed = await shard1.call('GET', '/v1beta/cachedContents');
    expect(listed.status).toBe(200);
    expect(shard1.calls.map((c) => c.key)).toEqual([6]);
    const shard0 = harness(labels, env(labels, [1, 2, 3, 4], { index: 0, perShard: 4 }));
    await shard0.call('GET', '/v1beta/cachedContents');
    expect(shard0.calls).toHaveLength(1);
  });
});
