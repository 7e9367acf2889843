import {
  FAKE_BEHAVIOURS,
  FAKE_IMAGE_B64,
  FAKE_IMAGE_MODEL,
  FAKE_PROJECT_NUMBER,
  FAKE_REPLY_TEXT,
  FAKE_THOUGHT_SIGNATURE,
  fakeEmbeddingValues,
  fakeReplyPieces,
  startFakeGemini,
  type FakeGemini,
} from '../../dev/fake-gemini';
import { defined } from '../helpers/guards';

const KEY = 'fake-test-key-CANARY-0001';

let fake: FakeGemini;

beforeAll(async () => {
  fake = await startFakeGemini();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${KEY}` }) {
  return fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

const chat = { model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'hi' }] };
/** the smallest native prompt Google accepts: one content with one part */
const PROMPT = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };

describe('fake Gemini', () => {
  it('answers OpenAI-compatible chat and records the call with the key from the Bearer header', async () => {
    const res = await post('/v1beta/openai/chat/completions', chat);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]?.message.content).toBe(FAKE_REPLY_TEXT);
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toMatchObject({ method: 'POST', path: '/v1beta/openai/chat/completions', apiKey: KEY });
  });

  it('streams the configured number of chunks and ends with [DONE]', async () => {
    fake.configure({ streamChunks: 5 });
    const text = await (await post('/v1beta/openai/chat/completions', { ...chat, stream: true })).text();
    const events = text
      .split('\n\n')
      .filter(Boolean)
      .map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const content = events
      .slice(0, -1)
      .map(
        (e) =>
          defined((JSON.parse(e) as { choices: Array<{ delta: { content?: string } }> }).choices[0], 'a choice').delta
            .content ?? '',
      );
    expect(content.filter(Boolean)).toHaveLength(5);
    expect(content.join('')).toBe(FAKE_REPLY_TEXT);
    expect(fakeReplyPieces(5).join('')).toBe(FAKE_REPLY_TEXT);
  });

  it('rejects a replayed tool call whose thought signature was dropped', async () => {
    const messages = [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'w', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c', content: 'sunny' },
    ];
    const res = await post('/v1beta/openai/chat/completions', { ...chat, messages });
    expect(res.status).toBe(400);
    const [err] = (await res.json()) as Array<{ error: { message: string } }>;
    expect(err?.error.message).toMatch(/thought_signature/);
    const signed = messages.map((m) =>
      m.tool_calls
        ? {
            ...m,
            tool_calls: [
              { ...m.tool_calls[0], extra_content: { google: { thought_signature: FAKE_THOUGHT_SIGNATURE } } },
            ],
          }
        : m,
    );
    expect((await post('/v1beta/openai/chat/completions', { ...chat, messages: signed })).status).toBe(200);
  });

  it('returns known float embeddings and refuses encoding_format base64 like Google does', async () => {
    const res = await post('/v1beta/openai/embeddings', { model: 'gemini-embedding-001', input: ['a', 'b'] });
    const body = (await res.json()) as { data: Array<{ embedding: number[] }> };
    expect(body.data.map((d) => d.embedding)).toEqual([fakeEmbeddingValues(0), fakeEmbeddingValues(1)]);
    const b64 = await post('/v1beta/openai/embeddings', {
      model: 'gemini-embedding-001',
      input: 'a',
      encoding_format: 'base64',
    });
    expect(b64.status).toBe(400);
  });

  it('answers images/generations with n base64 PNGs and refuses an unknown image model', async () => {
    const res = await post('/v1beta/openai/images/generations', { model: FAKE_IMAGE_MODEL, prompt: 'a cat', n: 3 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { created: unknown; data: Array<{ b64_json: string }> };
    expect(body.created).toEqual(expect.any(Number));
    expect(body.data).toEqual(Array(3).fill({ b64_json: FAKE_IMAGE_B64 }));
    expect(Buffer.from(FAKE_IMAGE_B64, 'base64').subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    const unknown = await post('/v1beta/openai/images/generations', { model: 'imagen-0-nope', prompt: 'a cat' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual([{ error: expect.objectContaining({ status: 'NOT_FOUND' }) }]);
  });

  it('wraps compat errors in an array and native errors in an object, per key, without echoing the key', async () => {
    fake.setKeyBehaviour(KEY, 'quota-minute');
    const compat = await post('/v1beta/openai/chat/completions', chat);
    expect(compat.status).toBe(429);
    const compatText = await compat.text();
    expect(JSON.parse(compatText)).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ status: 'RESOURCE_EXHAUSTED' }) }),
    ]);
    expect(compatText).not.toContain(KEY);

    fake.setKeyBehaviour(KEY, 'invalid-key');
    const native = await post('/v1beta/models/gemini-3.8-flash:generateContent', PROMPT, { 'x-goog-api-key': KEY });
    expect(native.status).toBe(400);
    const nativeText = await native.text();
    expect(JSON.parse(nativeText)).toMatchObject({
      error: { details: expect.arrayContaining([expect.objectContaining({ reason: 'API_KEY_INVALID' })]) },
    });
    expect(nativeText).not.toContain(KEY);

    const other = await post('/v1beta/models/gemini-3.8-flash:generateContent', PROMPT, { 'x-goog-api-key': 'other' });
    expect(other.status).toBe(200);
  });

  it('reads the key from ?key= and answers 403 when no key is sent', async () => {
    expect((await post(`/v1beta/models/gemini-3.8-flash:countTokens?key=${KEY}`, PROMPT, {})).status).toBe(200);
    expect(fake.calls[0]?.apiKey).toBe(KEY);
    expect((await post('/v1beta/models/gemini-3.8-flash:countTokens', PROMPT, {})).status).toBe(403);
  });

  it('cuts a stream mid-way so the reader fails', async () => {
    fake.setDefaultBehaviour('cut-stream');
    const res = await post('/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse', PROMPT, {
      'x-goog-api-key': KEY,
    });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it.each([
    ['unauthenticated-401', 401, 'UNAUTHENTICATED', 'ACCESS_TOKEN_TYPE_UNSUPPORTED'],
    ['service-disabled-403', 403, 'PERMISSION_DENIED', 'SERVICE_DISABLED'],
    ['billing-disabled-403', 403, 'PERMISSION_DENIED', 'BILLING_DISABLED'],
    ['quota-bare-429', 429, 'RESOURCE_EXHAUSTED', undefined],
    ['location-400', 400, 'FAILED_PRECONDITION', undefined],
    ['resource-denied-403', 403, 'PERMISSION_DENIED', undefined],
  ] as const)(
    'answers %s with %i %s and ErrorInfo reason %s, native and compat',
    async (behaviour, status, googleStatus, reason) => {
      fake.setKeyBehaviour(KEY, behaviour);
      const native = await post('/v1beta/models/gemini-3.8-flash:generateContent', PROMPT, { 'x-goog-api-key': KEY });
      const compat = await post('/v1beta/openai/chat/completions', chat);
      const [nativeBody, [compatBody]] = [
        (await native.json()) as { error: Record<string, unknown> },
        (await compat.json()) as [{ error: Record<string, unknown> }],
      ];
      for (const [res, body] of [
        [native, nativeBody],
        [compat, compatBody],
      ] as const) {
        expect(res.status).toBe(status);
        expect(body.error).toMatchObject({ code: status, status: googleStatus });
        const reasons = ((body.error.details ?? []) as { reason?: string }[]).map((d) => d.reason).filter(Boolean);
        expect(reasons).toEqual(reason ? [reason] : []);
        if (reason === undefined) expect(body.error.details).toBeUndefined();
      }
      expect(JSON.stringify(nativeBody)).not.toContain(KEY);
    },
  );

  it('names its project in SERVICE_DISABLED the way Google words it', async () => {
    fake.setKeyBehaviour(KEY, 'service-disabled-403');
    const { error } = (await (
      await post('/v1beta/models/gemini-3.8-flash:generateContent', {}, { 'x-goog-api-key': KEY })
    ).json()) as { error: { message: string } };
    expect(error.message).toMatch(
      new RegExp(
        `^Generative Language API has not been used in project ${FAKE_PROJECT_NUMBER} before or it is disabled`,
      ),
    );
  });

  it('answers quota-zero with quotaValue "0" and "limit: 0", whatever the retry delay', async () => {
    fake.setKeyBehaviour(KEY, 'quota-zero');
    const { error } = (await (
      await post('/v1beta/models/gemini-3.1-pro-preview:generateContent', {}, { 'x-goog-api-key': KEY })
    ).json()) as {
      error: {
        message: string;
        details: {
          '@type': string;
          violations?: { quotaValue: string; quotaDimensions: { model: string } }[];
          retryDelay?: string;
        }[];
      };
    };
    expect(error.message).toContain('limit: 0, model: gemini-3.1-pro-preview');
    expect(error.details.find((d) => d.violations)?.violations?.[0]).toMatchObject({
      quotaValue: '0',
      quotaDimensions: { model: 'gemini-3.1-pro-preview' },
    });
    expect(error.details.find((d) => d.retryDelay)?.retryDelay).toBe('27s');
  });

  it('denies a resource only on calls with a body; the same key lists models', async () => {
    fake.setKeyBehaviour(KEY, 'resource-denied-403');
    expect((await fetch(`${fake.url}/v1beta/models?pageSize=1`, { headers: { 'x-goog-api-key': KEY } })).status).toBe(
      200,
    );
    expect(
      (await post('/v1beta/models/gemini-3.8-flash:generateContent', PROMPT, { 'x-goog-api-key': KEY })).status,
    ).toBe(403);
  });

  it('redirects to the configured host with the path and query, never answering itself', async () => {
    fake.setKeyBehaviour(KEY, 'redirect');
    fake.configure({ redirectTo: 'http://127.0.0.1:9/elsewhere', redirectStatus: 307 });
    const res = await fetch(`${fake.url}/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': KEY },
      body: '{}',
      redirect: 'manual',
    });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe(
      'http://127.0.0.1:9/elsewhere/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse',
    );
  });

  it('echoes unknown field names back the way Google does, and answers normally without them', async () => {
    fake.setDefaultBehaviour('echo-unknown-field');
    const res = await post(
      '/v1beta/models/gemini-3.8-flash:generateContent',
      { contents: [], 'API key not valid': 1, 'say "hi"': 2 },
      { 'x-goog-api-key': KEY },
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        code: 400,
        message:
          'Invalid JSON payload received. Unknown name "API key not valid": Cannot find field.\nInvalid JSON payload received. Unknown name "say \\"hi\\"": Cannot find field.',
        status: 'INVALID_ARGUMENT',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.BadRequest',
            fieldViolations: [
              { description: 'Invalid JSON payload received. Unknown name "API key not valid": Cannot find field.' },
              { description: 'Invalid JSON payload received. Unknown name "say \\"hi\\"": Cannot find field.' },
            ],
          },
        ],
      },
    });
    const compat = await post('/v1beta/openai/chat/completions', { ...chat, 'API key not valid': true });
    expect(compat.status).toBe(400);
    expect(((await compat.json()) as [{ error: { message: string } }])[0].error.message).toContain(
      'Unknown name "API key not valid"',
    );
    expect((await post('/v1beta/openai/chat/completions', { ...chat, temperature: 0.2 })).status).toBe(200);
  });

  it('ends a truncated stream cleanly inside an event, and a truncated JSON reply cleanly mid-value', async () => {
    fake.setDefaultBehaviour('truncated-stream');
    fake.configure({ streamChunks: 4 });
    const sse = await (
      await post('/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse', PROMPT, { 'x-goog-api-key': KEY })
    ).text();
    expect(sse.startsWith('data: ')).toBe(true);
    expect(sse.endsWith('\r\n\r\n')).toBe(false);
    expect(sse.split('\r\n\r\n')).toHaveLength(3);
    const json = await (await post('/v1beta/openai/chat/completions', chat)).text();
    expect(() => JSON.parse(json)).toThrow();
  });

  it('lists every behaviour it implements', () => {
    expect(new Set(FAKE_BEHAVIOURS).size).toBe(FAKE_BEHAVIOURS.length);
    expect(FAKE_BEHAVIOURS).toEqual(
      expect.arrayContaining(['echo-unknown-field', 'redirect', 'quota-zero', 'location-400', 'truncated-stream']),
    );
  });

  it('closes even while a request hangs', async () => {
    const hanging = await startFakeGemini();
    hanging.setDefaultBehaviour('hang');
    const req = fetch(`${hanging.url}/v1beta/openai/models`, { headers: { authorization: `Bearer ${KEY}` } }).catch(
      () => 'aborted',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await hanging.close();
    expect(await req).toBe('aborted');
  });
});
