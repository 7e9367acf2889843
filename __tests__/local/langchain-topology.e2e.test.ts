/**
 * LangChain's OpenAI integration (`@langchain/openai` 1.5, on `@langchain/core` 1.4) through the prod stack
 * `cdktf synth` produces, emulated in workerd, configured as any OpenAI client is: `configuration.baseURL` the
 * gateway's `/v1`, the password as `apiKey`. `ChatOpenAI` calls chat completions by default: text and streams work
 * there, and so do `OpenAIEmbeddings`; but it does not send back the thought signature Google puts in a tool call's
 * `extra_content`, so Gemini 3 refuses the turn after a tool call, which `useResponsesApi: true` fixes (its reasoning
 * items carry the signature through the gateway's Responses translation). The fake calls a function on request on the
 * native routes (`scriptedCalls`) and whenever tools are offered on the OpenAI-compatible one.
 */
import { type BaseMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { z } from 'zod';
import {
  FAKE_REPLY_TEXT,
  FAKE_THOUGHT_SIGNATURE,
  fakeEmbeddingValues,
  SCRIPTED_CALL_ID,
  scriptedCalls,
} from '../../dev/fake-gemini';
import { defined } from '../helpers/guards';
import {
  awaitRequestLines,
  expectPoolKeysOnly,
  type ProdTopology,
  withProdTopology,
} from '../helpers/prod-topology-clients';

const PASS = 'canary-pass-langchain';
const MODEL = 'gemini-3.8-flash';

jest.setTimeout(60_000);

let gateway: ProdTopology;

withProdTopology(
  (started) => {
    gateway = started;
  },
  'langchain',
  PASS,
  12,
  { nativeReply: scriptedCalls },
);

function chat(useResponsesApi = false): ChatOpenAI {
  return new ChatOpenAI({
    model: MODEL,
    apiKey: PASS,
    configuration: { baseURL: `${gateway.url}/v1` },
    maxRetries: 0,
    useResponsesApi,
  });
}

const weather = tool(async ({ city }: { city: string }) => `sunny in ${city}`, {
  name: 'get_weather',
  description: 'The weather in a city.',
  schema: z.object({ city: z.string() }),
});

/** A tool loop of two turns: the model calls `get_weather`, the tool answers, the model answers that. */
async function toolLoop(model: ChatOpenAI, prompt: string): Promise<BaseMessage> {
  const withTools = model.bindTools([weather]);
  const messages: BaseMessage[] = [new HumanMessage(prompt)];
  const call = await withTools.invoke(messages);
  expect(call.tool_calls?.map((c) => [c.name, c.args])).toEqual([['get_weather', { city: 'Paris' }]]);
  messages.push(call);
  for (const c of call.tool_calls ?? []) {
    const output = String(await weather.invoke(c.args as { city: string }));
    messages.push(new ToolMessage({ content: output, tool_call_id: defined(c.id, 'the call id') }));
  }
  return withTools.invoke(messages);
}

describe('LangChain ChatOpenAI through the prod topology', () => {
  it('answers invoke and stream through POST /v1/chat/completions', async () => {
    const reply = await chat().invoke('Say hello');
    expect(reply.content).toBe(FAKE_REPLY_TEXT);
    let streamed = '';
    for await (const chunk of await chat().stream('Say hello')) streamed += String(chunk.content);
    expect(streamed).toBe(FAKE_REPLY_TEXT);
    expect(gateway.requests.map((r) => `${r.method} ${r.path} ${r.status} ${String(r.headers.authorization)}`)).toEqual(
      [`POST /v1/chat/completions 200 Bearer ${PASS}`, `POST /v1/chat/completions 200 Bearer ${PASS}`],
    );
    expect(gateway.fake.calls.map((c) => c.path)).toEqual([
      '/v1beta/openai/chat/completions',
      '/v1beta/openai/chat/completions',
    ]);
    expectPoolKeysOnly(gateway, PASS);
    expect((await awaitRequestLines(gateway.logs, 2)).map((l) => `${l.route} ${l.status}`)).toEqual([
      'chat.completions 200',
      'chat.completions 200',
    ]);
  });

  it('embeds with OpenAIEmbeddings through POST /v1/embeddings', async () => {
    const embeddings = new OpenAIEmbeddings({
      model: 'gemini-embedding-001',
      apiKey: PASS,
      configuration: { baseURL: `${gateway.url}/v1` },
      maxRetries: 0,
    });
    expect(await embeddings.embedQuery('hello')).toEqual(fakeEmbeddingValues(0));
    expect(gateway.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['POST /v1/embeddings 200']);
    expectPoolKeysOnly(gateway, PASS);
  });

  it("on chat completions drops a tool call's signature, and Gemini 3's 400 for it reaches LangChain", async () => {
    await expect(toolLoop(chat(), 'Weather in Paris?')).rejects.toThrow('Function call is missing a thought_signature');
    expect(gateway.requests.map((r) => r.status)).toEqual([200, 400]);
  });

  it('with useResponsesApi runs the tool loop, the signature carried through LangChain and back', async () => {
    const answer = await toolLoop(chat(true), 'Weather in Paris?\nCALL get_weather {"city":"Paris"}');
    expect(answer.text).toContain(`${FAKE_REPLY_TEXT}: get_weather returned`);
    expect(gateway.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      'POST /v1/responses 200',
      'POST /v1/responses 200',
    ]);
    const second = JSON.parse(defined(gateway.fake.calls[1], 'the second upstream call').body) as {
      contents: { parts: Record<string, unknown>[] }[];
    };
    expect(second.contents.flatMap((c) => c.parts).find((p) => p.functionCall !== undefined)).toEqual({
      functionCall: { name: 'get_weather', args: { city: 'Paris' }, id: SCRIPTED_CALL_ID },
      thoughtSignature: FAKE_THOUGHT_SIGNATURE,
    });
    expectPoolKeysOnly(gateway, PASS);
  });
});
