/**
 * Google's stateful resources through a standalone shard worker (the preview's shape), driven by the real
 * `@google/genai` SDK against the fake Gemini, which keeps every resource per key and answers another key's with
 * Google's 403. Every name the SDK sees carries the owner tag; every call on a resource reaches its owning key.
 */
import { createHash } from 'node:crypto';
import { createPartFromUri, GoogleGenAI } from '@google/genai';
import { formatOwnerTag, parseTaggedId } from '../../../../../workers/shared/owner-tag';
import { keyFingerprint } from '../../../../../workers/shard/surfaces/resources/owner-keys';
import { gatewayReason } from '../../../../helpers/google-errors';
import { defined } from '../../../../helpers/guards';
import { finalizeWhole, resumableStart } from '../../../../helpers/resumable-upload';
import { startShardWorker, type ShardWorkerHarness } from '../../../../helpers/shard-worker';

const KEYS = [
  'AIzaCANARY-resource-key-one-0001',
  'AIzaCANARY-resource-key-two-0002',
  'AIzaCANARY-resource-key-three-03',
];
const PASS = 'resource-surface-test-password';
const MODEL = 'gemini-3.8-flash';

let h: ShardWorkerHarness;
let genai: GoogleGenAI;
let tags: string[];

beforeAll(async () => {
  h = await startShardWorker({ keys: KEYS, pass: PASS });
  genai = new GoogleGenAI({ apiKey: PASS, httpOptions: { baseUrl: h.url } });
  tags = await Promise.all(
    KEYS.map(async (k, i) => formatOwnerTag({ shard: 0, key: i + 1, fingerprint: await keyFingerprint(k) })),
  );
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

/** The key (its value) a tagged name's owner tag names on this worker. */
function keyOfName(name: string): string {
  const id = name.slice(name.indexOf('/') + 1);
  const tagged = defined(parseTaggedId(id), `a tagged name, got ${name}`);
  return defined(KEYS[tagged.owner.key - 1], `key ${tagged.owner.key}`);
}

/** Google's name for a tagged one: the tag stripped. */
function googleName(name: string): string {
  const slash = name.indexOf('/');
  const tagged = defined(parseTaggedId(name.slice(slash + 1)), `a tagged name, got ${name}`);
  return `${name.slice(0, slash + 1)}${tagged.googleId}`;
}

/** Uploads a file straight to the fake with `key` (not through the worker): Google's name. */
async function seedFile(key: string, text: string): Promise<string> {
  const start = await fetch(
    `${h.fake.url}/upload/v1beta/files`,
    resumableStart(key, text.length, 'text/plain', { displayName: text }),
  );
  const url = defined(start.headers.get('x-goog-upload-url'), 'an upload url');
  const done = await fetch(url, finalizeWhole(key, text));
  const json = (await done.json()) as { file: { name: string } };
  return json.file.name;
}

function expectNoKeyLeaked(text: string): void {
  for (const key of KEYS) expect(text).not.toContain(key);
}

describe('files', () => {
  it('uploads through the gateway, names carry the owner tag, and every creation that uses the file reaches its key', async () => {
    const file = await genai.files.upload({ file: new Blob(['hello resources'], { type: 'text/plain' }) });
    const name = defined(file.name, 'the file name');
    expect(name).toMatch(/^files\/z0k[1-3][a-z]{4}-[a-z0-9]+$/);
    const owner = keyOfName(name);
    expect(tags).toContain(name.slice('files/'.length, name.indexOf('-')));
    expect(h.fake.resourceOwner(googleName(name))).toBe(owner);
    expect(defined(file.uri, 'the file uri')).toContain(name.slice('files/'.length));
    // the upload session went to the owning key too, and its URL was the gateway's
    const uploads = h.fake.calls.filter((c) => c.path === '/upload/v1beta/files');
    expect(uploads.map((c) => c.apiKey)).toEqual([owner, owner]);

    const got = await genai.files.get({ name });
    expect(got.name).toBe(name);
    expect(got.sizeBytes).toBe(String('hello resources'.length));

    // creations that use the file go to its key (generateContent's references are the generation surfaces' work)
    const part = createPartFromUri(defined(file.uri, 'uri'), 'text/plain');
    for (let i = 0; i < 4; i++) {
      const cache = await genai.caches.create({
        model: MODEL,
        config: { contents: [{ role: 'user', parts: [part] }] },
      });
      expect(keyOfName(defined(cache.name, 'cache name'))).toBe(owner);
      const interaction = await genai.interactions.create({
        model: MODEL,
        input: [{ type: 'document', uri: defined(file.uri, 'uri'), mime_type: 'text/plain' }],
      });
      expect(keyOfName(`interactions/${defined(interaction.id, 'id')}`)).toBe(owner);
    }
    const creations = h.fake.calls.filter(
      (c) => c.path === '/v1beta/cachedContents' || c.path === '/v1beta/interactions',
    );
    expect(creations).toHaveLength(8);
    expect(new Set(creations.map((c) => c.apiKey))).toEqual(new Set([owner]));
    // Google saw its own id, never the tag
    for (const call of creations) expect(call.body).not.toMatch(/z0k[0-9]/);

    await genai.files.delete({ name });
    expect(h.fake.resourceOwner(googleName(name))).toBeUndefined();
  });

  it("lists every key's files, merged, in pages of the requested size", async () => {
    const seeded = [
      await seedFile(defined(KEYS[0], 'key 1'), 'a'),
      await seedFile(defined(KEYS[0], 'key 1'), 'b'),
      await seedFile(defined(KEYS[0], 'key 1'), 'c'),
      await seedFile(defined(KEYS[2], 'key 3'), 'd'),
      await seedFile(defined(KEYS[2], 'key 3'), 'e'),
    ];
    h.fake.calls.length = 0;
    const pager = await genai.files.list({ config: { pageSize: 2 } });
    const names: string[] = [];
    for await (const f of pager) names.push(defined(f.name, 'a listed name'));
    expect(names.map(googleName).sort()).toEqual([...seeded].sort());
    for (const name of names) expect(h.fake.resourceOwner(googleName(name))).toBe(keyOfName(name));
    const lists = h.fake.calls.filter((c) => c.path === '/v1beta/files' && c.method === 'GET');
    expect(lists.every((c) => /pageSize=[12](&|$)/.test(c.search))).toBe(true);
  });

  it('refuses a forged or malformed tag with 404 and a tag whose key fingerprint differs with 410, calling no key', async () => {
    const forged = await fetch(`${h.url}/v1beta/files/not-a-tagged-id`, { headers: { 'x-goog-api-key': PASS } });
    expect(forged.status).toBe(404);
    expect(gatewayReason(await forged.json())).toBe('unknown_resource_owner');
    const wrongFingerprint = `z0k1${tags[0] === 'z0k1zzzz' ? 'yyyy' : 'zzzz'}-abc`;
    const gone = await fetch(`${h.url}/v1beta/files/${wrongFingerprint}`, { headers: { 'x-goog-api-key': PASS } });
    expect(gone.status).toBe(410);
    expect(gatewayReason(await gone.json())).toBe('owner_key_gone');
    const otherShard = await fetch(`${h.url}/v1beta/cachedContents/z4k1abcd-abc`, {
      headers: { 'x-goog-api-key': PASS },
    });
    expect(otherShard.status).toBe(404);
    const badToken = await fetch(`${h.url}/v1beta/files?pageToken=googles-own-token`, {
      headers: { 'x-goog-api-key': PASS },
    });
    expect(badToken.status).toBe(400);
    expect(h.fake.calls).toHaveLength(0);
  });

  it('refuses a request naming files of two keys with 400 and names both', async () => {
    const one = defined((await genai.files.upload({ file: new Blob(['x'], { type: 'text/plain' }) })).uri, 'uri');
    let other = one;
    for (
      let i = 0;
      i < 30 && keyOfName(`files/${other.split('/files/')[1]}`) === keyOfName(`files/${one.split('/files/')[1]}`);
      i++
    ) {
      other = defined((await genai.files.upload({ file: new Blob(['y'], { type: 'text/plain' }) })).uri, 'uri');
    }
    const cache = await fetch(`${h.url}/v1beta/cachedContents`, {
      method: 'POST',
      headers: { 'x-goog-api-key': PASS, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: `models/${MODEL}`,
        contents: [{ role: 'user', parts: [{ fileData: { fileUri: one } }, { fileData: { fileUri: other } }] }],
      }),
    });
    expect(cache.status).toBe(400);
    const body = await cache.json();
    const error = (body as { error: { message: string } }).error;
    expect(gatewayReason(body)).toBe('mixed_resource_owners');
    expect(error.message).toContain(one);
    expect(error.message).toContain(other);
  });

  it('streams a 100 MiB upload in the SDK chunks to the owning key, byte for byte', async () => {
    const size = 100 * 1024 * 1024;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) bytes[i] = (i / 4096) % 251;
    const file = await genai.files.upload({ file: new Blob([bytes], { type: 'application/octet-stream' }) });
    const name = defined(file.name, 'name');
    expect(file.sizeBytes).toBe(String(size));
    expect(file.sha256Hash).toBe(createHash('sha256').update(bytes).digest('base64'));
    const chunks = h.fake.calls.filter((c) => c.path === '/upload/v1beta/files' && c.search.includes('upload_id'));
    expect(chunks).toHaveLength(Math.ceil(size / (8 * 1024 * 1024)));
    expect(new Set(chunks.map((c) => c.apiKey))).toEqual(new Set([keyOfName(name)]));
    expect(chunks.reduce((sum, c) => sum + (c.bodyBytes ?? 0), 0)).toBe(size);
  }, 120_000);
});

describe('cached contents', () => {
  it('creates, gets, lists, updates and deletes a cache on one key', async () => {
    const cache = await genai.caches.create({
      model: MODEL,
      config: { contents: [{ role: 'user', parts: [{ text: 'a long context' }] }], ttl: '600s' },
    });
    const name = defined(cache.name, 'cache name');
    expect(name).toMatch(/^cachedContents\/z0k[1-3][a-z]{4}-/);
    const owner = keyOfName(name);
    expect(h.fake.resourceOwner(googleName(name))).toBe(owner);
    expect((await genai.caches.get({ name })).name).toBe(name);
    const listed: string[] = [];
    for await (const c of await genai.caches.list({ config: { pageSize: 5 } })) listed.push(defined(c.name, 'name'));
    expect(listed).toContain(name);
    const updated = await genai.caches.update({ name, config: { ttl: '1200s' } });
    expect(updated.name).toBe(name);
    await genai.caches.delete({ name });
    expect(h.fake.resourceOwner(googleName(name))).toBeUndefined();
    const resourceCalls = h.fake.calls.filter(
      (c) => c.path.startsWith('/v1beta/cachedContents/') || c.method === 'POST',
    );
    expect(new Set(resourceCalls.map((c) => c.apiKey))).toEqual(new Set([owner]));
  });
});

describe('batches', () => {
  it('creates a batch from an uploaded file on its key, then gets, lists, cancels and deletes it', async () => {
    const line = JSON.stringify({ key: 'r1', request: { contents: [{ parts: [{ text: 'hi' }] }] } });
    const input = await genai.files.upload({
      file: new Blob([`${line}\n`], { type: 'application/jsonl' }),
      config: { mimeType: 'application/jsonl' },
    });
    const inputName = defined(input.name, 'input name');
    const owner = keyOfName(inputName);
    const batch = await genai.batches.create({ model: MODEL, src: inputName });
    const name = defined(batch.name, 'batch name');
    expect(name).toMatch(/^batches\/z0k[1-3][a-z]{4}-/);
    expect(keyOfName(name)).toBe(owner);
    const got = await genai.batches.get({ name });
    expect(got.name).toBe(name);
    // the fake completes a batch on its first get, with a responses file Google created on the same key
    const output = defined(got.dest?.fileName, 'the responses file');
    expect(keyOfName(output)).toBe(owner);
    expect(h.fake.resourceOwner(googleName(output))).toBe(owner);
    const listed: string[] = [];
    for await (const b of await genai.batches.list({ config: { pageSize: 2 } })) listed.push(defined(b.name, 'name'));
    expect(listed).toContain(name);
    await genai.batches.cancel({ name });
    await genai.batches.delete({ name });
    const batchCalls = h.fake.calls.filter((c) => c.path.includes('batch') && c.path !== '/v1beta/batches');
    expect(batchCalls.length).toBeGreaterThanOrEqual(4);
    expect(new Set(batchCalls.map((c) => c.apiKey))).toEqual(new Set([owner]));
  });
});

describe('interactions', () => {
  it('continues an interaction on the key that holds it', async () => {
    const first = await genai.interactions.create({ model: MODEL, input: 'hello' });
    const id = defined(first.id, 'interaction id');
    expect(id).toMatch(/^z0k[1-3][a-z]{4}-/);
    const owner = keyOfName(`interactions/${id}`);
    for (let i = 0; i < 3; i++) {
      const next = await genai.interactions.create({ model: MODEL, input: 'more', previous_interaction_id: id });
      expect(keyOfName(`interactions/${defined(next.id, 'id')}`)).toBe(owner);
    }
    const got = await genai.interactions.get(id);
    expect(got.id).toBe(id);
    await genai.interactions.delete(id);
    const calls = h.fake.calls.filter((c) => c.path.startsWith('/v1beta/interactions'));
    expect(calls).toHaveLength(6);
    expect(new Set(calls.slice(1).map((c) => c.apiKey))).toEqual(new Set([owner]));
  });
});

describe('upload URL', () => {
  it("hands out the gateway's own origin, never Google's host or a key, and routes the upload by its tag", async () => {
    const start = await fetch(
      `${h.url}/upload/v1beta/files`,
      resumableStart(PASS, 5, 'text/plain', { displayName: 'raw' }),
    );
    expect(start.status).toBe(200);
    const url = new URL(defined(start.headers.get('x-goog-upload-url'), 'the upload url'));
    expect(url.origin).toBe(h.url);
    expect(url.toString()).not.toContain(new URL(h.fake.url).port);
    expectNoKeyLeaked([...start.headers].join('\n'));
    const done = await fetch(url, finalizeWhole(PASS, 'hello'));
    expect(done.headers.get('x-goog-upload-status')).toBe('final');
    const text = await done.text();
    expectNoKeyLeaked(text);
    const name = (JSON.parse(text) as { file: { name: string } }).file.name;
    expect(h.fake.resourceOwner(googleName(name))).toBe(keyOfName(name));
  });

  it('refuses an upload URL whose upload_id carries no tag with 404, calling no key', async () => {
    const chunk = await fetch(`${h.url}/upload/v1beta/files?upload_id=plain-google-id&upload_protocol=resumable`, {
      method: 'POST',
      headers: { 'x-goog-api-key': PASS, 'x-goog-upload-command': 'upload, finalize', 'x-goog-upload-offset': '0' },
      body: 'hello',
    });
    expect(chunk.status).toBe(404);
    expect(h.fake.calls).toHaveLength(0);
  });
});

describe('canary', () => {
  it('no key appears in any log line', () => {
    expectNoKeyLeaked(h.logs.map((l) => l.message).join('\n'));
  });
});
