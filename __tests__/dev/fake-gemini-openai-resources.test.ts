/**
 * The fake's OpenAI-compatible files and batches, driven by the real `openai` SDK straight at the fake: ids are
 * Google's native names (`files/<id>`, `batches/<id>`, sent percent-encoded in paths by the SDK), every resource
 * belongs to the key that created it, and another key's answers the compat surface's array-wrapped error.
 */
import OpenAI, { toFile } from 'openai';
import { FAKE_REPLY_TEXT, type FakeGemini, startFakeGemini } from '../../dev/fake-gemini';
import { defined } from '../helpers/guards';

const KEY_A = 'fake-openai-resources-CANARY-A';
const KEY_B = 'fake-openai-resources-CANARY-B';
const JSONL = [
  { custom_id: 'one', method: 'POST', url: '/v1/chat/completions', body: { model: 'gemini-3.8-flash', messages: [] } },
  { custom_id: 'two', method: 'POST', url: '/v1/chat/completions', body: { model: 'gemini-3.8-flash', messages: [] } },
]
  .map((l) => `${JSON.stringify(l)}\n`)
  .join('');

let fake: FakeGemini;

beforeAll(async () => {
  fake = await startFakeGemini();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

function sdk(apiKey: string): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${fake.url}/v1beta/openai`, maxRetries: 0, fetch: (u, i) => fetch(u, i) });
}

describe('OpenAI-compatible files and batches at the fake', () => {
  it('uploads a batch input, runs a batch on its first look, and serves the output as JSONL of chat completions', async () => {
    const openai = sdk(KEY_A);
    const file = await openai.files.create({ file: await toFile(Buffer.from(JSONL), 'in.jsonl'), purpose: 'batch' });
    expect(file.id).toMatch(/^files\/[a-z0-9]+$/);
    expect(file.bytes).toBe(Buffer.byteLength(JSONL));
    expect(fake.resourceOwner(file.id)).toBe(KEY_A);
    const upload = defined(
      fake.calls.find((c) => c.path === '/v1beta/openai/files'),
      'the upload call',
    );
    expect(upload.body).toBe('');
    expect(upload.bodyBytes).toBeGreaterThan(Buffer.byteLength(JSONL));

    const batch = await openai.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    expect(batch.id).toMatch(/^batches\/[a-z0-9]+$/);
    expect(batch.status).toBe('in_progress');
    expect(batch.input_file_id).toBe(file.id);
    const done = await openai.batches.retrieve(batch.id);
    expect(done.status).toBe('completed');
    expect(done.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
    const outputId = defined(done.output_file_id, 'output file id');
    expect(fake.resourceOwner(outputId)).toBe(KEY_A);
    const lines = (await (await openai.files.content(outputId)).text()).trim().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as { custom_id: string; response: { body: { choices: unknown } } });
    expect(parsed.map((l) => l.custom_id)).toEqual(['one', 'two']);
    expect(JSON.stringify(parsed[0]?.response.body.choices)).toContain(FAKE_REPLY_TEXT);
    // the SDK encodes the slash of a path id
    expect(fake.calls.some((c) => c.path === `/v1beta/openai/batches/${encodeURIComponent(batch.id)}`)).toBe(true);
  });

  it('accepts bare ids in paths and bodies, lists per key with after/has_more, cancels and deletes', async () => {
    const openai = sdk(KEY_A);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        (await openai.files.create({ file: await toFile(Buffer.from(JSONL), `f${i}.jsonl`), purpose: 'batch' })).id,
      );
    }
    await sdk(KEY_B).files.create({ file: await toFile(Buffer.from(JSONL), 'b.jsonl'), purpose: 'batch' });
    const first = await openai.files.list({ limit: 2 });
    expect(first.data.map((f) => f.id)).toEqual(ids.slice(0, 2));
    expect(first.has_more).toBe(true);
    const all: string[] = [];
    for await (const f of openai.files.list({ limit: 2 })) all.push(f.id);
    expect(all).toEqual(ids);

    const bare = defined(ids[0], 'a file').slice('files/'.length);
    expect((await openai.files.retrieve(bare)).id).toBe(ids[0]);
    const batch = await openai.batches.create({
      input_file_id: bare,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const cancelled = await openai.batches.cancel(batch.id.slice('batches/'.length));
    expect(cancelled.status).toBe('cancelled');
    expect((await openai.batches.list()).data.map((b) => b.id)).toEqual([batch.id]);
    expect(await openai.files.delete(bare)).toEqual({ id: ids[0], object: 'file', deleted: true });
    expect(fake.resourceOwner(defined(ids[0], 'a file'))).toBeUndefined();
  });

  it("answers another key's file with 403 and its batch with 404, array-wrapped", async () => {
    const file = await sdk(KEY_A).files.create({ file: await toFile(Buffer.from(JSONL), 'a.jsonl'), purpose: 'batch' });
    const batch = await sdk(KEY_A).batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const other = (path: string, init: RequestInit = {}) =>
      fetch(`${fake.url}/v1beta/openai/${path}`, {
        ...init,
        headers: { authorization: `Bearer ${KEY_B}`, ...init.headers },
      });
    const denied = await other(`files/${encodeURIComponent(file.id)}`);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as [{ error: { status: string } }])[0].error.status).toBe('PERMISSION_DENIED');
    expect((await other(`batches/${encodeURIComponent(batch.id)}`)).status).toBe(404);
    const create = await other('batches', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    });
    expect(create.status).toBe(403);
    expect(Array.isArray(await create.json())).toBe(true);
  });

  it('refuses an upload without purpose=batch and counts every byte of a 3 MiB one', async () => {
    const openai = sdk(KEY_A);
    await expect(
      openai.files.create({ file: await toFile(Buffer.from(JSONL), 'x.jsonl'), purpose: 'assistants' }),
    ).rejects.toMatchObject({ status: 400 });
    const big = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const file = await openai.files.create({ file: await toFile(big, 'big.jsonl'), purpose: 'batch' });
    expect(file.bytes).toBe(big.length);
  });
});
