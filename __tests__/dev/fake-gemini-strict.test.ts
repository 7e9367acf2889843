/**
 * The fake Gemini refuses what Google refuses: shut-down and unknown model ids, methods a model does not serve,
 * generation requests without a prompt; and it lists models as Google pages them.
 */
import {
  FAKE_MODELS,
  FAKE_RETIRED_MODELS,
  type FakeGemini,
  IMPLICIT_CACHE_TTL_MS,
  ImplicitCache,
  implicitCacheMinTokens,
  startFakeGemini,
} from '../../dev/fake-gemini';
import { defined } from '../helpers/guards';

const KEY = 'fake-strict-key-CANARY-0001';

let fake: FakeGemini;
beforeAll(async () => {
  fake = await startFakeGemini();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const post = (path: string, body: unknown): Promise<Response> =>
  fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { 'x-goog-api-key': KEY, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const PROMPT = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
const notFound = (model: string, method: string) => ({
  code: 404,
  message:
    `models/${model} is not found for API version v1beta, or is not supported for ${method}. ` +
    'Call ListModels to see the list of available models and their supported methods.',
  status: 'NOT_FOUND',
});

describe('fake Gemini: current and retired model ids', () => {
  it('lists current ids only: Gemini 3.x, 2.5 Flash-Lite, the embedding and Imagen models', async () => {
    const res = await fetch(`${fake.url}/v1beta/models`, { headers: { 'x-goog-api-key': KEY } });
    const { models } = (await res.json()) as { models: { name: string; supportedGenerationMethods: string[] }[] };
    expect(models.map((m) => m.name)).toEqual(FAKE_MODELS.map((m) => `models/${m}`));
    expect(FAKE_MODELS).toEqual(
      expect.arrayContaining([
        'gemini-3.8-flash',
        'gemini-3.5-flash-lite',
        'gemini-2.5-flash-lite',
        'gemini-3.1-pro-preview',
        'gemini-embedding-001',
      ]),
    );
    for (const retired of FAKE_RETIRED_MODELS) expect(FAKE_MODELS).not.toContain(retired);
    expect(models.find((m) => m.name === 'models/gemini-embedding-001')?.supportedGenerationMethods).not.toContain(
      'generateContent',
    );
  });

  it('pages the model list as Google does (pageSize, nextPageToken)', async () => {
    const page = async (query: string) =>
      (await (await fetch(`${fake.url}/v1beta/models${query}`, { headers: { 'x-goog-api-key': KEY } })).json()) as {
        models: { name: string }[];
        nextPageToken?: string;
      };
    const first = await page('?pageSize=1');
    expect(first.models).toHaveLength(1);
    const second = await page(`?pageSize=1&pageToken=${defined(first.nextPageToken, 'a next page')}`);
    expect(second.models.map((m) => m.name)).toEqual([`models/${FAKE_MODELS[1]}`]);
  });

  it.each(FAKE_RETIRED_MODELS)(
    'answers the shut-down %s as Google answers a model it does not serve',
    async (model) => {
      const native = await post(`/v1beta/models/${model}:generateContent`, PROMPT);
      expect(native.status).toBe(404);
      expect(await native.json()).toEqual({ error: notFound(model, 'generateContent') });
      const stream = await post(`/v1beta/models/${model}:streamGenerateContent?alt=sse`, PROMPT);
      expect(((await stream.json()) as { error: unknown }).error).toEqual(notFound(model, 'streamGenerateContent'));
      const chat = await post('/v1beta/openai/chat/completions', {
        model,
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(chat.status).toBe(404);
      expect(await chat.json()).toEqual([{ error: notFound(model, 'generateContent') }]);
      const lookup = await fetch(`${fake.url}/v1beta/models/${model}`, { headers: { 'x-goog-api-key': KEY } });
      expect(lookup.status).toBe(404);
    },
  );

  it('answers a method the model does not serve with the same 404', async () => {
    const res = await post('/v1beta/models/gemini-embedding-001:generateContent', PROMPT);
    expect(await res.json()).toEqual({ error: notFound('gemini-embedding-001', 'generateContent') });
    const embed = await post('/v1beta/openai/embeddings', { model: 'gemini-3.8-flash', input: 'x' });
    expect(await embed.json()).toEqual([{ error: notFound('gemini-3.8-flash', 'embedContent') }]);
  });
});

describe('fake Gemini: requests without a prompt', () => {
  const contentsNotSpecified = {
    code: 400,
    message: '* GenerateContentRequest.contents: contents is not specified\n',
    status: 'INVALID_ARGUMENT',
  };

  it.each([
    ['empty contents', { contents: [] }],
    ['no contents', { generationConfig: { temperature: 0 } }],
    ['a system instruction only', { systemInstruction: { parts: [{ text: 'be brief' }] } }],
  ])('refuses generateContent with %s, as Google words it', async (_, body) => {
    for (const action of ['generateContent', 'streamGenerateContent?alt=sse']) {
      const res = await post(`/v1beta/models/gemini-3.8-flash:${action}`, body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: contentsNotSpecified });
    }
  });

  it('refuses a content without parts, naming its index', async () => {
    const res = await post('/v1beta/models/gemini-3.8-flash:generateContent', {
      contents: [
        { role: 'user', parts: [{ text: 'hi' }] },
        { role: 'model', parts: [] },
      ],
    });
    expect(await res.json()).toEqual({
      error: {
        code: 400,
        message: '* GenerateContentRequest.contents[1].parts: contents.parts must not be empty.\n',
        status: 'INVALID_ARGUMENT',
      },
    });
  });

  it.each([
    ['no messages', {}],
    ['empty messages', { messages: [] }],
    ['system messages only', { messages: [{ role: 'system', content: 'be brief' }] }],
  ])('refuses a chat completion with %s, in the compat array', async (_, body) => {
    const res = await post('/v1beta/openai/chat/completions', { model: 'gemini-3.8-flash', ...body });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual([{ error: contentsNotSpecified }]);
  });

  it('still counts tokens of an empty prompt, and records every refused call', async () => {
    const res = await post('/v1beta/models/gemini-3.8-flash:countTokens', { contents: [] });
    expect(await res.json()).toEqual({ totalTokens: 0 });
    await post('/v1beta/models/gemini-3.8-flash:generateContent', { contents: [] });
    expect(fake.calls).toHaveLength(2);
  });
});

describe('ImplicitCache', () => {
  it("takes Google's per-model minimum: 4,096 tokens for Gemini 3.x, 2,048 for 2.5", () => {
    expect(implicitCacheMinTokens('gemini-3.8-flash')).toBe(4096);
    expect(implicitCacheMinTokens('gemini-3.1-pro-preview')).toBe(4096);
    expect(implicitCacheMinTokens('gemini-2.5-flash-lite')).toBe(2048);
  });

  it('forgets a prompt after its time, and remembers the longest prefix of any recent one', () => {
    let now = 0;
    const cache = new ImplicitCache({ minTokens: () => 3, now: () => now });
    const words = (text: string) => text.split(' ');
    expect(cache.use('p', 'm', words('a b c d'))).toBe(0);
    expect(cache.use('p', 'm', words('x y z'))).toBe(0);
    now = IMPLICIT_CACHE_TTL_MS - 1;
    expect(cache.use('p', 'm', words('a b c d e'))).toBe(4);
    expect(cache.use('p', 'm', words('a b'))).toBe(0);
    now += IMPLICIT_CACHE_TTL_MS;
    expect(cache.use('p', 'm', words('a b c d e'))).toBe(0);
  });
});
