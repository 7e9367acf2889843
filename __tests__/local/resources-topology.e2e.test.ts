/**
 * Stateful resources end to end: the prod stack `cdktf synth` produces (20 keys on three shards behind the
 * orchestrator), emulated in workerd by `npm start`'s own modules, driven by the real `@google/genai` SDK against the
 * fake Gemini, which keeps files, cached contents, batches and interactions per key and refuses another key's the
 * way Google does. Every request that names a resource must reach the key that created it, counted at the fake.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { createPartFromUri, GoogleGenAI } from '@google/genai';
import OpenAI, { toFile } from 'openai';
import { type FakeGemini, startFakeGemini } from '../../dev/fake-gemini';
import type { Topology } from '../../scripts/local/emulated-topology';
import { type RunningTopology, startTopology } from '../../scripts/local/start';
import { DEFAULT_MAX_BODY_BYTES } from '../../workers/shared/contract';
import { parseTaggedId, type ResourceOwner } from '../../workers/shared/owner-tag';
import { keyOwners, synthesizeToTempDir, synthesizedTopology } from '../helpers/emulated-topology';
import { defined } from '../helpers/guards';
import { resumableStart } from '../helpers/resumable-upload';

const KEY_COUNT = 20;
const API_KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `canary-key-${String(i).padStart(2, '0')}-owned`);
const PASS = 'canary-pass-owned';
const MODEL = 'gemini-3.5-flash';

jest.setTimeout(120_000);

let outDir: string;
let fake: FakeGemini;
let running: RunningTopology;
let genai: GoogleGenAI;
const logs: string[] = [];

const PR = '13';

function topologyFor(apiKeys: readonly string[], stack = 'prod'): Topology {
  return synthesizedTopology(outDir, stack, { apiKeys, pass: PASS }, fake.url);
}

function start(apiKeys: readonly string[], stack = 'prod'): Promise<RunningTopology> {
  return startTopology({ topology: topologyFor(apiKeys, stack), port: 0, onLog: (message) => logs.push(message) });
}

function client(baseUrl: string): GoogleGenAI {
  // Jest's sandbox hides the undici dispatcher the SDK looks up for its own fetch; the sandbox's changes nothing on the wire
  return new GoogleGenAI({ apiKey: PASS, httpOptions: { baseUrl, fetch: (input, init) => fetch(input, init) } });
}

function openaiClient(baseUrl: string): OpenAI {
  return new OpenAI({
    apiKey: PASS,
    baseURL: `${baseUrl}/v1`,
    maxRetries: 0,
    fetch: (input, init) => fetch(input, init),
  });
}

/** The owner a gateway name carries (`files/z1k3abcd-xyz`), and Google's own name behind it. */
function owned(name: string | undefined): { owner: ResourceOwner; google: string } {
  const [collection, id] = defined(name, 'resource name').split('/');
  const tagged = defined(parseTaggedId(defined(id, 'id')), `owner tag of ${name}`);
  return { owner: tagged.owner, google: `${collection}/${tagged.googleId}` };
}

/** The keys the fake saw on calls to paths matching `path`. */
function keysOn(path: RegExp): string[] {
  return fake.calls.filter((c) => path.test(c.path)).map((c) => defined(c.apiKey, `key of ${c.path}`));
}

async function upload(text: string): Promise<{ name: string; uri: string; mimeType: string }> {
  const file = await genai.files.upload({
    file: new Blob([text], { type: 'text/plain' }),
    config: { mimeType: 'text/plain' },
  });
  return {
    name: defined(file.name, 'name'),
    uri: defined(file.uri, 'uri'),
    mimeType: defined(file.mimeType, 'mimeType'),
  };
}

function expectNoSecretIn(text: string): void {
  for (const secret of [...API_KEYS, PASS]) expect(text).not.toContain(secret);
}

beforeAll(async () => {
  // a preview stack's synth writes prod too
  outDir = await synthesizeToTempDir('zen-owned-', `preview-${PR}`, {
    KEY_COUNT: String(KEY_COUNT),
    KEYS_PER_SHARD: '8',
  });
  fake = await startFakeGemini({ port: 0 });
  running = await start(API_KEYS);
  genai = client(running.url);
});

afterAll(async () => {
  await running?.dispose();
  await fake?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.reset();
  logs.length = 0;
});

describe('files through the prod topology', () => {
  it('uploads with the SDK, and a dozen requests that reference the file all reach the key that owns it', async () => {
    const file = await upload('owned by one key');
    const { owner, google } = owned(file.name);
    const ownerKey = defined(fake.resourceOwner(google), `owner of ${google}`);
    // the upload went in on the owning key, and the session's chunks too
    expect(new Set(keysOn(/^\/upload\/v1beta\/files$/))).toEqual(new Set([ownerKey]));

    for (let i = 0; i < 12; i++) {
      const reply = await genai.models.generateContent({
        model: MODEL,
        contents: [createPartFromUri(file.uri, file.mimeType), `question ${i}`],
      });
      expect(reply.text).toBeTruthy();
    }
    const generated = keysOn(/:generateContent$/);
    expect(generated).toHaveLength(12);
    expect(new Set(generated)).toEqual(new Set([ownerKey]));

    const got = await genai.files.get({ name: file.name });
    expect(got.name).toBe(file.name);
    expect(owned(got.name).owner).toEqual(owner);

    await genai.files.delete({ name: file.name });
    await expect(genai.files.get({ name: file.name })).rejects.toMatchObject({ status: 403 });
    expect(new Set(keysOn(/^\/v1beta\/files\//))).toEqual(new Set([ownerKey]));
    expectNoSecretIn(logs.join('\n'));
  });

  it('lists the files of every key of every shard, page by page', async () => {
    const uploaded = new Set<string>();
    for (let i = 0; i < 6; i++) uploaded.add((await upload(`listed ${i}`)).name);
    const listed = new Set<string>();
    const pager = await genai.files.list({ config: { pageSize: 2 } });
    for await (const file of pager) listed.add(defined(file.name, 'listed name'));
    expect(listed).toEqual(uploaded);
    // every key of the deployment was asked once its turn came
    expect(new Set(keysOn(/^\/v1beta\/files$/))).toEqual(new Set(API_KEYS));
  });

  it('pages through shards that hold nothing without an empty page, which the SDK pager would yield as undefined', async () => {
    const owners = keyOwners(topologyFor(API_KEYS), API_KEYS);
    const keysOf = (shard: number): string[] => API_KEYS.filter((k) => owners.get(k) === shard);
    /** files put straight into the fake with `key`, as its project's files: Google's names */
    const seed = async (key: string, count: number): Promise<string[]> => {
      const direct = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: fake.url, fetch: (i, o) => fetch(i, o) } });
      const names: string[] = [];
      for (let i = 0; i < count; i++) {
        const file = await direct.files.upload({ file: new Blob([`seeded ${i}`], { type: 'text/plain' }) });
        names.push(defined(file.name, 'seeded name'));
      }
      return names;
    };
    const listAll = async (): Promise<(string | undefined)[]> => {
      const listed: (string | undefined)[] = [];
      for await (const file of await genai.files.list({ config: { pageSize: 2 } })) listed.push(file?.name);
      return listed;
    };
    const googleNames = (listed: (string | undefined)[]): string[] =>
      listed.map((name) => owned(defined(name, 'a listed file (the pager yielded an empty page)')).google).sort();

    // every file on shard 0: shards 1 and 2 are empty, and the last page must say so
    const [k0a, k0b] = [defined(keysOf(0)[1], 'a key of shard 0'), defined(keysOf(0)[4], 'another key of shard 0')];
    const onShard0 = [...(await seed(k0a, 2)), ...(await seed(k0b, 1))];
    expect(googleNames(await listAll())).toEqual([...onShard0].sort());

    // shard 1 empty between shards 0 and 2 that hold files
    fake.reset();
    const k2 = keysOf(2);
    const spread = [
      ...(await seed(defined(keysOf(0)[0], 'key 1 of shard 0'), 1)),
      ...(await seed(defined(k2[0], 'a key of shard 2'), 2)),
      ...(await seed(defined(k2[3], 'another key of shard 2'), 1)),
    ];
    expect(googleNames(await listAll())).toEqual([...spread].sort());
  });

  it('refuses a request naming files of two keys, with nothing sent to Google', async () => {
    const files: { name: string; uri: string; mimeType: string }[] = [];
    const owners = new Set<string>();
    while (owners.size < 2) {
      const file = await upload(`mixed ${files.length}`);
      const { owner } = owned(file.name);
      const id = `${owner.shard}/${owner.key}`;
      if (owners.has(id)) continue;
      owners.add(id);
      files.push(file);
    }
    fake.reset();
    const [a, b] = [defined(files[0], 'a'), defined(files[1], 'b')];
    await expect(
      genai.models.generateContent({
        model: MODEL,
        contents: [createPartFromUri(a.uri, a.mimeType), createPartFromUri(b.uri, b.mimeType)],
      }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining('mixed_resource_owners') });
    expect(fake.calls).toHaveLength(0);
  });

  it('places a second upload on the key of the first when its name starts with that owner tag, so both serve one request', async () => {
    const first = await upload('first of two');
    const { owner } = owned(first.name);
    const tag = defined(first.name.split('/')[1], 'id').split('-')[0];
    const second = await genai.files.upload({
      file: new Blob(['second of two'], { type: 'text/plain' }),
      config: { mimeType: 'text/plain', name: `${tag}-second` },
    });
    expect(second.name).toBe(`files/${tag}-second`);
    expect(owned(second.name).owner).toEqual(owner);
    const ownerKey = defined(fake.resourceOwner(owned(first.name).google), 'owner key');
    expect(fake.resourceOwner('files/second')).toBe(ownerKey);
    await genai.models.generateContent({
      model: MODEL,
      contents: [
        createPartFromUri(first.uri, first.mimeType),
        createPartFromUri(defined(second.uri, 'uri'), 'text/plain'),
        'compare',
      ],
    });
    expect(keysOn(/:generateContent$/)).toEqual([ownerKey]);
  });

  it('answers a forged or unknown owner with 404 and a changed key with 410, never calling Google', async () => {
    const file = await upload('forgery target');
    const { owner } = owned(file.name);
    fake.reset();
    const id = defined(file.name.split('/')[1], 'id');
    const googleId = defined(parseTaggedId(id), 'tagged').googleId;
    await expect(genai.files.get({ name: `files/z9k1abcd-${googleId}` })).rejects.toMatchObject({ status: 404 });
    await expect(genai.files.get({ name: `files/${googleId}` })).rejects.toMatchObject({ status: 404 });
    const otherPrint = owner.fingerprint === 'aaaa' ? 'bbbb' : 'aaaa';
    await expect(
      genai.files.get({ name: `files/z${owner.shard}k${owner.key}${otherPrint}-${googleId}` }),
    ).rejects.toMatchObject({ status: 410 });
    expect(fake.calls).toHaveLength(0);
  });

  it('answers 410 once the owning key has left the pool, instead of trying another key', async () => {
    const file = await upload('orphaned');
    const { google } = owned(file.name);
    const ownerKey = defined(fake.resourceOwner(google), 'owner key');
    // the operator replaced that key: same position, another value
    const replaced = API_KEYS.map((k) => (k === ownerKey ? `${k}-replaced` : k));
    const after = await start(replaced);
    try {
      fake.reset();
      await expect(
        client(after.url).models.generateContent({
          model: MODEL,
          contents: [createPartFromUri(file.uri, file.mimeType), 'still there?'],
        }),
      ).rejects.toMatchObject({ status: 410, message: expect.stringContaining('owner_key_gone') });
      expect(fake.calls).toHaveLength(0);
    } finally {
      await after.dispose();
    }
  });
});

describe('cached contents, batches and interactions through the prod topology', () => {
  it('keeps a cache with the key of the file it holds, and uses it only with that key', async () => {
    const file = await upload('cached');
    const ownerKey = defined(fake.resourceOwner(owned(file.name).google), 'owner key');
    const cache = await genai.caches.create({
      model: MODEL,
      config: { contents: [{ role: 'user', parts: [createPartFromUri(file.uri, file.mimeType)] }], ttl: '600s' },
    });
    expect(owned(cache.name).owner).toEqual(owned(file.name).owner);
    for (let i = 0; i < 3; i++)
      await genai.models.generateContent({ model: MODEL, contents: `q${i}`, config: { cachedContent: cache.name } });
    expect((await genai.caches.get({ name: defined(cache.name, 'cache') })).name).toBe(cache.name);
    await genai.caches.update({ name: defined(cache.name, 'cache'), config: { ttl: '1200s' } });
    await genai.caches.delete({ name: defined(cache.name, 'cache') });
    expect(new Set(keysOn(/cachedContents|:generateContent$/))).toEqual(new Set([ownerKey]));
  });

  it('runs a batch on one key and reads it back through that key', async () => {
    const batch = await genai.batches.create({
      model: MODEL,
      src: [{ contents: [{ role: 'user', parts: [{ text: 'batched' }] }] }],
    });
    const { google } = owned(batch.name);
    const ownerKey = defined(fake.resourceOwner(google), 'batch owner');
    const done = await genai.batches.get({ name: defined(batch.name, 'batch') });
    expect(done.name).toBe(batch.name);
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    await genai.batches.delete({ name: defined(batch.name, 'batch') });
    expect(new Set(keysOn(/batches|:batchGenerateContent$/))).toEqual(new Set([ownerKey]));
  });

  it('continues an interaction on the key that holds the previous one', async () => {
    const first = await genai.interactions.create({ model: MODEL, input: 'hello' });
    const firstId = defined(first.id, 'interaction id');
    const ownerKey = defined(fake.resourceOwner(defined(parseTaggedId(firstId), 'tagged id').googleId), 'owner');
    for (let i = 0; i < 3; i++) {
      const next = await genai.interactions.create({
        model: MODEL,
        input: `again ${i}`,
        previous_interaction_id: firstId,
      });
      expect(parseTaggedId(defined(next.id, 'next id'))?.owner).toEqual(parseTaggedId(firstId)?.owner);
    }
    expect(new Set(keysOn(/interactions/))).toEqual(new Set([ownerKey]));
  });
});

describe('OpenAI-compatible files and batches through the prod topology', () => {
  it('runs a batch on the key of its input file across shards, with the real openai SDK', async () => {
    const openai = openaiClient(running.url);
    const line = { custom_id: 'r1', method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [] } };
    const file = await openai.files.create({
      file: await toFile(Buffer.from(`${JSON.stringify(line)}\n`), 'in.jsonl'),
      purpose: 'batch',
    });
    const { owner, google } = owned(file.id);
    const ownerKey = defined(fake.resourceOwner(google), 'file owner');
    for (let i = 0; i < 6; i++) {
      const batch = await openai.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
      });
      expect(owned(batch.id).owner).toEqual(owner);
      const done = await openai.batches.retrieve(batch.id);
      expect(done.status).toBe('completed');
      const output = defined(done.output_file_id, 'output file');
      expect(owned(output).owner).toEqual(owner);
      expect(await (await openai.files.content(output)).text()).toContain('"custom_id":"r1"');
    }
    expect((await openai.files.retrieve(file.id)).id).toBe(file.id);
    await openai.files.delete(file.id);
    expect(new Set(keysOn(/^\/v1beta\/openai\/(files|batches)/))).toEqual(new Set([ownerKey]));
    // several shards: an OpenAI listing cannot page across them, and says where to list instead
    await expect(openai.files.list()).rejects.toMatchObject({ status: 501, code: 'listing_not_merged' });
    expectNoSecretIn(logs.join('\n'));
  });
});

describe("Google's documented OpenAI batch flow through the prod topology", () => {
  it('uploads the input natively, batches it with the openai SDK and downloads the output natively, all on one key', async () => {
    const line = {
      custom_id: 'doc-1',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: MODEL, messages: [] },
    };
    const input = await genai.files.upload({
      file: new Blob([`${JSON.stringify(line)}\n`], { type: 'application/jsonl' }),
      config: { mimeType: 'application/jsonl' },
    });
    const { owner, google } = owned(input.name);
    const ownerKey = defined(fake.resourceOwner(google), 'input owner');
    const openai = openaiClient(running.url);
    const batch = await openai.batches.create({
      input_file_id: defined(input.name, 'input name'),
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    expect(owned(batch.id).owner).toEqual(owner);
    const done = await openai.batches.retrieve(batch.id);
    expect(done.status).toBe('completed');
    const output = defined(done.output_file_id, 'output file');
    expect(owned(output).owner).toEqual(owner);
    // the native download Google's docs use for the output, through the gateway's native route
    const id = defined(output.split('/')[1], 'output id');
    const downloaded = await fetch(`${running.url}/v1beta/files/${id}:download?alt=media`, {
      headers: { 'x-goog-api-key': PASS },
    });
    expect(downloaded.status).toBe(200);
    expect(await downloaded.text()).toContain('"custom_id":"doc-1"');
    expect(new Set(keysOn(/files|batches/))).toEqual(new Set([ownerKey]));
  });
});

describe('a 100 MB upload through the prod topology', () => {
  /** Peak resident memory (VmHWM) of the workerd processes this test runner started, in bytes. */
  function workerdPeakBytes(): number {
    let peak = 0;
    for (const pid of readdirSync('/proc').filter((entry) => /^[0-9]+$/.test(entry))) {
      let status: string;
      try {
        status = readFileSync(`/proc/${pid}/status`, 'utf8');
      } catch {
        continue;
      }
      const parent = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      if (parent !== process.pid || !/^Name:\s+workerd/m.test(status)) continue;
      peak = Math.max(peak, Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024);
    }
    return peak;
  }

  it('streams every byte to the owning key while workerd holds far less than the file', async () => {
    // one call of 100 MB, the most a Cloudflare request (and MAX_BODY_BYTES) may carry; the SDK sends 8 MiB chunks
    const size = DEFAULT_MAX_BODY_BYTES;
    const start = await fetch(
      `${running.url}/upload/v1beta/files`,
      resumableStart(PASS, size, 'application/octet-stream', { displayName: 'big' }),
    );
    expect(start.status).toBe(200);
    const sessionUrl = defined(start.headers.get('x-goog-upload-url') ?? undefined, 'x-goog-upload-url');
    expect(new URL(sessionUrl).origin).toBe(running.url);
    expectNoSecretIn(sessionUrl);

    const before = workerdPeakBytes();
    const chunk = new Uint8Array(1000 * 1000).fill(7);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= size) {
          controller.close();
          return;
        }
        controller.enqueue(chunk);
        sent += chunk.byteLength;
      },
    });
    const finished = await fetch(sessionUrl, {
      method: 'POST',
      headers: {
        'x-goog-api-key': PASS,
        'x-goog-upload-command': 'upload, finalize',
        'x-goog-upload-offset': '0',
        'content-length': String(size),
      },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(finished.status).toBe(200);
    expect(finished.headers.get('x-goog-upload-status')).toBe('final');
    const { file } = (await finished.json()) as { file: { name: string; sizeBytes: string } };
    expect(file.sizeBytes).toBe(String(size));
    const ownerKey = defined(fake.resourceOwner(owned(file.name).google), 'owner key');
    const chunks = fake.calls.filter((c) => c.bodyBytes !== undefined);
    expect(chunks.map((c) => c.bodyBytes)).toEqual([size]);
    expect(chunks.map((c) => c.apiKey)).toEqual([ownerKey]);
    // the orchestrator and the shard run in workerd: had either held the body whole, its peak would have grown by it
    const after = workerdPeakBytes();
    expect(before).toBeGreaterThan(0);
    expect(after - before).toBeLessThan(size / 2);
  });
});

describe('the preview worker', () => {
  let preview: RunningTopology;
  let previewAi: GoogleGenAI;

  beforeAll(async () => {
    preview = await start(API_KEYS, `preview-${PR}`);
    previewAi = client(preview.url);
  });
  afterAll(() => preview?.dispose());

  it('serves files, caches, batches and interactions on the owning key, all its keys in one worker (shard 0)', async () => {
    const file = await previewAi.files.upload({
      file: new Blob(['on the preview'], { type: 'text/plain' }),
      config: { mimeType: 'text/plain' },
    });
    const { owner, google } = owned(file.name);
    expect(owner.shard).toBe(0);
    const ownerKey = defined(fake.resourceOwner(google), 'owner key');
    for (let i = 0; i < 4; i++) {
      await previewAi.models.generateContent({
        model: MODEL,
        contents: [createPartFromUri(defined(file.uri, 'uri'), 'text/plain'), `question ${i}`],
      });
    }
    const cache = await previewAi.caches.create({
      model: MODEL,
      config: { contents: [{ role: 'user', parts: [createPartFromUri(defined(file.uri, 'uri'), 'text/plain')] }] },
    });
    expect(owned(cache.name).owner).toEqual(owner);
    const listed: string[] = [];
    for await (const f of await previewAi.files.list({ config: { pageSize: 3 } })) listed.push(defined(f.name, 'name'));
    expect(listed).toEqual([file.name]);
    const first = await previewAi.interactions.create({ model: MODEL, input: 'hello' });
    await previewAi.interactions.create({ model: MODEL, input: 'again', previous_interaction_id: first.id });
    const interactionKey = fake.resourceOwner(defined(parseTaggedId(defined(first.id, 'id')), 'tagged').googleId);
    expect(new Set(keysOn(/:generateContent$|cachedContents/))).toEqual(new Set([ownerKey]));
    expect(new Set(keysOn(/interactions/))).toEqual(new Set([interactionKey]));
    // a tag naming shard 1 means nothing on a worker that stands alone
    await expect(
      previewAi.files.get({ name: `files/z1k${owner.key}${owner.fingerprint}-${google.split('/')[1]}` }),
    ).rejects.toMatchObject({ status: 404 });
    expectNoSecretIn(logs.join('\n'));
  });
});
