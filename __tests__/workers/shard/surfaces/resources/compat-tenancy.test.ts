/**
 * Clients kept apart on the OpenAI-compatible files and batches, through a standalone shard worker (the preview's
 * shape, where OpenAI listings work) with two client tokens and the operator, driven by the `openai` and
 * `@google/genai` SDKs against the fake Gemini: each client lists and reaches its own only, with OpenAI's paging,
 * another client's id is OpenAI's 404 `resource_not_found` with no call to Google, and the operator sees all.
 */
import { GoogleGenAI } from '@google/genai';
import OpenAI, { NotFoundError } from 'openai';
import { parseTaggedId } from '../../../../../workers/shared/owner-tag';
import { defined } from '../../../../helpers/guards';
import { startShardWorker, type ShardWorkerHarness } from '../../../../helpers/shard-worker';

const KEYS = ['AIzaCANARY-tenants-key-one-00001', 'AIzaCANARY-tenants-key-two-00002', 'AIzaCANARY-tenants-key-3-00003'];
const PASS = 'compat-tenancy-test-password';
const TOKENS = { alice: 'alice-token-4e0b1d7c2a9f6e35', bob: 'bob-token-95c3a8e1d0f7b246' };
const LINE = `${JSON.stringify({ custom_id: 'r1', method: 'POST', url: '/v1/chat/completions', body: { model: 'gemini-3.8-flash', messages: [] } })}\n`;

type Who = keyof typeof TOKENS | 'operator';
const credential = (who: Who): string => (who === 'operator' ? PASS : TOKENS[who]);

let h: ShardWorkerHarness;
const openai = (who: Who) =>
  new OpenAI({ apiKey: credential(who), baseURL: `${h.url}/v1`, maxRetries: 0, fetch: (u, i) => fetch(u, i) });
const genai = (who: Who) =>
  new GoogleGenAI({ apiKey: credential(who), httpOptions: { baseUrl: h.url, fetch: (u, i) => fetch(u, i) } });

beforeAll(async () => {
  h = await startShardWorker({ keys: KEYS, pass: PASS, bindings: { CLIENT_TOKENS: JSON.stringify(TOKENS) } });
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

/** A JSONL input uploaded natively, the way Google documents the OpenAI batch flow: its id carries the client's mark. */
async function nativeInput(who: Who): Promise<string> {
  const file = await genai(who).files.upload({
    file: new Blob([LINE], { type: 'application/jsonl' }),
    config: { mimeType: 'application/jsonl' },
  });
  return defined(file.name, 'file name');
}

async function listed(who: Who, what: 'files' | 'batches'): Promise<string[]> {
  const ids: string[] = [];
  const pages = what === 'files' ? openai(who).files.list({ limit: 1 }) : openai(who).batches.list({ limit: 1 });
  for await (const item of pages) ids.push(item.id);
  return ids.sort();
}

describe('OpenAI-compatible files and batches of two clients', () => {
  it("list each client's own, page by page, and the operator's all", async () => {
    const alices = [await nativeInput('alice'), await nativeInput('alice')];
    const bobs = [await nativeInput('bob')];
    const batch = await openai('alice').batches.create({
      input_file_id: defined(alices[0], 'input'),
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    expect(await listed('alice', 'files')).toEqual([...alices].sort());
    expect(await listed('bob', 'files')).toEqual(bobs);
    expect(await listed('operator', 'files')).toHaveLength(3);
    // a batch is listed by its input file's mark
    expect(await listed('alice', 'batches')).toEqual([batch.id]);
    expect(await listed('bob', 'batches')).toEqual([]);
    // every id alice listed is one she can use
    for (const id of await listed('alice', 'files')) expect((await openai('alice').files.retrieve(id)).id).toBe(id);
  });

  it("answers another client's file or batch with OpenAI's 404 resource_not_found, sending nothing to Google", async () => {
    const input = await nativeInput('alice');
    const batch = await openai('alice').batches.create({
      input_file_id: input,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const done = await openai('alice').batches.retrieve(batch.id);
    const output = defined(done.output_file_id, 'output file');
    expect(parseTaggedId(defined(output.split('/')[1], 'output id'))?.seal).toBeDefined();
    const before = h.fake.calls.length;
    const bob = openai('bob');
    const attempts: [string, () => Promise<unknown>][] = [
      ['files.retrieve', () => bob.files.retrieve(input)],
      ['files.content', () => bob.files.content(output)],
      ['files.delete', () => bob.files.delete(input)],
      ['batches.retrieve', () => bob.batches.retrieve(batch.id)],
      ['batches.cancel', () => bob.batches.cancel(batch.id)],
      [
        'batches.create',
        () => bob.batches.create({ input_file_id: input, endpoint: '/v1/chat/completions', completion_window: '24h' }),
      ],
      ['files.list after one of alice’s', () => bob.files.list({ after: input })],
    ];
    for (const [label, attempt] of attempts) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect({ label, notFound: error instanceof NotFoundError, code: (error as { code?: unknown }).code }).toEqual({
        label,
        notFound: true,
        code: 'resource_not_found',
      });
    }
    expect(h.fake.calls.length).toBe(before);
    expect(await (await openai('operator').files.content(output)).text()).toContain('"custom_id":"r1"');
  });
});
