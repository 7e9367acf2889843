import { createPartFromUri, GoogleGenAI } from '@google/genai';
import { request } from 'node:http';
import { FAKE_REPLY_TEXT, type FakeGemini, startFakeGemini } from '../../dev/fake-gemini';
import { defined } from '../helpers/guards';
import { resumableStart } from '../helpers/resumable-upload';

const KEY_A = 'fake-resources-key-CANARY-A';
const KEY_B = 'fake-resources-key-CANARY-B';

let fake: FakeGemini;

beforeAll(async () => {
  fake = await startFakeGemini();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

function sdk(apiKey: string): GoogleGenAI {
  // Jest's sandbox hides the undici dispatcher Node's fetch installs on the real global, which the SDK looks up when
  // it brings its own; handing it the sandbox's fetch changes nothing on the wire
  return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: fake.url, fetch: (input, init) => fetch(input, init) } });
}

function raw(path: string, apiKey: string | undefined, init: RequestInit = {}): Promise<Response> {
  return fetch(`${fake.url}${path}`, {
    ...init,
    headers: { ...(apiKey === undefined ? {} : { 'x-goog-api-key': apiKey }), ...(init.headers ?? {}) },
  });
}

/** Starts a resumable upload with `apiKey` and returns the session URL the fake handed back. */
async function startUpload(apiKey: string, bytes: number, file: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${fake.url}/upload/v1beta/files`, resumableStart(apiKey, bytes, 'text/plain', file));
}

async function sessionUrl(apiKey: string, bytes: number, file: Record<string, unknown> = {}): Promise<string> {
  const res = await startUpload(apiKey, bytes, file);
  expect(res.status).toBe(200);
  return defined(res.headers.get('x-goog-upload-url') ?? undefined, 'x-goog-upload-url');
}

function sendChunk(url: string, apiKey: string | undefined, command: string, offset: number, body: string) {
  return fetch(url, {
    method: 'POST',
    headers: {
      ...(apiKey === undefined ? {} : { 'x-goog-api-key': apiKey }),
      'x-goog-upload-command': command,
      'x-goog-upload-offset': String(offset),
    },
    body,
  });
}

async function uploadText(ai: GoogleGenAI, text: string, displayName = 'notes') {
  return ai.files.upload({ file: new Blob([text], { type: 'text/plain' }), config: { displayName } });
}

describe('fake Gemini stateful resources through @google/genai', () => {
  it('uploads a Blob, gets, lists with paging, and deletes files per key', async () => {
    const a = sdk(KEY_A);
    const file = await uploadText(a, 'hello file');
    expect(file).toMatchObject({
      displayName: 'notes',
      mimeType: 'text/plain',
      sizeBytes: '10',
      state: 'ACTIVE',
      source: 'UPLOADED',
    });
    const name = defined(file.name, 'file name');
    expect(name).toMatch(/^files\/[a-z0-9]{12}$/);
    expect(file.uri).toBe(`${fake.url}/v1beta/${name}`);
    expect(fake.resourceOwner(name)).toBe(KEY_A);

    expect(await a.files.get({ name })).toMatchObject({ name, sizeBytes: '10' });
    for (let i = 0; i < 2; i++) await uploadText(a, `more ${i}`);
    await uploadText(sdk(KEY_B), 'not yours');

    const pager = await a.files.list({ config: { pageSize: 2 } });
    expect(pager.page).toHaveLength(2);
    expect(pager.hasNextPage()).toBe(true);
    const second = await pager.nextPage();
    expect(second).toHaveLength(1);
    const listed = (await raw('/v1beta/files?pageSize=2', KEY_A).then((r) => r.json())) as { files: unknown[] };
    expect(listed.files).toHaveLength(2);
    expect(fake.resources(KEY_A).files).toHaveLength(3);
    expect(fake.resources(KEY_B).files).toHaveLength(1);

    await a.files.delete({ name });
    expect(fake.resources(KEY_A).files).not.toContain(name);
    await expect(a.files.get({ name })).rejects.toThrow(/You do not have permission to access the File/);
  });

  it('generates content referencing its own file, and refuses another key the way Google does', async () => {
    const file = await uploadText(sdk(KEY_A), 'context');
    const part = createPartFromUri(defined(file.uri, 'uri'), defined(file.mimeType, 'mimeType'));
    const reply = await sdk(KEY_A).models.generateContent({
      model: 'gemini-3.8-flash',
      contents: [{ role: 'user', parts: [part, { text: 'summarize' }] }],
    });
    expect(reply.text).toBe(FAKE_REPLY_TEXT);

    const res = await raw('/v1beta/models/gemini-3.8-flash:generateContent', KEY_B, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ file_data: { file_uri: file.uri, mime_type: 'text/plain' } }] }] }),
    });
    expect(res.status).toBe(403);
    const id = defined(file.name, 'name').slice('files/'.length);
    expect(await res.json()).toEqual({
      error: {
        code: 403,
        message: `You do not have permission to access the File ${id} or it may not exist.`,
        status: 'PERMISSION_DENIED',
      },
    });
  });

  it('refuses an OpenAI-compatible chat part carrying another key’s file URI, in the compat error shape', async () => {
    const file = await uploadText(sdk(KEY_A), 'image-ish');
    const chat = (key: string) =>
      raw('/v1beta/openai/chat/completions', key, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gemini-3.8-flash',
          messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: file.uri } }] }],
        }),
      });
    expect((await chat(KEY_A)).status).toBe(200);
    const denied = await chat(KEY_B);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as Array<{ error: { status: string } }>)[0]?.error.status).toBe('PERMISSION_DENIED');
  });

  it("resolves a file URI on its own host or Google's, and takes one on any other host for a web address", async () => {
    const file = await uploadText(sdk(KEY_A), 'notes');
    const id = defined(file.name, 'name').slice('files/'.length);
    const generate = (fileUri: string) =>
      raw('/v1beta/models/gemini-3.8-flash:generateContent', KEY_B, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ parts: [{ fileData: { fileUri, mimeType: 'text/plain' } }] }] }),
      });
    expect((await generate(defined(file.uri, 'uri'))).status).toBe(403);
    expect((await generate(`https://generativelanguage.googleapis.com/v1beta/files/${id}`)).status).toBe(403);
    // Google fetches a URL elsewhere as it would any page; no file of any project is named
    expect((await generate(`https://example.com/v1beta/files/${id}`)).status).toBe(200);
  });

  it('creates, gets, lists, updates and deletes cached contents, per key', async () => {
    const a = sdk(KEY_A);
    const file = await uploadText(a, 'cached context');
    const cache = await a.caches.create({
      model: 'gemini-3.8-flash',
      config: {
        displayName: 'ctx',
        contents: [{ role: 'user', parts: [createPartFromUri(defined(file.uri, 'uri'), 'text/plain')] }],
        systemInstruction: 'be brief',
        ttl: '600s',
      },
    });
    const name = defined(cache.name, 'cache name');
    expect(name).toMatch(/^cachedContents\/[a-z0-9]{40}$/);
    expect(cache).toMatchObject({ model: 'models/gemini-3.8-flash', displayName: 'ctx' });
    expect(await a.caches.get({ name })).toMatchObject({ name });
    const listed = await a.caches.list();
    expect(listed.page.map((c) => c.name)).toEqual([name]);

    const updated = await a.caches.update({ name, config: { ttl: '7200s' } });
    expect(Date.parse(defined(updated.expireTime, 'expireTime'))).toBeGreaterThan(
      Date.parse(defined(cache.expireTime, 'expireTime')),
    );

    const reply = await a.models.generateContent({
      model: 'gemini-3.8-flash',
      contents: 'hi',
      config: { cachedContent: name },
    });
    expect(reply.text).toBe(FAKE_REPLY_TEXT);
    await expect(
      sdk(KEY_B).models.generateContent({ model: 'gemini-3.8-flash', contents: 'hi', config: { cachedContent: name } }),
    ).rejects.toThrow(/CachedContent not found \(or permission denied\)/);
    await expect(sdk(KEY_B).caches.get({ name })).rejects.toThrow(/CachedContent not found/);

    await a.caches.delete({ name });
    expect(fake.resources(KEY_A).cachedContents).toEqual([]);
  });

  it('refuses a cached content built on another key’s file', async () => {
    const file = await uploadText(sdk(KEY_A), 'mine');
    await expect(
      sdk(KEY_B).caches.create({
        model: 'gemini-3.8-flash',
        config: { contents: [{ role: 'user', parts: [createPartFromUri(defined(file.uri, 'uri'), 'text/plain')] }] },
      }),
    ).rejects.toThrow(/You do not have permission to access the File/);
  });

  it('runs an inline batch to completion on the first get, lists, cancels and deletes batches', async () => {
    const a = sdk(KEY_A);
    const job = await a.batches.create({
      model: 'gemini-3.8-flash',
      src: [{ contents: [{ role: 'user', parts: [{ text: 'one' }] }] }, { contents: 'two', metadata: { k: 'v' } }],
      config: { displayName: 'inline-job' },
    });
    const name = defined(job.name, 'batch name');
    expect(job).toMatchObject({
      displayName: 'inline-job',
      state: 'JOB_STATE_PENDING',
      model: 'models/gemini-3.8-flash',
    });

    const done = await a.batches.get({ name });
    expect(done.state).toBe('JOB_STATE_SUCCEEDED');
    const responses = defined(done.dest?.inlinedResponses, 'inlined responses');
    expect(responses.map((r) => r.response?.candidates?.[0]?.content?.parts?.[0]?.text)).toEqual([
      FAKE_REPLY_TEXT,
      FAKE_REPLY_TEXT,
    ]);
    expect(responses[1]?.metadata).toEqual({ k: 'v' });

    const other = await a.batches.create({ model: 'gemini-3.8-flash', src: [{ contents: 'three' }] });
    await a.batches.cancel({ name: defined(other.name, 'name') });
    expect((await a.batches.get({ name: defined(other.name, 'name') })).state).toBe('JOB_STATE_CANCELLED');

    const listed = await a.batches.list();
    expect(listed.page.map((b) => b.name).sort()).toEqual([name, other.name].sort());
    expect((await sdk(KEY_B).batches.list()).page).toEqual([]);
    await expect(sdk(KEY_B).batches.get({ name })).rejects.toThrow(/not found/);

    await a.batches.delete({ name });
    expect(fake.resources(KEY_A).batches).toEqual([other.name]);
  });

  it('runs a file batch into a generated, downloadable responses file of the same key', async () => {
    const a = sdk(KEY_A);
    const lines = ['{"key":"r1","request":{"contents":[{"parts":[{"text":"a"}]}]}}', '{"key":"r2","request":{}}'];
    const input = await a.files.upload({
      file: new Blob([`${lines.join('\n')}\n`], { type: 'application/jsonl' }),
      config: { mimeType: 'application/jsonl' },
    });
    const job = await a.batches.create({ model: 'gemini-3.8-flash', src: defined(input.name, 'input name') });
    const done = await a.batches.get({ name: defined(job.name, 'batch name') });
    const output = defined(done.dest?.fileName, 'responses file');
    expect(fake.resourceOwner(output)).toBe(KEY_A);

    const res = await raw(`/v1beta/${output}:download?alt=media`, KEY_A);
    expect(res.status).toBe(200);
    const rows = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; response: { candidates: unknown[] } });
    expect(rows.map((r) => r.key)).toEqual(['r1', 'r2']);
    expect((await raw(`/download/v1beta/${output}:download?alt=media`, KEY_A)).status).toBe(200);
    expect((await raw(`/v1beta/${output}:download?alt=media`, KEY_B)).status).toBe(403);
    // uploaded files are not downloadable at Google
    expect((await raw(`/v1beta/${defined(input.name, 'name')}:download?alt=media`, KEY_A)).status).toBe(400);

    const foreign = await raw('/v1beta/models/gemini-3.8-flash:batchGenerateContent', KEY_B, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ batch: { displayName: 'x', inputConfig: { fileName: input.name } } }),
    });
    expect(foreign.status).toBe(403);
  });

  it('creates, chains, gets, cancels and deletes interactions per key', async () => {
    const a = sdk(KEY_A);
    const first = await a.interactions.create({ model: 'gemini-3.8-flash', input: 'hello' });
    expect(first.status).toBe('completed');
    const id = defined(first.id, 'interaction id');
    expect(fake.resourceOwner(id)).toBe(KEY_A);
    const second = await a.interactions.create({
      model: 'gemini-3.8-flash',
      input: 'again',
      previous_interaction_id: id,
    });
    expect(second.previous_interaction_id).toBe(id);
    expect((await a.interactions.get(id)).id).toBe(id);

    const foreign = await raw('/v1beta/interactions', KEY_B, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gemini-3.8-flash', input: 'x', previous_interaction_id: id }),
    });
    expect(foreign.status).toBe(404);
    expect((await raw(`/v1beta/interactions/${id}`, KEY_B)).status).toBe(404);

    await a.interactions.delete(id);
    expect(fake.resources(KEY_A).interactions).toEqual([defined(second.id, 'second id')]);
  });
});

describe('fake Gemini resumable upload over raw HTTP', () => {
  it('takes chunks at the right offsets, refuses a wrong one, and finalizes with the counted size', async () => {
    const url = await sessionUrl(KEY_A, 6, { displayName: 'chunks' });
    expect(url).toMatch(
      new RegExp(`^${fake.url}/upload/v1beta/files\\?upload_id=[a-z0-9]+&upload_protocol=resumable$`),
    );
    const first = await sendChunk(url, KEY_A, 'upload', 0, 'abc');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-goog-upload-status')).toBe('active');
    expect(await first.text()).toBe('');

    const wrong = await sendChunk(url, KEY_A, 'upload, finalize', 1, 'def');
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: { status: string } }).error.status).toBe('INVALID_ARGUMENT');

    const last = await sendChunk(url, undefined, 'upload, finalize', 3, 'def');
    expect(last.status).toBe(200);
    expect(last.headers.get('x-goog-upload-status')).toBe('final');
    const { file } = (await last.json()) as { file: Record<string, unknown> };
    expect(file).toMatchObject({ displayName: 'chunks', sizeBytes: '6', mimeType: 'text/plain', state: 'ACTIVE' });
    // sha256("abcdef"), base64
    expect(file.sha256Hash).toBe('vvV+x/U6bUC+tkCngKY5yDvCmsipgW8fxsXG3Nk8RyE=');
  });

  it('refuses another key on a session and a name outside Google’s rule', async () => {
    const url = await sessionUrl(KEY_A, 3);
    expect((await sendChunk(url, KEY_B, 'upload, finalize', 0, 'abc')).status).toBe(403);
    expect(fake.resources(KEY_A).uploadSessions).toHaveLength(1);

    for (const name of ['files/-bad', 'files/Upper', 'files/bad-', `files/${'a'.repeat(41)}`, 'files/a_b']) {
      const res = await startUpload(KEY_A, 3, { name });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { status: string } }).error.status).toBe('INVALID_ARGUMENT');
    }
    const chosen = await sessionUrl(KEY_A, 3, { name: `files/${'a'.repeat(38)}-9` });
    const res = await sendChunk(chosen, KEY_A, 'upload, finalize', 0, 'abc');
    expect(((await res.json()) as { file: { name: string } }).file.name).toBe(`files/${'a'.repeat(38)}-9`);
  });

  it('streams a 100 MB upload without holding it: the call records its size and an empty body', async () => {
    const total = 100 * 1024 * 1024;
    const url = new URL(await sessionUrl(KEY_A, total));
    const piece = Buffer.alloc(1024 * 1024, 0x61);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url, {
        method: 'POST',
        headers: {
          'x-goog-api-key': KEY_A,
          'x-goog-upload-command': 'upload, finalize',
          'x-goog-upload-offset': '0',
          'content-length': String(total),
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      let sent = 0;
      const pump = (): void => {
        while (sent < total) {
          sent += piece.length;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(200);
    const record = defined(
      fake.calls.find((c) => c.search.includes('upload_id=')),
      'the upload call',
    );
    expect(record.body).toBe('');
    expect(record.bodyBytes).toBe(total);
    const [name] = fake.resources(KEY_A).files;
    expect(
      (await (await raw(`/v1beta/${defined(name, 'file')}`, KEY_A)).json()) as { sizeBytes: string },
    ).toMatchObject({
      sizeBytes: String(total),
    });
  }, 60_000);
});
