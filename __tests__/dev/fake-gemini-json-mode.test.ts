/**
 * The fake Gemini's JSON mode: a native generation request asking for `application/json` gets JSON text, shaped by
 * its schema when it gives one, whole or streamed; any other request keeps the fake's sentence. Gemini CLI's model
 * router depends on it (`__tests__/local/gemini-cli-topology.e2e.test.ts`).
 */
import { FAKE_REPLY_TEXT, type FakeGemini, startFakeGemini } from '../../dev/fake-gemini';
import { jsonModeText, sampleOf } from '../../dev/fake-gemini/json-mode';

const KEY = 'fake-json-key-CANARY-0001';
const URL_OF = (action: string) => `/v1beta/models/gemini-3.5-flash-lite:${action}`;
/** the schema Gemini CLI 0.61's router sends (`__tests__/fixtures/gemini-cli/routing-request.json`) */
const ROUTER_SCHEMA = {
  type: 'OBJECT',
  properties: {
    complexity_reasoning: { type: 'STRING', description: 'Brief explanation for the score.' },
    complexity_score: { type: 'INTEGER', description: 'Complexity score from 1-100.' },
  },
  required: ['complexity_reasoning', 'complexity_score'],
};

let fake: FakeGemini;
beforeAll(async () => {
  fake = await startFakeGemini({ streamChunks: 4 });
});
afterAll(() => fake.close());

const post = (path: string, body: unknown): Promise<Response> =>
  fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { 'x-goog-api-key': KEY, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

const request = (generationConfig: Record<string, unknown>) => ({
  contents: [{ role: 'user', parts: [{ text: 'Say hi' }] }],
  generationConfig,
});

/** The text of a reply, or of every chunk of a streamed one joined. */
function textOf(replies: readonly unknown[]): string {
  return replies
    .map(
      (r) => (r as { candidates: { content: { parts: { text: string }[] } }[] }).candidates[0]?.content.parts[0]?.text,
    )
    .join('');
}

describe('fake Gemini: JSON mode', () => {
  it('answers a schema with its plainest value: every property, strings the reply text, numbers 1', async () => {
    expect(sampleOf(ROUTER_SCHEMA)).toEqual({ complexity_reasoning: FAKE_REPLY_TEXT, complexity_score: 1 });
    expect(
      sampleOf({
        type: 'object',
        properties: {
          kind: { enum: ['a', 'b'] },
          tags: { type: 'array', items: { type: 'string' } },
          ok: { type: ['boolean', 'null'] },
          either: { anyOf: [{ type: 'number' }, { type: 'string' }] },
          fixed: { const: 'x' },
        },
      }),
    ).toEqual({ kind: 'a', tags: [], ok: true, either: 1, fixed: 'x' });
  });

  it('answers JSON only when the request asks for it', () => {
    expect(jsonModeText(request({ responseMimeType: 'application/json' }))).toBe(JSON.stringify(FAKE_REPLY_TEXT));
    expect(jsonModeText(request({ responseMimeType: 'text/plain' }))).toBeUndefined();
    expect(jsonModeText({ contents: [] })).toBeUndefined();
  });

  it('gives JSON text, whole and streamed, for responseJsonSchema and responseSchema alike', async () => {
    for (const schemaField of ['responseJsonSchema', 'responseSchema']) {
      const body = request({ responseMimeType: 'application/json', [schemaField]: ROUTER_SCHEMA });
      const whole = await (await post(URL_OF('generateContent'), body)).json();
      expect(JSON.parse(textOf([whole]))).toEqual({ complexity_reasoning: FAKE_REPLY_TEXT, complexity_score: 1 });
      const streamed = (await (await post(URL_OF('streamGenerateContent'), body)).json()) as unknown[];
      expect(streamed).toHaveLength(4);
      expect(JSON.parse(textOf(streamed))).toEqual({ complexity_reasoning: FAKE_REPLY_TEXT, complexity_score: 1 });
    }
  });

  it('keeps the plain sentence for a request without JSON mode', async () => {
    const whole = await (await post(URL_OF('generateContent'), request({ temperature: 1 }))).json();
    expect(textOf([whole])).toBe(FAKE_REPLY_TEXT);
  });
});
