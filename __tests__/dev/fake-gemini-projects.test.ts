/**
 * The fake Gemini counts per project, as Google does: keys of one project share quota windows, resources and the
 * implicit cache; keys of different projects share nothing.
 */
import { GoogleGenAI } from '@google/genai';
import { type FakeGemini, startFakeGemini } from '../../dev/fake-gemini';
import { WindowedRateLimit } from '../../dev/fake-gemini/rate-limit';
import { defined } from '../helpers/guards';

const M = 'gemini-3.8-flash';
const PRO = 'gemini-3.1-pro-preview';
/** two keys of project `team`, one key of project `solo`, and a key the fake was not told about */
const TEAM_1 = 'fake-projects-key-CANARY-team1';
const TEAM_2 = 'fake-projects-key-CANARY-team2';
const SOLO = 'fake-projects-key-CANARY-solo';
const LONER = 'fake-projects-key-CANARY-loner';
const PROJECTS = { [TEAM_1]: 'team', [TEAM_2]: 'team', [SOLO]: 'solo' };

function sdk(fake: FakeGemini, apiKey: string): GoogleGenAI {
  // Jest's sandbox hides the undici dispatcher Node's fetch installs on the real global; see fake-gemini-resources
  return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: fake.url, fetch: (input, init) => fetch(input, init) } });
}

function native(fake: FakeGemini, apiKey: string, model: string, body: unknown, action = 'generateContent') {
  return fetch(`${fake.url}/v1beta/models/${model}:${action}`, {
    method: 'POST',
    headers: { 'x-goog-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function chat(fake: FakeGemini, apiKey: string, body: Record<string, unknown>) {
  return fetch(`${fake.url}/v1beta/openai/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: M, ...body }),
  });
}

const prompt = (text: string) => ({ contents: [{ role: 'user', parts: [{ text }] }] });

describe('fake Gemini: quota windows per project and model', () => {
  it("refuses a key whose project's window is spent by another key of it, naming the per-project quota", async () => {
    const limit = new WindowedRateLimit({ limit: 2, windowMs: 60_000, now: () => 30_000 });
    const fake = await startFakeGemini({
      projects: PROJECTS,
      admission: (project, model) => limit.admit(project, model),
    });
    try {
      expect((await native(fake, TEAM_1, M, prompt('one'))).status).toBe(200);
      expect((await native(fake, TEAM_2, M, prompt('two'))).status).toBe(200);
      const refused = await native(fake, TEAM_1, M, prompt('three'));
      expect(refused.status).toBe(429);
      const body = (await refused.json()) as { error: { status: string; details: Record<string, unknown>[] } };
      expect(body.error.status).toBe('RESOURCE_EXHAUSTED');
      expect(body.error.details).toEqual(
        expect.arrayContaining([
          {
            '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
            violations: [
              expect.objectContaining({
                quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
                quotaValue: '2',
                quotaDimensions: { location: 'global', model: M },
              }),
            ],
          },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '30s' },
        ]),
      );
      // the other key of the project is out too; the same project on another model, and other projects, are not
      expect((await chat(fake, TEAM_2, { messages: [{ role: 'user', content: 'hi' }] })).status).toBe(429);
      expect((await native(fake, TEAM_2, PRO, prompt('pro'))).status).toBe(200);
      expect((await native(fake, SOLO, M, prompt('solo'))).status).toBe(200);
      expect((await native(fake, LONER, M, prompt('loner'))).status).toBe(200);
      expect(limit.statsOf('team')).toEqual({ admitted: 3, refused: 2, exhaustions: 1 });
      // a key the fake was not told about is its own project, named by itself
      expect(limit.statsOf(LONER)).toEqual({ admitted: 1, refused: 0, exhaustions: 0 });
    } finally {
      await fake.close();
    }
  });

  it('asks the admission hook with the project, the model and the calling key', async () => {
    const asked: string[][] = [];
    const fake = await startFakeGemini({
      projects: PROJECTS,
      admission: (project, model, apiKey) => {
        asked.push([project, model, apiKey]);
        return undefined;
      },
    });
    try {
      await native(fake, TEAM_2, M, prompt('hi'));
      await chat(fake, SOLO, { model: `models/${PRO}`, messages: [{ role: 'user', content: 'hi' }] });
      expect(asked).toEqual([
        ['team', M, TEAM_2],
        ['solo', PRO, SOLO],
      ]);
      expect([fake.projectOf(TEAM_1), fake.projectOf(SOLO), fake.projectOf(LONER)]).toEqual(['team', 'solo', LONER]);
      fake.configure({ projects: { [LONER]: 'team' } });
      expect([fake.projectOf(LONER), fake.projectOf(TEAM_1)]).toEqual(['team', TEAM_1]);
      fake.reset();
      expect(fake.projectOf(TEAM_1)).toBe('team');
    } finally {
      await fake.close();
    }
  });
});

describe('fake Gemini: files, cached contents and batches belong to the project', () => {
  let fake: FakeGemini;
  beforeAll(async () => {
    fake = await startFakeGemini({ projects: PROJECTS });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('lets every key of the project see, use and delete a file one of them uploaded; another project gets 403', async () => {
    const file = await sdk(fake, TEAM_1).files.upload({
      file: new Blob(['shared notes'], { type: 'text/plain' }),
      config: { displayName: 'shared' },
    });
    const name = defined(file.name, 'file name');
    expect(await sdk(fake, TEAM_2).files.get({ name })).toMatchObject({ name, displayName: 'shared' });
    const listed = await sdk(fake, TEAM_2).files.list();
    expect(listed.page.map((f) => f.name)).toEqual([name]);
    expect([fake.resourceOwner(name), fake.resourceProject(name)]).toEqual([TEAM_1, 'team']);
    expect(fake.resources(TEAM_2).files).toEqual([name]);
    expect(fake.resources(SOLO).files).toEqual([]);

    const denied = await fetch(`${fake.url}/v1beta/${name}`, { headers: { 'x-goog-api-key': SOLO } });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual({
      error: {
        code: 403,
        message: `You do not have permission to access the File ${name.slice('files/'.length)} or it may not exist.`,
        status: 'PERMISSION_DENIED',
      },
    });
    expect((await sdk(fake, SOLO).files.list()).page).toEqual([]);

    // a generation call may reference it from any key of the project, not from another project
    const uri = defined(file.uri, 'file uri');
    const withFile = { contents: [{ role: 'user', parts: [{ fileData: { fileUri: uri, mimeType: 'text/plain' } }] }] };
    expect((await native(fake, TEAM_2, M, withFile)).status).toBe(200);
    expect((await native(fake, SOLO, M, withFile)).status).toBe(403);

    await sdk(fake, TEAM_2).files.delete({ name });
    expect(fake.resources(TEAM_1).files).toEqual([]);
  });

  it('shares cached contents and batches within the project only', async () => {
    const cache = await sdk(fake, TEAM_1).caches.create({ model: M, config: prompt('cached') });
    const cacheName = defined(cache.name, 'cache name');
    expect(await sdk(fake, TEAM_2).caches.get({ name: cacheName })).toMatchObject({ name: cacheName });
    const otherCache = await fetch(`${fake.url}/v1beta/${cacheName}`, { headers: { 'x-goog-api-key': SOLO } });
    expect(otherCache.status).toBe(403);
    expect(((await otherCache.json()) as { error: { status: string } }).error.status).toBe('PERMISSION_DENIED');
    expect((await native(fake, TEAM_2, M, { ...prompt('hi'), cachedContent: cacheName })).status).toBe(200);
    expect((await native(fake, SOLO, M, { ...prompt('hi'), cachedContent: cacheName })).status).toBe(403);

    const batch = await sdk(fake, TEAM_2).batches.create({ model: M, src: [prompt('batched')] });
    const batchName = defined(batch.name, 'batch name');
    expect(await sdk(fake, TEAM_1).batches.get({ name: batchName })).toMatchObject({ name: batchName });
    expect(fake.resources(TEAM_1).batches).toEqual([batchName]);
    const otherBatch = await fetch(`${fake.url}/v1beta/${batchName}`, { headers: { 'x-goog-api-key': SOLO } });
    expect(otherBatch.status).toBe(404);
    expect(fake.resources(SOLO)).toMatchObject({ cachedContents: [], batches: [] });
  });
});

describe('fake Gemini: implicit caching per project and model', () => {
  const MIN = 50;
  let fake: FakeGemini;
  beforeAll(async () => {
    fake = await startFakeGemini({ projects: PROJECTS, implicitCacheMinTokens: MIN });
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  /** `n` distinct words */
  const words = (n: number, stem = 'w') => Array.from({ length: n }, (_, i) => `${stem}${i}`).join(' ');
  const history = words(80);
  const usageOf = async (res: Response) => {
    expect(res.status).toBe(200);
    return ((await res.json()) as { usageMetadata: Record<string, number> }).usageMetadata;
  };

  it('counts a repeated prefix as cached for any key of the project that sent it, and for no other project', async () => {
    expect(await usageOf(await native(fake, TEAM_1, M, prompt(history)))).toEqual({
      promptTokenCount: 80,
      candidatesTokenCount: 4,
      totalTokenCount: 84,
    });
    const nextTurn = prompt(`${history} and a new question`);
    expect(await usageOf(await native(fake, TEAM_2, M, nextTurn))).toMatchObject({
      promptTokenCount: 84,
      cachedContentTokenCount: 80,
    });
    expect(await usageOf(await native(fake, SOLO, M, nextTurn))).not.toHaveProperty('cachedContentTokenCount');
    // another model has its own cache
    expect(await usageOf(await native(fake, TEAM_1, PRO, nextTurn))).not.toHaveProperty('cachedContentTokenCount');
  });

  it('needs a common prefix of the minimum size, counts the system instruction first, and streams the hit', async () => {
    const system = { systemInstruction: { parts: [{ text: words(30, 's') }] } };
    await native(fake, TEAM_1, M, { ...system, ...prompt(words(30)) });
    // 30 + 15 common tokens: under the minimum
    const short = await usageOf(await native(fake, TEAM_1, M, { ...system, ...prompt(`${words(15)} else`) }));
    expect(short).toEqual({ promptTokenCount: 46, candidatesTokenCount: 4, totalTokenCount: 50 });
    const streamed = await native(
      fake,
      TEAM_2,
      M,
      { ...system, ...prompt(`${words(30)} more`) },
      'streamGenerateContent?alt=sse',
    );
    const events = (await streamed.text()).split('\r\n\r\n').filter(Boolean);
    const last = JSON.parse(defined(events.at(-1), 'the last event').replace(/^data: /, '')) as {
      usageMetadata: Record<string, number>;
    };
    expect(last.usageMetadata).toMatchObject({ promptTokenCount: 61, cachedContentTokenCount: 60 });
  });

  it('reports the hit on the OpenAI-compatible surface as usage.prompt_tokens_details.cached_tokens', async () => {
    const messages = [
      { role: 'system', content: words(40, 's') },
      { role: 'user', content: words(40) },
    ];
    const first = (await (await chat(fake, TEAM_1, { messages })).json()) as { usage: Record<string, unknown> };
    expect(first.usage).toEqual({ prompt_tokens: 80, completion_tokens: 4, total_tokens: 84 });
    const next = [...messages, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'go on' }];
    const second = (await (await chat(fake, TEAM_2, { messages: next })).json()) as { usage: Record<string, unknown> };
    expect(second.usage).toEqual({
      prompt_tokens: 83,
      completion_tokens: 4,
      total_tokens: 87,
      prompt_tokens_details: { cached_tokens: 80 },
    });
    const other = (await (await chat(fake, SOLO, { messages: next })).json()) as { usage: Record<string, unknown> };
    expect(other.usage).not.toHaveProperty('prompt_tokens_details');
  });
});
