/**
 * Responses requests as Gemini native requests: the recorded Codex CLI turns (`__tests__/fixtures/codex/`: its first
 * request, 40 KB for a one-word prompt, and a second turn with a function call, its output and the reasoning item
 * that carries the thought signature) and the rest of the request shape, field by field, refusals included.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAKE_THOUGHT_SIGNATURE, SCRIPTED_CALL_ID } from '../../../../../dev/fake-gemini';
import { SKIP_SIGNATURE_VALIDATOR } from '../../../../../workers/shard/surfaces/anthropic/request-translation';
import { planResponses, type PlanResult } from '../../../../../workers/shard/surfaces/responses/adapter';
import { encodeCarried } from '../../../../../workers/shard/surfaces/responses/reasoning-carrier';

interface Capture {
  readonly headers: Record<string, string>;
  readonly body: string | Record<string, unknown>;
}

function capture(name: string): Capture & { readonly json: Record<string, unknown> } {
  const c = JSON.parse(readFileSync(join(__dirname, '../../../../fixtures/codex', `${name}.json`), 'utf8')) as Capture;
  return { ...c, json: typeof c.body === 'string' ? (JSON.parse(c.body) as Record<string, unknown>) : c.body };
}

interface Upstream {
  contents: { role: string; parts: Record<string, unknown>[] }[];
  systemInstruction?: { parts: { text: string }[] };
  tools?: {
    functionDeclarations?: { name: string; description?: string; parametersJsonSchema?: unknown }[];
    googleSearch?: object;
  }[];
  toolConfig?: Record<string, unknown>;
  generationConfig?: Record<string, unknown>;
}

function planned(result: PlanResult): Extract<PlanResult, { ok: true }>['plan'] & { upstream: Upstream } {
  if (!result.ok) throw new Error(`refused: ${result.message}`);
  return { ...result.plan, upstream: JSON.parse(result.plan.body) as Upstream };
}

function refused(result: PlanResult): { status: number; code: string; message: string; param?: string } {
  if (result.ok) throw new Error('translated, expected a refusal');
  return result;
}

const MODEL = 'gemini-3.8-flash';
const plan = (body: Record<string, unknown>) => planResponses({ model: MODEL, ...body });

describe("Codex CLI's first request (recorded)", () => {
  const turn1 = capture('turn1');
  const p = planned(planResponses(turn1.json));

  it('streams from the model it names, with the session as the conversation id', () => {
    expect(p).toMatchObject({
      geminiModel: MODEL,
      requestedModel: MODEL,
      stream: true,
      upstreamPath: `/v1beta/models/${MODEL}:streamGenerateContent`,
      upstreamSearch: '?alt=sse',
      conversationId: turn1.headers['session-id'],
    });
  });

  it('puts the developer messages in the system instruction and the user messages in one user turn', () => {
    const input = turn1.json.input as { role: string; content: { text: string }[] }[];
    const developer = input.filter((m) => m.role === 'developer').flatMap((m) => m.content.map((c) => c.text));
    expect(p.upstream.systemInstruction?.parts.map((part) => part.text)).toEqual(developer);
    const user = input.filter((m) => m.role === 'user').flatMap((m) => m.content.map((c) => ({ text: c.text })));
    expect(p.upstream.contents).toEqual([{ role: 'user', parts: user }]);
  });

  it('declares every function, namespaced ones flattened, with their JSON Schemas, and Google Search beside them', () => {
    const tools = turn1.json.tools as {
      type: string;
      name: string;
      parameters?: unknown;
      tools?: { name: string }[];
    }[];
    const expected = tools.flatMap((t) =>
      t.type === 'function'
        ? [t.name]
        : t.type === 'namespace'
          ? (t.tools ?? []).map((f) => `${t.name}__${f.name}`)
          : [],
    );
    const [functions, search] = p.upstream.tools ?? [];
    expect(functions?.functionDeclarations?.map((d) => d.name)).toEqual(expected);
    expect(expected).toContain('multi_agent_v1__spawn_agent');
    const exec = functions?.functionDeclarations?.find((d) => d.name === 'exec_command');
    expect(exec?.parametersJsonSchema).toEqual(tools.find((t) => t.name === 'exec_command')?.parameters);
    expect(search).toEqual({ googleSearch: {} });
    // Gemini 3 combines Google Search with functions only when asked to show the search in the turn
    expect(p.upstream.toolConfig).toEqual({ includeServerSideToolInvocations: true });
  });

  it("turns on thought summaries for reasoning.summary, and leaves Gemini's thinking level alone", () => {
    expect(p.upstream.generationConfig).toEqual({ thinkingConfig: { includeThoughts: true } });
  });
});

describe("Codex CLI's second turn (recorded)", () => {
  it("puts the signature the reasoning item carried, and Gemini's call id, back on the call (through the gateway)", () => {
    const turn2 = capture('turn2-through-gateway');
    const { contents } = planned(planResponses(turn2.json)).upstream;
    expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user']);
    expect(contents[1]?.parts).toEqual([
      {
        functionCall: { name: 'exec_command', args: { cmd: 'echo zen-tool-ok' }, id: SCRIPTED_CALL_ID },
        thoughtSignature: FAKE_THOUGHT_SIGNATURE,
      },
    ]);
    expect(contents[2]?.parts).toEqual([
      {
        functionResponse: {
          name: 'exec_command',
          id: SCRIPTED_CALL_ID,
          response: { output: expect.stringContaining('zen-tool-ok') },
        },
      },
    ]);
  });

  it("gives a call whose reasoning item is not the gateway's Google's placeholder signature, and no id", () => {
    const turn2 = capture('turn2-capture-server');
    const { contents } = planned(planResponses(turn2.json)).upstream;
    expect(contents[1]?.parts).toEqual([
      {
        functionCall: { name: 'exec_command', args: { cmd: 'echo hi-from-tool' } },
        thoughtSignature: SKIP_SIGNATURE_VALIDATOR,
      },
    ]);
    expect(contents[2]?.parts[0]).toMatchObject({ functionResponse: { name: 'exec_command' } });
    expect(contents[2]?.parts[0]?.functionResponse).not.toHaveProperty('id');
  });
});

describe('input', () => {
  it('takes a string as one user turn, and merges consecutive items of one side', () => {
    expect(planned(plan({ input: 'hi' })).upstream.contents).toEqual([{ role: 'user', parts: [{ text: 'hi' }] }]);
    const p = planned(
      plan({
        input: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'a' },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'b' }] },
          { role: 'assistant', content: [{ type: 'output_text', text: 'c' }] },
          { role: 'user', content: 'd' },
        ],
      }),
    );
    expect(p.upstream.systemInstruction).toEqual({ parts: [{ text: 'Be brief.' }] });
    expect(p.upstream.contents).toEqual([
      { role: 'user', parts: [{ text: 'a' }, { text: 'b' }] },
      { role: 'model', parts: [{ text: 'c' }] },
      { role: 'user', parts: [{ text: 'd' }] },
    ]);
  });

  it('puts instructions first in the system instruction', () => {
    const p = planned(
      plan({
        instructions: 'Rule one.',
        input: [
          { role: 'developer', content: 'Rule two.' },
          { role: 'user', content: 'x' },
        ],
      }),
    );
    expect(p.upstream.systemInstruction).toEqual({ parts: [{ text: 'Rule one.' }, { text: 'Rule two.' }] });
  });

  it('sends images and files inline (data URLs) or as URLs Google fetches', () => {
    const p = planned(
      plan({
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' },
              { type: 'input_image', image_url: 'https://example.com/cat.jpg', detail: 'high' },
              { type: 'input_file', filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' },
              { type: 'input_file', file_url: 'https://example.com/report.pdf' },
            ],
          },
        ],
      }),
    );
    expect(p.upstream.contents[0]?.parts).toEqual([
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      { fileData: { fileUri: 'https://example.com/cat.jpg', mimeType: 'image/jpeg' } },
      { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
      { fileData: { fileUri: 'https://example.com/report.pdf', mimeType: 'application/pdf' } },
    ]);
  });

  it.each([
    [{ type: 'input_image', file_id: 'file-abc' }, 'input[0].content[0].file_id', 'OpenAI file ids'],
    [{ type: 'input_image', image_url: 'ftp://example.com/a.png' }, 'input[0].content[0].image_url', 'http(s)'],
    [{ type: 'input_file', file_data: 'JVBERi0=' }, 'input[0].content[0].file_data', 'data URL'],
    [{ type: 'computer_screenshot' }, 'input[0].content[0].type', 'expected "input_text"'],
  ])('refuses content Gemini cannot reach: %p', (part, param, words) => {
    const failure = refused(plan({ input: [{ role: 'user', content: [part] }] }));
    expect(failure).toMatchObject({ status: 400, code: 'invalid_request', param });
    expect(failure.message).toContain(words);
  });

  it('matches function outputs to their calls by call_id, responses first in the user turn', () => {
    const p = planned(
      plan({
        input: [
          { role: 'user', content: 'weather in Tokyo and Lima?' },
          { type: 'function_call', call_id: 'c1', name: 'get_weather', arguments: '{"city":"Tokyo"}' },
          { type: 'function_call', call_id: 'c2', name: 'get_weather', arguments: '{"city":"Lima"}' },
          { type: 'function_call_output', call_id: 'c1', output: '18' },
          { role: 'user', content: 'and then?' },
          { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: '21' }] },
        ],
      }),
    );
    expect(p.upstream.contents[1]).toEqual({
      role: 'model',
      parts: [
        // only the turn's first call gets the placeholder, as Gemini gives only the first its signature
        { functionCall: { name: 'get_weather', args: { city: 'Tokyo' } }, thoughtSignature: SKIP_SIGNATURE_VALIDATOR },
        { functionCall: { name: 'get_weather', args: { city: 'Lima' } } },
      ],
    });
    expect(p.upstream.contents[2]).toEqual({
      role: 'user',
      parts: [
        { functionResponse: { name: 'get_weather', response: { output: '18' } } },
        { functionResponse: { name: 'get_weather', response: { output: '21' } } },
        { text: 'and then?' },
      ],
    });
  });

  it('gives no placeholder on Gemini 2 models, which do not check signatures', () => {
    const p = planned(
      planResponses({
        model: 'gemini-2.5-flash-lite',
        input: [{ type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' }],
      }),
    );
    expect(p.upstream.contents[0]?.parts).toEqual([{ functionCall: { name: 'f', args: {} } }]);
  });

  it("puts a reasoning item's signature on the next part, and its carried parts where it stands", () => {
    const searchCall = { toolCall: { id: 's1', toolType: 'GOOGLE_SEARCH_WEB', args: { queries: ['paris'] } } };
    const p = planned(
      plan({
        input: [
          { role: 'user', content: 'x' },
          { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: encodeCarried({ parts: [searchCall] }) },
          { type: 'reasoning', id: 'rs_2', summary: [], encrypted_content: encodeCarried({ signature: 'SIG' }) },
          { role: 'assistant', content: 'It is sunny.' },
        ],
      }),
    );
    expect(p.upstream.contents[1]).toEqual({
      role: 'model',
      parts: [searchCall, { text: 'It is sunny.', thoughtSignature: 'SIG' }],
    });
  });

  it('reads back only the part kinds the gateway carries', () => {
    const smuggled = encodeCarried({ parts: [{ fileData: { fileUri: 'https://x/files/secret' } }] as never });
    const p = planned(
      plan({
        input: [
          { role: 'user', content: 'x' },
          { type: 'reasoning', summary: [], encrypted_content: smuggled },
        ],
      }),
    );
    expect(p.upstream.contents).toEqual([{ role: 'user', parts: [{ text: 'x' }] }]);
  });

  it('skips references to reasoning items and refuses others, saying to send the items with store: false', () => {
    const ok = planned(
      plan({
        input: [
          { role: 'user', content: 'x' },
          { type: 'item_reference', id: 'rs_abc' },
        ],
      }),
    );
    expect(ok.upstream.contents).toHaveLength(1);
    const failure = refused(plan({ input: [{ type: 'item_reference', id: 'msg_abc' }] }));
    expect(failure).toMatchObject({ status: 400, param: 'input[0]' });
    expect(failure.message).toContain('store: false');
  });

  it.each([
    [{ input: '' }, 'input'],
    [{ input: [] }, 'input'],
    [{ input: [{ role: 'tool', content: 'x' }] }, 'input[0].role'],
    [{ input: [{ type: 'function_call_output', call_id: 'nope', output: 'x' }] }, 'input[0].call_id'],
    [{ input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: '[1]' }] }, 'input[0].arguments'],
    [{ input: [{ type: 'web_search_call', id: 'ws_1' }] }, 'input[0].type'],
  ])('refuses malformed input %p', (body, param) => {
    expect(refused(plan(body))).toMatchObject({ status: 400, param });
  });
});

describe('tools', () => {
  const fn = (name: string, extra: Record<string, unknown> = {}) => ({
    type: 'function',
    name,
    parameters: { type: 'object' },
    ...extra,
  });

  it('flattens namespace tools to <namespace>__<name>, with the namespace description first', () => {
    const p = planned(
      plan({
        input: 'x',
        tools: [
          {
            type: 'namespace',
            name: 'crm',
            description: 'Customer records.',
            tools: [fn('find', { description: 'Finds one.' })],
          },
        ],
      }),
    );
    expect(p.upstream.tools?.[0]?.functionDeclarations).toEqual([
      { name: 'crm__find', description: 'Customer records.\n\nFinds one.', parametersJsonSchema: { type: 'object' } },
    ]);
    expect(p.names.clientName('crm__find')).toEqual({ name: 'find', namespace: 'crm' });
    expect(p.names.clientName('other')).toEqual({ name: 'other' });
  });

  it.each([
    [[fn('has space')], 'tools[0].name', 'not a function name Gemini accepts'],
    [[fn('1abc')], 'tools[0].name', 'not a function name Gemini accepts'],
    [[fn('x'.repeat(65))], 'tools[0].name', 'at most 64'],
    [
      [fn('crm__find'), { type: 'namespace', name: 'crm', tools: [fn('find')] }],
      'tools[1].tools[0].name',
      'declared twice',
    ],
    [[{ type: 'code_interpreter', container: { type: 'auto' } }], 'tools[0].type', 'OpenAI runs itself'],
    [
      [{ type: 'namespace', name: 'n', tools: [{ type: 'custom', name: 'c' }] }],
      'tools[0].tools[0].type',
      'expected "function"',
    ],
    [[{ type: 'web_search', filters: { allowed_domains: ['a.com'] } }], 'tools[0].filters', 'domains'],
  ])('refuses %p', (tools, param, words) => {
    const failure = refused(plan({ input: 'x', tools }));
    expect(failure).toMatchObject({ status: 400, param });
    expect(failure.message).toContain(words);
  });

  it('uses Google Search alone on Gemini 2, but not beside functions, and not on Gemma', () => {
    const alone = planned(
      planResponses({ model: 'gemini-2.5-flash-lite', input: 'x', tools: [{ type: 'web_search' }] }),
    );
    expect(alone.upstream.tools).toEqual([{ googleSearch: {} }]);
    expect(alone.upstream).not.toHaveProperty('toolConfig');
    const both = planResponses({
      model: 'gemini-2.5-flash-lite',
      input: 'x',
      tools: [{ type: 'web_search' }, fn('f')],
    });
    expect(refused(both).message).toContain('cannot use Google Search and functions in one request');
    expect(
      refused(planResponses({ model: 'gemma-3-27b-it', input: 'x', tools: [{ type: 'web_search_preview' }] })).message,
    ).toContain('no Google Search grounding');
  });

  it.each([
    ['auto', undefined],
    ['none', { functionCallingConfig: { mode: 'NONE' } }],
    ['required', { functionCallingConfig: { mode: 'ANY' } }],
    [{ type: 'function', name: 'b' }, { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['b'] } }],
    [
      { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: 'a' }] },
      { functionCallingConfig: { mode: 'VALIDATED', allowedFunctionNames: ['a'] } },
    ],
    [
      { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'a' }] },
      { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['a'] } },
    ],
  ])('maps tool_choice %p', (choice, toolConfig) => {
    const p = planned(plan({ input: 'x', tools: [fn('a'), fn('b')], tool_choice: choice }));
    expect(p.upstream.toolConfig).toEqual(toolConfig);
  });

  it('refuses a tool_choice naming no declared function, or requiring functions there are none of', () => {
    expect(
      refused(plan({ input: 'x', tools: [fn('a')], tool_choice: { type: 'function', name: 'zz' } })),
    ).toMatchObject({
      param: 'tool_choice.name',
    });
    expect(refused(plan({ input: 'x', tool_choice: 'required' }))).toMatchObject({ param: 'tool_choice' });
  });
});

describe('generation settings', () => {
  it('maps max_output_tokens (within Gemini 65,536), temperature, top_p and JSON output', () => {
    const p = planned(
      plan({
        input: 'x',
        max_output_tokens: 200_000,
        temperature: 0.2,
        top_p: 0.9,
        text: { format: { type: 'json_schema', name: 'w', strict: true, schema: { $schema: 'x', type: 'object' } } },
      }),
    );
    expect(p.upstream.generationConfig).toEqual({
      maxOutputTokens: 65_536,
      temperature: 0.2,
      topP: 0.9,
      responseMimeType: 'application/json',
      responseJsonSchema: { type: 'object' },
    });
    expect(planned(plan({ input: 'x', text: { format: { type: 'json_object' } } })).upstream.generationConfig).toEqual({
      responseMimeType: 'application/json',
    });
  });

  it.each([
    [MODEL, 'none', { thinkingLevel: 'minimal' }],
    [MODEL, 'low', { thinkingLevel: 'low' }],
    [MODEL, 'xhigh', { thinkingLevel: 'high' }],
    ['gemini-2.5-flash-lite', 'none', { thinkingBudget: 0 }],
    ['gemini-2.5-flash-lite', 'medium', { thinkingBudget: 8192 }],
  ])('gives %s for reasoning effort %s the thinking config %p', (model, effort, thinking) => {
    const p = planned(planResponses({ model, input: 'x', reasoning: { effort, summary: 'detailed' } }));
    expect(p.upstream.generationConfig).toEqual({ thinkingConfig: { ...thinking, includeThoughts: true } });
  });

  it('sends no thinking settings to Gemma', () => {
    const p = planned(planResponses({ model: 'gemma-3-27b-it', input: 'x', reasoning: { effort: 'high' } }));
    expect(p.upstream).not.toHaveProperty('generationConfig');
  });

  it.each([
    [{ max_output_tokens: 0 }, 'max_output_tokens'],
    [{ temperature: -1 }, 'temperature'],
    [{ reasoning: { effort: 'extreme' } }, 'reasoning.effort'],
    [{ reasoning: { summary: 'long' } }, 'reasoning.summary'],
    [{ text: { format: { type: 'yaml' } } }, 'text.format.type'],
    [{ top_logprobs: 5 }, 'top_logprobs'],
    [{ stream: 'yes' }, 'stream'],
  ])('refuses %p', (body, param) => {
    expect(refused(plan({ input: 'x', ...body }))).toMatchObject({ status: 400, param });
  });
});

describe('model and state', () => {
  it.each(['gpt-5', 'claude-sonnet-4-6', 'gemini 3', 'models/../x'])(
    '404s the model %p, naming a Gemini model',
    (model) => {
      const failure = refused(planResponses({ model, input: 'x' }));
      expect(failure).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
      expect(failure.message).toContain('gemini-3.8-flash');
    },
  );

  it('takes models/<id> as Google lists it, and asks for a model when there is none', () => {
    expect(planned(planResponses({ model: `models/${MODEL}`, input: 'x' })).geminiModel).toBe(MODEL);
    expect(refused(planResponses({ input: 'x' }))).toMatchObject({ status: 400, param: 'model' });
  });

  it.each([
    [{ previous_response_id: 'resp_1' }, 'previous_response_not_found'],
    [{ store: true }, 'store_not_supported'],
    [{ background: true }, 'background_not_supported'],
    [{ conversation: 'conv_1' }, 'conversation_not_supported'],
    [{ prompt: { id: 'pmpt_1' } }, 'prompt_not_supported'],
  ])('refuses %p, which needs state, before anything else', (body, code) => {
    const failure = refused(planResponses({ model: 'not-even-a-model', input: 'x', ...body }));
    expect(failure).toMatchObject({ status: 400, code });
    expect(failure.message).toContain('store: false');
  });

  it('accepts store: false and leaves the response unstored', () => {
    expect(planned(plan({ input: 'x', store: false })).stream).toBe(false);
  });
});
