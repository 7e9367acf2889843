/**
 * Ids as the SDKs send them: each id a `list` call of the real `openai` and `@google/genai` SDKs returns, handed back
 * to the SDK's `retrieve`/`get`, reaches Google through the shard worker (in workerd). The `openai` SDK percent-encodes
 * the slash of a name (`/v1/models/models%2Fgemini-…`, `/v1/files/files%2F…`); the gateway decodes it once, then
 * validates the id.
 */
import { GoogleGenAI } from '@google/genai';
import OpenAI, { toFile } from 'openai';
import { defined } from '../../../helpers/guards';
import { startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';

const PASS = 'listed-ids-test-password';
const KEYS = ['listed-ids-key-one', 'listed-ids-key-two'];

let h: ShardWorkerHarness;
let openai: OpenAI;
let genai: GoogleGenAI;
/** every path the SDKs sent, as they sent it */
const sent: string[] = [];

beforeAll(async () => {
  h = await startShardWorker({ keys: KEYS, pass: PASS });
  const recording = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    sent.push(new URL(input instanceof Request ? input.url : input).pathname);
    return fetch(input, init);
  };
  openai = new OpenAI({ apiKey: PASS, baseURL: `${h.url}/v1`, maxRetries: 0, fetch: recording });
  genai = new GoogleGenAI({ apiKey: PASS, httpOptions: { baseUrl: h.url } });
});
afterAll(() => h.close());
beforeEach(() => {
  h.fake.reset();
  sent.length = 0;
});

describe('openai SDK', () => {
  it('retrieves every model models.list() returned, its models/ slash percent-encoded', async () => {
    const ids: string[] = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids.length).toBeGreaterThan(1);
    expect(ids.every((id) => id.startsWith('models/'))).toBe(true);
    for (const id of ids) expect((await openai.models.retrieve(id)).id).toBe(id);
    const bare = ids.map((id) => id.slice('models/'.length));
    expect(sent.filter((p) => p.startsWith('/v1/models/'))).toEqual(bare.map((b) => `/v1/models/models%2F${b}`));
    const retrieves = h.fake.calls.filter((c) => c.path.startsWith('/v1beta/openai/models/'));
    expect(retrieves.map((c) => c.path)).toEqual(bare.map((b) => `/v1beta/openai/models/${b}`));
  });

  it('retrieves a file files.list() returned', async () => {
    const file = await openai.files.create({ file: await toFile(Buffer.from('{}\n'), 'a.jsonl'), purpose: 'batch' });
    const ids: string[] = [];
    for await (const listed of openai.files.list()) ids.push(listed.id);
    expect(ids).toContain(file.id);
    for (const id of ids) expect((await openai.files.retrieve(id)).id).toBe(id);
    expect(sent).toContain(`/v1/files/${encodeURIComponent(file.id)}`);
  });
});

describe('@google/genai', () => {
  it('gets every model models.list() returned', async () => {
    const names: string[] = [];
    for await (const model of await genai.models.list()) names.push(defined(model.name, 'a model name'));
    expect(names.length).toBeGreaterThan(1);
    for (const name of names) expect((await genai.models.get({ model: name })).name).toBe(name);
    const gets = h.fake.calls.filter((c) => c.method === 'GET' && c.path.startsWith('/v1beta/models/'));
    expect(gets.map((c) => c.path)).toEqual(names.map((n) => `/v1beta/${n}`));
  });

  it('gets a file files.list() returned', async () => {
    const uploaded = await genai.files.upload({ file: new Blob(['hello'], { type: 'text/plain' }) });
    const names: string[] = [];
    for await (const file of await genai.files.list()) names.push(defined(file.name, 'a file name'));
    expect(names).toContain(uploaded.name);
    for (const name of names) expect((await genai.files.get({ name })).name).toBe(name);
  });
});
