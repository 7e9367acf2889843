/**
 * The fake's scripted function calls (`dev/fake-gemini/scripted-calls.ts`): a `CALL <function> <args>` line in the last
 * user turn makes it call that declared function with a thought signature, a function response to that call gets text
 * quoting it, a history that lost the signature gets Gemini 3's 400, and everything else is the fake's usual answer.
 */
import {
  FAKE_REPLY_TEXT,
  FAKE_THOUGHT_SIGNATURE,
  type FakeGemini,
  SCRIPTED_CALL_ID,
  SCRIPTED_THOUGHT,
  scriptedCalls,
  startFakeGemini,
} from '../../dev/fake-gemini';

const KEY = 'fake-scripted-key';
const MODEL = 'gemini-3.8-flash';
const tools = [{ functionDeclarations: [{ name: 'exec_command', parametersJsonSchema: { type: 'object' } }] }];
const ask = { role: 'user', parts: [{ text: 'Please run it.\nCALL exec_command {"cmd":"echo hi"}' }] };
const call = {
  role: 'model',
  parts: [
    {
      functionCall: { name: 'exec_command', args: { cmd: 'echo hi' }, id: SCRIPTED_CALL_ID },
      thoughtSignature: FAKE_THOUGHT_SIGNATURE,
    },
  ],
};
const answer = {
  role: 'user',
  parts: [{ functionResponse: { name: 'exec_command', id: SCRIPTED_CALL_ID, response: { output: 'hi' } } }],
};

let fake: FakeGemini;

beforeAll(async () => {
  fake = await startFakeGemini({ nativeReply: scriptedCalls });
});
afterAll(() => fake.close());

async function generate(body: unknown, action = 'generateContent', model = MODEL): Promise<Response> {
  const search = action === 'streamGenerateContent' ? '?alt=sse' : '';
  return fetch(`${fake.url}/v1beta/models/${model}:${action}${search}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': KEY },
    body: JSON.stringify(body),
  });
}

describe('scripted function calls', () => {
  it('calls the function a CALL line names, with its arguments, id and thought signature', async () => {
    const reply = (await (await generate({ contents: [ask], tools })).json()) as Record<string, never>;
    expect(reply).toMatchObject({
      candidates: [{ content: { role: 'model', parts: call.parts }, finishReason: 'STOP' }],
    });
  });

  it('thinks first when the request asks for thoughts, streamed as Gemini streams', async () => {
    const body = { contents: [ask], tools, generationConfig: { thinkingConfig: { includeThoughts: true } } };
    const text = await (await generate(body, 'streamGenerateContent')).text();
    const chunks = text
      .split(/\r\n\r\n/)
      .filter(Boolean)
      .map((e) => JSON.parse(e.replace(/^data: /, '')) as { candidates: { content: { parts: unknown[] } }[] });
    expect(chunks.map((c) => c.candidates[0]?.content.parts)).toEqual([
      [{ text: SCRIPTED_THOUGHT, thought: true }],
      call.parts,
    ]);
  });

  it("answers the call's function response with text quoting it", async () => {
    const reply = (await (await generate({ contents: [ask, call, answer], tools })).json()) as {
      candidates: { content: { parts: { text: string }[] } }[];
    };
    expect(reply.candidates[0]?.content.parts[0]?.text).toBe(
      `${FAKE_REPLY_TEXT}: exec_command returned {"output":"hi"}`,
    );
  });

  it('refuses, as Gemini 3 does, a history whose call lost its signature', async () => {
    const unsigned = { role: 'model', parts: [{ functionCall: call.parts[0]?.functionCall }] };
    const res = await generate({ contents: [ask, unsigned, answer], tools });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('missing a thought_signature');
  });

  it('leaves everything else to the fake: no CALL line, an undeclared function, an unknown model', async () => {
    const plain = (await (await generate({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], tools })).json()) as {
      candidates: { content: { parts: { text: string }[] } }[];
    };
    expect(plain.candidates[0]?.content.parts[0]?.text).toBe(FAKE_REPLY_TEXT);
    const undeclared = { role: 'user', parts: [{ text: 'CALL rm_rf {"path":"/"}' }] };
    const other = (await (await generate({ contents: [undeclared], tools })).json()) as typeof plain;
    expect(other.candidates[0]?.content.parts[0]?.text).toBe(FAKE_REPLY_TEXT);
    expect((await generate({ contents: [ask], tools }, 'generateContent', 'gemini-0-unknown')).status).toBe(404);
  });
});
