/**
 * The OpenAI-compatible files and batches through a standalone shard worker (the preview's shape), driven by the real
 * `openai` SDK against the fake Gemini, whose compat ids are Google's native names (`files/<id>`, `batches/<id>`):
 * every id the SDK sees carries the owner tag (and reaches the gateway percent-encoded), every call on a file or
 * batch reaches its owning key, and no key appears in any reply or log line.
 */
import OpenAI, { toFile } from 'openai';
import { formatOwnerTag, parseTaggedId } from '../../../../../workers/shared/owner-tag';
import { keyFingerprint } from '../../../../../workers/shard/surfaces/resources/owner-keys';
import { matchRoute } from '../../../../../workers/shard/surfaces/registry';
import { tagCompatIds } from '../../../../../workers/shard/surfaces/resources/compat';
import { defined } from '../../../../helpers/guards';
import { startShardWorker, type ShardWorkerHarness } from '../../../../helpers/shard-worker';

const KEYS = [
  'AIzaCANARY-compat-key-one-000001',
  'AIzaCANARY-compat-key-two-000002',
  'AIzaCANARY-compat-key-three-0003',
];
const PASS = 'compat-resources-test-password';
const JSONL = ['one', 'two', 'three']
  .map(
    (id) =>
      `${JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gemini-3.8-flash', messages: [{ role: 'user', content: id }] } })}\n`,
  )
  .join('');

let h: ShardWorkerHarness;
let openai: OpenAI;
let tags: string[];

beforeAll(async () => {
  h = await startShardWorker({ keys: KEYS, pass: PASS });
  openai = new OpenAI({ apiKey: PASS, baseURL: `${h.url}/v1`, maxRetries: 0, fetch: (u, i) => fetch(u, i) });
  tags = await Promise.all(
    KEYS.map(async (k, i) => formatOwnerTag({ shard: 0, key: i + 1, fingerprint: await keyFingerprint(k) })),
  );
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

/** The key a tagged id (`files/<tagged>` or bare) names, and Google's id behind it. */
function owned(id: string): { key: string; google: string } {
  const slash = id.indexOf('/');
  const tagged = defined(parseTaggedId(id.slice(slash + 1)), `a tagged id, got ${id}`);
  return {
    key: defined(KEYS[tagged.owner.key - 1], `key ${tagged.owner.key}`),
    google: `${id.slice(0, slash + 1)}${tagged.googleId}`,
  };
}

function expectNoKeyIn(text: string): void {
  for (const key of KEYS) expect(text).not.toContain(key);
}

async function upload(name = 'input.jsonl'): Promise<OpenAI.FileObject> {
  return openai.files.create({ file: await toFile(Buffer.from(JSONL), name), purpose: 'batch' });
}

describe('OpenAI-compatible files and batches with the openai SDK', () => {
  it('uploads, batches, polls and reads the output, every call on the owning key', async () => {
    const file = await upload();
    expect(file.id).toMatch(/^files\/z0k[1-3][a-z]{4}-[a-z0-9]+$/);
    expect(tags).toContain(file.id.slice('files/'.length, file.id.indexOf('-')));
    const { key: owner, google } = owned(file.id);
    expect(h.fake.resourceOwner(google)).toBe(owner);

    for (let i = 0; i < 3; i++) {
      const batch = await openai.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      expect(batch.id).toMatch(/^batches\/z0k[1-3][a-z]{4}-/);
      expect(batch.input_file_id).toBe(file.id);
      expect(owned(batch.id).key).toBe(owner);
      let done = await openai.batches.retrieve(batch.id);
      for (let polls = 0; done.status !== 'completed' && polls < 5; polls++)
        done = await openai.batches.retrieve(batch.id);
      expect(done.status).toBe('completed');
      const output = defined(done.output_file_id, 'output file id');
      expect(owned(output).key).toBe(owner);
      const lines = (await (await openai.files.content(output)).text()).trim().split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id)).toEqual(['one', 'two', 'three']);
    }
    const resourceCalls = h.fake.calls.filter((c) => /^\/v1beta\/openai\/(files|batches)/.test(c.path));
    expect(resourceCalls).toHaveLength(1 + 3 * 3);
    expect(new Set(resourceCalls.map((c) => c.apiKey))).toEqual(new Set([owner]));
    // Google saw its own ids only, the slash of a name encoded as the SDK sends it to Google
    for (const call of resourceCalls) expect(`${call.path}${call.body}`).not.toMatch(/z0k[0-9]/);
    expect(resourceCalls.some((c) => c.path.startsWith('/v1beta/openai/batches/batches%2F'))).toBe(true);
    expect(resourceCalls.some((c) => /^\/v1beta\/openai\/files\/files%2F[a-z0-9]+\/content$/.test(c.path))).toBe(true);
  });

  it('cancels a batch and retrieves and deletes files on their key', async () => {
    const file = await upload();
    const { key: owner } = owned(file.id);
    const batch = await openai.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const cancelled = await openai.batches.cancel(batch.id);
    expect(cancelled.id).toBe(batch.id);
    expect(cancelled.status).toBe('cancelled');
    const got = await openai.files.retrieve(file.id);
    expect(got.id).toBe(file.id);
    expect(got.bytes).toBe(Buffer.byteLength(JSONL));
    const deleted = await openai.files.delete(file.id);
    expect(deleted).toMatchObject({ id: file.id, deleted: true });
    expect(h.fake.resourceOwner(owned(file.id).google)).toBeUndefined();
    expect(new Set(h.fake.calls.map((c) => c.apiKey))).toEqual(new Set([owner]));
  });

  it("lists every key's files, merged, in pages the SDK follows with after", async () => {
    const ids: string[] = [];
    // the pool picks keys at random: upload until two keys hold files, so the listing crosses a key
    for (let i = 0; i < 7 || (i < 40 && new Set(ids.map((id) => owned(id).key)).size < 2); i++) {
      ids.push((await upload(`f${i}.jsonl`)).id);
    }
    expect(new Set(ids.map((id) => owned(id).key)).size).toBeGreaterThan(1);
    const seen: string[] = [];
    for await (const f of openai.files.list({ limit: 2 })) seen.push(f.id);
    expect([...seen].sort()).toEqual([...ids].sort());
    const listCalls = h.fake.calls.filter((c) => c.path === '/v1beta/openai/files' && c.method === 'GET');
    for (const call of listCalls) expect(call.search).not.toMatch(/z0k[0-9]/);
  });

  it('refuses a forged tag with 404 and a wrong fingerprint with 410, calling no key, in the OpenAI shape', async () => {
    await expect(openai.files.retrieve('files/not-a-tagged-id')).rejects.toMatchObject({
      status: 404,
      code: 'unknown_resource_owner',
    });
    const wrong = `z0k1${tags[0] === 'z0k1zzzz' ? 'yyyy' : 'zzzz'}-abc`;
    await expect(openai.batches.retrieve(`batches/${wrong}`)).rejects.toMatchObject({
      status: 410,
      code: 'owner_key_gone',
    });
    await expect(openai.files.content(wrong)).rejects.toMatchObject({ status: 410, code: 'owner_key_gone' });
    // a batch whose input file carries no tag: no key of this gateway is known to hold it
    await expect(
      openai.batches.create({ input_file_id: 'files/abc', endpoint: '/v1/chat/completions', completion_window: '24h' }),
    ).rejects.toMatchObject({ status: 404, code: 'unknown_resource_owner' });
    // another shard's tag on a worker that stands alone
    await expect(openai.batches.cancel('z4k1abcd-abc')).rejects.toMatchObject({ status: 404 });
    expect(h.fake.calls).toHaveLength(0);
  });

  it("passes Google's refusal of another key's file as an OpenAI error, and leaks no key in replies or logs", async () => {
    const file = await upload();
    const { key: owner } = owned(file.id);
    // a tagged id whose Google id belongs to another key: the owner tag routes it, Google refuses it
    const other = defined(
      KEYS.findIndex((k) => k !== owner),
      'another key',
    );
    const otherTag = defined(tags[other], 'tag');
    const forgedOwner = `files/${otherTag}-${owned(file.id).google.slice('files/'.length)}`;
    const refused = await fetch(`${h.url}/v1/files/${encodeURIComponent(forgedOwner)}`, {
      headers: { authorization: `Bearer ${PASS}` },
    });
    expect(refused.status).toBe(403);
    const text = await refused.text();
    expect((JSON.parse(text) as { error: { message: string } }).error.message).toContain('permission');
    expectNoKeyIn(text);
    expectNoKeyIn(JSON.stringify(h.logs));
    expect(h.fake.calls.at(-1)?.apiKey).toBe(KEYS[other]);
  });
});

describe('routes and ids of the OpenAI-compatible surface', () => {
  const owner = { shard: 0, key: 2, fingerprint: 'qmfa' };

  it.each([
    ['GET', '/v1/files/files%2Fz0k2qmfa-abc', 'openai.files.get', '/v1beta/openai/files/files%2Fabc'],
    ['GET', '/v1/files/z0k2qmfa-abc/content', 'openai.files.content', '/v1beta/openai/files/abc/content'],
    ['DELETE', '/files/files/z0k2qmfa-abc', 'openai.files.delete', '/v1beta/openai/files/files%2Fabc'],
    [
      'GET',
      '/v1beta/openai/batches/batches%2fz0k2qmfa-b1',
      'openai.batches.get',
      '/v1beta/openai/batches/batches%2Fb1',
    ],
    ['POST', '/v1/batches/z0k2qmfa-b1/cancel', 'openai.batches.cancel', '/v1beta/openai/batches/b1/cancel'],
  ])('%s %s is %s on %s, in the shape the client used', (method, path, name, upstream) => {
    const match = matchRoute(method, path, new URLSearchParams());
    expect(match).toMatchObject({ kind: 'route', route: { name, surface: 'openai' } });
    const route = match.kind === 'route' ? match.route : undefined;
    expect(route && 'target' in route ? route.target : undefined).toMatchObject({
      kind: 'tagged',
      owner,
      upstreamPath: upstream,
    });
  });

  it.each([
    ['POST', '/v1/files/z0k2qmfa-abc'],
    ['GET', '/v1/files/batches%2Fz0k2qmfa-abc'],
    ['GET', '/v1/batches/z0k2qmfa-abc/content'],
  ])('%s %s is refused before any call', (method, path) => {
    expect(matchRoute(method, path, new URLSearchParams()).kind).not.toBe('route');
  });

  it('tags every id of a file, a batch and a list, in the shape Google used', async () => {
    expect(await tagCompatIds({ id: 'file-abc', object: 'file' }, owner)).toEqual({
      id: 'z0k2qmfa-file-abc',
      object: 'file',
    });
    expect(
      await tagCompatIds(
        {
          id: 'batches/b1',
          object: 'batch',
          input_file_id: 'files/in',
          output_file_id: 'out_1',
          error_file_id: null,
        },
        owner,
      ),
    ).toEqual({
      id: 'batches/z0k2qmfa-b1',
      object: 'batch',
      input_file_id: 'files/z0k2qmfa-in',
      output_file_id: 'z0k2qmfa-out_1',
      error_file_id: null,
    });
    expect(
      await tagCompatIds(
        {
          object: 'list',
          data: [
            { id: 'a', object: 'file' },
            { id: 'files/b', object: 'file' },
          ],
          has_more: false,
        },
        owner,
      ),
    ).toEqual({
      object: 'list',
      data: [
        { id: 'z0k2qmfa-a', object: 'file' },
        { id: 'files/z0k2qmfa-b', object: 'file' },
      ],
      first_id: 'z0k2qmfa-a',
      last_id: 'files/z0k2qmfa-b',
      has_more: false,
    });
  });
});
