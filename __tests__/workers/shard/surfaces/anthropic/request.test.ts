/**
 * Anthropic Messages requests as Gemini native requests: every field the adapter maps, the plan the key core gets,
 * model names, and the refusals (Anthropic's invalid_request_error / not_found_error naming the field).
 */
import {
  DEFAULT_ANTHROPIC_MODEL_MAP,
  needsPlaceholderSignatures,
  parseAnthropicModelMap,
  planCountTokens,
  planMessages,
  type AnthropicModelMap,
  type PlanResult,
} from '../../../../../workers/shard/surfaces/anthropic/adapter';
import { SKIP_SIGNATURE_VALIDATOR } from '../../../../../workers/shard/surfaces/anthropic/request-translation';
import { cleanSchema } from '../../../../../workers/shard/surfaces/anthropic/tool-schema';
import { decodeToolUseId, encodeToolUseId } from '../../../../../workers/shard/surfaces/anthropic/tool-use-ids';
import { SIGNATURE_CALL, SIGNATURE_TEXT } from './recordings';

const MAP: AnthropicModelMap = DEFAULT_ANTHROPIC_MODEL_MAP;
const USER = { role: 'user', content: 'What is the weather in Paris?' };

type Json = Record<string, unknown>;

function base(extra: Json = {}): Json {
  return { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [USER], ...extra };
}

function planned(result: PlanResult) {
  if (!result.ok) throw new Error(`expected a plan, got ${JSON.stringify(result.body)}`);
  return result.plan;
}

/** The Gemini request body a request plans. */
function gemini(body: Json, map: AnthropicModelMap = MAP): Json {
  return JSON.parse(planned(planMessages(body, map)).body) as Json;
}

function refusal(result: PlanResult): { status: number; type: string; message: string } {
  if (result.ok) throw new Error('expected a refusal');
  expect(result.body.type).toBe('error');
  return { status: result.status, type: result.body.error.type, message: result.body.error.message };
}

describe('plan', () => {
  it('calls generateContent for a plain request, with the Gemini model in a path built from its id', () => {
    const plan = planned(planMessages(base(), MAP));
    expect(plan).toMatchObject({
      geminiModel: 'gemini-3.5-flash',
      requestedModel: 'claude-sonnet-4-5',
      stream: false,
      upstreamPath: '/v1beta/models/gemini-3.5-flash:generateContent',
      upstreamSearch: '',
    });
    expect(JSON.parse(plan.body)).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'What is the weather in Paris?' }] }],
      generationConfig: { maxOutputTokens: 1024 },
    });
  });

  it('streams through streamGenerateContent?alt=sse when the client asks for a stream', () => {
    expect(planned(planMessages(base({ stream: true }), MAP))).toMatchObject({
      stream: true,
      upstreamPath: '/v1beta/models/gemini-3.5-flash:streamGenerateContent',
      upstreamSearch: '?alt=sse',
    });
  });

  it('counts tokens through countTokens with the request wrapped in generateContentRequest (no max_tokens needed)', () => {
    const plan = planned(
      planCountTokens({ model: 'claude-opus-4-8', system: 'Be brief.', messages: [USER], tools: [weatherTool()] }, MAP),
    );
    expect(plan).toMatchObject({
      stream: false,
      upstreamPath: '/v1beta/models/gemini-3.8-flash:countTokens',
      upstreamSearch: '',
    });
    expect(JSON.parse(plan.body)).toEqual({
      generateContentRequest: {
        model: 'models/gemini-3.8-flash',
        contents: [{ role: 'user', parts: [{ text: 'What is the weather in Paris?' }] }],
        systemInstruction: { parts: [{ text: 'Be brief.' }] },
        tools: [
          {
            functionDeclarations: [
              {
                name: 'get_weather',
                description: 'Weather for a city.',
                parametersJsonSchema: weatherTool().input_schema,
              },
            ],
          },
        ],
      },
    });
  });

  it('refuses a body that is not an object, and a stream flag that is not a boolean', () => {
    expect(refusal(planMessages([1, 2], MAP))).toMatchObject({ status: 400, type: 'invalid_request_error' });
    expect(refusal(planMessages(base({ stream: 'yes' }), MAP))).toEqual({
      status: 400,
      type: 'invalid_request_error',
      message: 'stream: expected true or false, received the string "yes".',
    });
  });
});

describe('model names', () => {
  it.each([
    ['claude-opus-4-8', 'gemini-3.8-flash'],
    ['claude-opus-4-1-20250805', 'gemini-3.8-flash'],
    ['claude-sonnet-4-5-20250929', 'gemini-3.5-flash'],
    ['claude-3-7-sonnet-latest', 'gemini-3.5-flash'],
    ['claude-3-5-haiku-latest', 'gemini-3.5-flash-lite'],
    ['claude-haiku-4-5', 'gemini-3.5-flash-lite'],
    ['claude-fable-5', 'gemini-3.8-flash'],
    ['claude-mythos-5-2', 'gemini-3.8-flash'],
    ['gemini-3.8-flash', 'gemini-3.8-flash'],
    ['models/gemini-3.5-flash', 'gemini-3.5-flash'],
    ['gemma-3-27b-it', 'gemma-3-27b-it'],
  ])('%s is answered by %s, and the client name is echoed', (requested, answered) => {
    const plan = planned(planMessages(base({ model: requested }), MAP));
    expect(plan.geminiModel).toBe(answered);
    expect(plan.requestedModel).toBe(requested);
  });

  it('follows the configured map', () => {
    const map = { ...MAP, opus: 'gemini-3.1-pro-preview' };
    expect(planned(planMessages(base({ model: 'claude-opus-4-8' }), map)).upstreamPath).toBe(
      '/v1beta/models/gemini-3.1-pro-preview:generateContent',
    );
  });

  it('answers other names with not_found_error naming the families and the Gemini models behind them', () => {
    for (const model of ['gpt-4o', 'claude-2.1', 'claude-instant-1.2', 'gemini-../../files', 'gemini-x y']) {
      const r = refusal(planMessages(base({ model }), MAP));
      expect(r).toMatchObject({ status: 404, type: 'not_found_error' });
      expect(r.message).toContain(JSON.stringify(model));
      expect(r.message).toContain(
        '(opus → gemini-3.8-flash, sonnet → gemini-3.5-flash, haiku → gemini-3.5-flash-lite, fable',
      );
    }
  });

  it('requires a model', () => {
    expect(refusal(planMessages({ max_tokens: 5, messages: [USER] }, MAP))).toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      message: expect.stringMatching(/^model: Field required/),
    });
  });

  it('has defaults per model line, and reads the synth-time setting', () => {
    expect(DEFAULT_ANTHROPIC_MODEL_MAP).toEqual({
      opus: 'gemini-3.8-flash',
      sonnet: 'gemini-3.5-flash',
      haiku: 'gemini-3.5-flash-lite',
      fable: 'gemini-3.8-flash',
      mythos: 'gemini-3.8-flash',
    });
    expect(parseAnthropicModelMap(undefined)).toEqual({ ok: true, map: DEFAULT_ANTHROPIC_MODEL_MAP });
    expect(parseAnthropicModelMap('  ')).toEqual({ ok: true, map: DEFAULT_ANTHROPIC_MODEL_MAP });
    expect(parseAnthropicModelMap('{"opus":"gemini-3.1-pro-preview"}')).toEqual({
      ok: true,
      map: { ...DEFAULT_ANTHROPIC_MODEL_MAP, opus: 'gemini-3.1-pro-preview' },
    });
    expect(parseAnthropicModelMap('{"opus":')).toMatchObject({
      ok: false,
      problem: expect.stringContaining('not JSON'),
    });
    expect(parseAnthropicModelMap('["x"]')).toEqual({
      ok: false,
      problem:
        'ANTHROPIC_MODEL_MAP must be a JSON object from Claude model lines (opus, sonnet, …) to Gemini model ids',
    });
    expect(parseAnthropicModelMap('{"Opus 5":"gemini-3.5-flash"}')).toEqual({
      ok: false,
      problem:
        'ANTHROPIC_MODEL_MAP has the key "Opus 5"; keys are Claude model lines in lowercase letters (opus, sonnet, haiku, fable, mythos, …)',
    });
    expect(parseAnthropicModelMap('{"haiku":"gemini/../x"}')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^ANTHROPIC_MODEL_MAP\.haiku must be a Gemini model id/),
    });
  });

  it('serves a model line Anthropic adds later once the setting names it', () => {
    const parsed = parseAnthropicModelMap('{"saga":"gemini-3.7-flash"}');
    if (!parsed.ok) throw new Error(parsed.problem);
    expect(planned(planMessages(base({ model: 'claude-saga-6' }), parsed.map)).geminiModel).toBe('gemini-3.7-flash');
    expect(refusal(planMessages(base({ model: 'claude-saga-6' }), MAP)).status).toBe(404);
  });
});

describe('system prompt and messages', () => {
  it('sends the system prompt, a string or text blocks (cache_control ignored), as systemInstruction', () => {
    expect(gemini(base({ system: 'You are terse.' })).systemInstruction).toEqual({
      parts: [{ text: 'You are terse.' }],
    });
    expect(
      gemini(
        base({
          system: [
            { type: 'text', text: 'You are Claude Code.' },
            { type: 'text', text: 'Project rules…', cache_control: { type: 'ephemeral' } },
          ],
        }),
      ).systemInstruction,
    ).toEqual({ parts: [{ text: 'You are Claude Code.' }, { text: 'Project rules…' }] });
  });

  it('adds system-role messages to the system instruction', () => {
    const body = gemini(base({ system: 'One.', messages: [{ role: 'system', content: 'Two.' }, USER] }));
    expect(body.systemInstruction).toEqual({ parts: [{ text: 'One.' }, { text: 'Two.' }] });
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'What is the weather in Paris?' }] }]);
  });

  it('maps roles, keeps text blocks, merges consecutive messages of one role and skips empty ones', () => {
    expect(
      gemini(
        base({
          messages: [
            { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
            { role: 'user', content: [{ type: 'text', text: 'there', cache_control: { type: 'ephemeral' } }] },
            { role: 'assistant', content: 'Hello!' },
            { role: 'assistant', content: [] },
            { role: 'user', content: 'Bye' },
          ],
        }),
      ).contents,
    ).toEqual([
      { role: 'user', parts: [{ text: 'Hi' }, { text: 'there' }] },
      { role: 'model', parts: [{ text: 'Hello!' }] },
      { role: 'user', parts: [{ text: 'Bye' }] },
    ]);
  });

  it('refuses a conversation with no content, a bad role and a bad content', () => {
    expect(refusal(planMessages(base({ messages: [] }), MAP)).message).toBe(
      'messages: at least one message is required.',
    );
    expect(refusal(planMessages(base({ messages: [{ role: 'user', content: '' }] }), MAP)).message).toMatch(
      /^messages: every message is empty/,
    );
    expect(refusal(planMessages(base({ messages: [{ role: 'tool', content: 'x' }] }), MAP)).message).toBe(
      'messages[0].role: expected "user" or "assistant", received the string "tool".',
    );
    expect(refusal(planMessages(base({ messages: [{ role: 'user', content: 42 }] }), MAP)).message).toBe(
      'messages[0].content: expected a string or an array of blocks, received 42.',
    );
  });

  it('sends base64 images inline and image URLs as fileData for Google to fetch', () => {
    const body = gemini(
      base({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/cat.JPG?size=large' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/render?id=7' } },
              { type: 'text', text: 'Compare them.' },
            ],
          },
        ],
      }),
    );
    expect(body.contents).toEqual([
      {
        role: 'user',
        parts: [
          { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
          { fileData: { fileUri: 'https://example.com/cat.JPG?size=large', mimeType: 'image/jpeg' } },
          { fileData: { fileUri: 'https://example.com/render?id=7' } },
          { text: 'Compare them.' },
        ],
      },
    ]);
  });

  it('refuses images Gemini cannot take, naming the field and what to send instead', () => {
    const image = (source: Json) => base({ messages: [{ role: 'user', content: [{ type: 'image', source }] }] });
    expect(refusal(planMessages(image({ type: 'url', url: 'file:///etc/passwd' }), MAP)).message).toBe(
      'messages[0].content[0].source.url: Gemini fetches only http(s) URLs, received a file: URL; send the data as base64 instead.',
    );
    expect(refusal(planMessages(image({ type: 'url', url: 'not a url' }), MAP)).message).toBe(
      'messages[0].content[0].source.url: expected an absolute http(s) URL.',
    );
    expect(refusal(planMessages(image({ type: 'file', file_id: 'file_011' }), MAP)).message).toMatch(
      /^messages\[0\]\.content\[0\]\.source\.type: Anthropic Files API ids mean nothing to Gemini/,
    );
    expect(refusal(planMessages(image({ type: 'base64', media_type: 'image/tiff', data: 'AA==' }), MAP)).message).toBe(
      'messages[0].content[0].source.media_type: expected one of image/jpeg, image/png, image/gif, image/webp, received the string "image/tiff".',
    );
  });

  it('sends PDF documents inline or by URL, and plain-text and content documents as text', () => {
    const body = gemini(
      base({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
              { type: 'document', source: { type: 'url', url: 'https://example.com/paper.pdf' } },
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Plain notes.' } },
              { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'Chunk one.' }] } },
              {
                type: 'search_result',
                source: 'https://example.com',
                title: 'Result',
                content: [{ type: 'text', text: 'Snippet.' }],
              },
            ],
          },
        ],
      }),
    );
    expect((body.contents as Json[])[0]).toEqual({
      role: 'user',
      parts: [
        { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
        { fileData: { fileUri: 'https://example.com/paper.pdf', mimeType: 'application/pdf' } },
        { text: 'Plain notes.' },
        { text: 'Chunk one.' },
        { text: 'Result\nhttps://example.com\nSnippet.' },
      ],
    });
  });

  it("refuses blocks of Anthropic's server tools and unknown block types", () => {
    const assistant = (block: Json) => base({ messages: [USER, { role: 'assistant', content: [block] }] });
    expect(
      refusal(
        planMessages(assistant({ type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} }), MAP),
      ).message,
    ).toBe(
      'messages[1].content[0].type: "server_tool_use" blocks come from Anthropic\'s server-side tools, which this gateway cannot run; leave them out of the conversation.',
    );
    expect(
      refusal(planMessages(assistant({ type: 'web_search_tool_result', tool_use_id: 'x', content: [] }), MAP)).message,
    ).toMatch(/"web_search_tool_result" blocks come from Anthropic's server-side tools/);
    expect(refusal(planMessages(assistant({ type: 'hologram' }), MAP)).message).toBe(
      'messages[1].content[0].type: expected "text", "thinking", "redacted_thinking", "tool_use" or "image", received the string "hologram".',
    );
  });
});

function weatherTool(): Json {
  return {
    name: 'get_weather',
    description: 'Weather for a city.',
    input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  };
}

describe('tools', () => {
  it('declares tools with their full JSON Schema in parametersJsonSchema, without what Gemini refuses', () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: {
        path: { type: 'string', description: 'Absolute path' },
        limit: { type: 'integer', exclusiveMinimum: 0 },
        mode: { anyOf: [{ const: 'read' }, { const: 'write' }] },
        target: { $ref: '#/$defs/Target', description: 'dropped: Gemini refuses keywords beside $ref' },
        $schema: { type: 'string', description: 'a property that happens to be named $schema' },
      },
      required: ['path'],
      additionalProperties: false,
      $defs: { Target: { type: 'object', properties: { id: { type: 'string' } }, additionalProperties: false } },
    };
    const body = gemini(
      base({
        tools: [
          { name: 'Read', description: 'Read a file.', input_schema: schema, cache_control: { type: 'ephemeral' } },
        ],
      }),
    );
    expect(body.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: 'Read',
            description: 'Read a file.',
            parametersJsonSchema: {
              type: 'object',
              properties: {
                path: { type: 'string', description: 'Absolute path' },
                limit: { type: 'integer', exclusiveMinimum: 0 },
                mode: { anyOf: [{ const: 'read' }, { const: 'write' }] },
                target: { $ref: '#/$defs/Target' },
                $schema: { type: 'string', description: 'a property that happens to be named $schema' },
              },
              required: ['path'],
              additionalProperties: false,
              $defs: {
                Target: { type: 'object', properties: { id: { type: 'string' } }, additionalProperties: false },
              },
            },
          },
        ],
      },
    ]);
  });

  it('leaves data keywords (enum, const, default, examples) as they are', () => {
    const data = { $schema: 'kept: this is data', $ref: 'also data' };
    expect(cleanSchema({ type: 'object', default: data, examples: [data], enum: [data], const: data })).toEqual({
      type: 'object',
      default: data,
      examples: [data],
      enum: [data],
      const: data,
    });
  });

  it.each([
    [{ type: 'auto' }, { functionCallingConfig: { mode: 'AUTO' } }],
    [{ type: 'any', disable_parallel_tool_use: true }, { functionCallingConfig: { mode: 'ANY' } }],
    [{ type: 'none' }, { functionCallingConfig: { mode: 'NONE' } }],
    [
      { type: 'tool', name: 'get_weather' },
      { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
    ],
  ])('tool_choice %j → toolConfig %j', (choice, config) => {
    expect(gemini(base({ tools: [weatherTool()], tool_choice: choice })).toolConfig).toEqual(config);
  });

  it('sends no tools and no toolConfig when there are no tools', () => {
    const body = gemini(base({ tools: [], tool_choice: { type: 'auto' } }));
    expect(body).not.toHaveProperty('tools');
    expect(body).not.toHaveProperty('toolConfig');
  });

  it('refuses a forced tool that is not declared, a bad tool_choice and tools Gemini does not offer', () => {
    expect(
      refusal(planMessages(base({ tools: [weatherTool()], tool_choice: { type: 'tool', name: 'get_time' } }), MAP))
        .message,
    ).toBe('tool_choice.name: "get_time" is not the name of a tool in tools.');
    expect(
      refusal(planMessages(base({ tools: [weatherTool()], tool_choice: { type: 'required' } }), MAP)).message,
    ).toBe('tool_choice.type: expected "auto", "any", "tool" or "none", received the string "required".');
    expect(refusal(planMessages(base({ tools: [{ type: 'bash_20250124', name: 'bash' }] }), MAP)).message).toBe(
      'tools[0].type: the string "bash_20250124" is a tool Anthropic defines or runs itself, which Gemini does not offer; declare it as a custom tool with a name and an input_schema.',
    );
    expect(refusal(planMessages(base({ tools: [{ name: 'x' }] }), MAP)).message).toBe(
      'tools[0].input_schema: expected an object, received nothing.',
    );
  });
});

describe('generation settings', () => {
  it('maps max_tokens, stop_sequences, temperature, top_p and top_k, and ignores metadata and service fields', () => {
    expect(
      gemini(
        base({
          max_tokens: 32000,
          stop_sequences: ['\n\nHuman:', 'END'],
          temperature: 0.2,
          top_p: 0.9,
          top_k: 40,
          metadata: { user_id: 'user_abc' },
          service_tier: 'auto',
          context_management: { edits: [] },
        }),
      ),
    ).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'What is the weather in Paris?' }] }],
      generationConfig: {
        maxOutputTokens: 32000,
        temperature: 0.2,
        topP: 0.9,
        topK: 40,
        stopSequences: ['\n\nHuman:', 'END'],
      },
    });
  });

  it("lowers max_tokens above Gemini's output limit to the limit", () => {
    expect(gemini(base({ max_tokens: 128_000 })).generationConfig).toEqual({ maxOutputTokens: 65_536 });
    expect(gemini(base({ max_tokens: 65_536 })).generationConfig).toEqual({ maxOutputTokens: 65_536 });
  });

  it('refuses a missing max_tokens, wrong sampling values and more stop sequences than Gemini takes', () => {
    expect(refusal(planMessages({ model: 'claude-sonnet-4-5', messages: [USER] }, MAP))).toEqual({
      status: 400,
      type: 'invalid_request_error',
      message: 'max_tokens: expected a positive integer, received nothing.',
    });
    expect(refusal(planMessages(base({ temperature: 'hot' }), MAP)).message).toBe(
      'temperature: expected a non-negative number, received the string "hot".',
    );
    expect(refusal(planMessages(base({ top_k: 2.5 }), MAP)).message).toBe(
      'top_k: expected a non-negative integer, received 2.5.',
    );
    expect(refusal(planMessages(base({ stop_sequences: ['a', 'b', 'c', 'd', 'e', 'f'] }), MAP)).message).toBe(
      'stop_sequences: Gemini accepts at most 5 stop sequences, received 6.',
    );
  });

  it.each([
    [
      { type: 'enabled', budget_tokens: 10000 },
      { thinkingBudget: 10000, includeThoughts: true },
    ],
    [
      { type: 'enabled', budget_tokens: 2048, display: 'omitted' },
      { thinkingBudget: 2048, includeThoughts: false },
    ],
    [{ type: 'adaptive' }, { includeThoughts: true }],
  ])('thinking %j → thinkingConfig %j', (thinking, config) => {
    expect((gemini(base({ thinking })).generationConfig as Json).thinkingConfig).toEqual(config);
  });

  it('sends no thinkingConfig when thinking is disabled, and refuses a bad budget', () => {
    expect(gemini(base({ thinking: { type: 'disabled' } })).generationConfig).toEqual({ maxOutputTokens: 1024 });
    expect(gemini(base({ thinking: { type: 'adaptive', display: 'omitted' } })).generationConfig).toEqual({
      maxOutputTokens: 1024,
    });
    expect(refusal(planMessages(base({ thinking: { type: 'enabled' } }), MAP)).message).toBe(
      'thinking.budget_tokens: expected a positive integer, received nothing.',
    );
  });

  it('asks for JSON output with the schema of output_config.format', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { a: { type: 'integer' } },
    };
    expect(gemini(base({ output_config: { format: { type: 'json_schema', schema } } })).generationConfig).toEqual({
      maxOutputTokens: 1024,
      responseMimeType: 'application/json',
      responseJsonSchema: { type: 'object', properties: { a: { type: 'integer' } } },
    });
    expect(refusal(planMessages(base({ output_config: { format: { type: 'xml' } } }), MAP)).message).toBe(
      'output_config.format.type: expected "json_schema", received the string "xml".',
    );
  });
});

describe('tool use round trips', () => {
  const callId = encodeToolUseId('a1x0', { signature: SIGNATURE_CALL, callId: 'call-7f2a' });

  function conversation(toolUseId: string, extraAssistant: Json[] = []): Json {
    return base({
      model: 'claude-opus-4-8',
      tools: [weatherTool()],
      messages: [
        USER,
        {
          role: 'assistant',
          content: [
            ...extraAssistant,
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: toolUseId, name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUseId, content: '18 °C, sunny' }] },
      ],
    });
  }

  it("restores the function call's thought signature and Gemini's call id from the tool_use id", () => {
    expect(gemini(conversation(callId)).contents).toEqual([
      { role: 'user', parts: [{ text: 'What is the weather in Paris?' }] },
      {
        role: 'model',
        parts: [
          { text: 'Let me check.' },
          {
            functionCall: { name: 'get_weather', args: { city: 'Paris' }, id: 'call-7f2a' },
            thoughtSignature: SIGNATURE_CALL,
          },
        ],
      },
      {
        role: 'user',
        parts: [{ functionResponse: { name: 'get_weather', response: { output: '18 °C, sunny' }, id: 'call-7f2a' } }],
      },
    ]);
  });

  it("puts a thinking block's signature back on the part that followed the thought", () => {
    const body = gemini(
      conversation('toolu_01A09q90qw90lq917835lq9', [
        { type: 'thinking', thinking: 'Hmm.', signature: SIGNATURE_TEXT },
      ]),
    );
    expect((body.contents as Json[])[1]).toEqual({
      role: 'model',
      parts: [
        { text: 'Let me check.', thoughtSignature: SIGNATURE_TEXT },
        // a call without a signature of its own, first in its turn, on Gemini 3: Google's documented placeholder
        { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: SKIP_SIGNATURE_VALIDATOR },
      ],
    });
  });

  it('gives a Gemini 3 function call that lost its signature the placeholder, but not a Gemini 2.5 one', () => {
    const foreign = 'toolu_01A09q90qw90lq917835lq9';
    const model = (m: string) => (gemini({ ...conversation(foreign), model: m }).contents as Json[])[1];
    expect(model('claude-opus-4-8')).toEqual({
      role: 'model',
      parts: [
        { text: 'Let me check.' },
        { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: SKIP_SIGNATURE_VALIDATOR },
      ],
    });
    expect(model('gemini-2.5-flash-lite')).toEqual({
      role: 'model',
      parts: [{ text: 'Let me check.' }, { functionCall: { name: 'get_weather', args: { city: 'Paris' } } }],
    });
    expect(needsPlaceholderSignatures('gemini-3.8-flash')).toBe(true);
    expect(needsPlaceholderSignatures('gemini-flash-latest')).toBe(true);
    expect(needsPlaceholderSignatures('gemini-10.0-ultra')).toBe(true);
    expect(needsPlaceholderSignatures('gemini-2.5-flash-lite')).toBe(false);
    expect(needsPlaceholderSignatures('gemma-3-27b-it')).toBe(false);
  });

  it('answers parallel calls in one user turn, results first, with errors, images and plain text after them', () => {
    const [a, b] = [
      encodeToolUseId('m1x0', { callId: 'call-a', signature: SIGNATURE_CALL }),
      encodeToolUseId('m1x1', { callId: 'call-b' }),
    ];
    const body = gemini(
      base({
        model: 'claude-opus-4-8',
        messages: [
          USER,
          {
            role: 'assistant',
            content: [
              { type: 'tool_use', id: a, name: 'screenshot', input: {} },
              { type: 'tool_use', id: b, name: 'get_weather', input: { city: 'Lima' } },
            ],
          },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: a,
                content: [
                  { type: 'text', text: 'Screen captured.' },
                  { type: 'image', source: { type: 'base64', media_type: 'image/webp', data: 'UklGRg==' } },
                ],
              },
              {
                type: 'tool_result',
                tool_use_id: b,
                is_error: true,
                content: [{ type: 'text', text: 'Lima: service down' }],
              },
              { type: 'text', text: 'Go on.' },
            ],
          },
        ],
      }),
    );
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'What is the weather in Paris?' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'screenshot', args: {}, id: 'call-a' }, thoughtSignature: SIGNATURE_CALL },
          // only the first call of a step carries a signature; the second gets none, as Gemini sent it
          { functionCall: { name: 'get_weather', args: { city: 'Lima' }, id: 'call-b' } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'screenshot', response: { output: 'Screen captured.' }, id: 'call-a' } },
          { inlineData: { mimeType: 'image/webp', data: 'UklGRg==' } },
          { functionResponse: { name: 'get_weather', response: { error: 'Lima: service down' }, id: 'call-b' } },
          { text: 'Go on.' },
        ],
      },
    ]);
  });

  it('refuses a tool_result that answers no tool_use, and a tool_use input that is not an object', () => {
    const orphan = base({
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_nowhere', content: 'x' }] }],
    });
    expect(refusal(planMessages(orphan, MAP)).message).toBe(
      'messages[0].content[0].tool_use_id: no tool_use block with id "toolu_nowhere" in an earlier assistant message; every tool_result must answer one.',
    );
    const badInput = base({
      messages: [USER, { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'n', input: 'x' }] }],
    });
    expect(refusal(planMessages(badInput, MAP)).message).toBe(
      'messages[1].content[0].input: expected an object, received the string "x".',
    );
  });

  it('drops redacted_thinking blocks and thought text (Gemini keeps its reasoning in the signature)', () => {
    const body = gemini(
      base({
        messages: [
          USER,
          {
            role: 'assistant',
            content: [
              { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4a' },
              { type: 'thinking', thinking: 'Private reasoning', signature: '' },
              { type: 'text', text: 'Sunny.' },
            ],
          },
        ],
      }),
    );
    expect((body.contents as Json[])[1]).toEqual({ role: 'model', parts: [{ text: 'Sunny.' }] });
  });
});

describe('tool_use ids', () => {
  it('carry a call id and a signature (any characters) and give them back exactly', () => {
    const signature = `${SIGNATURE_CALL}/ü+é=`;
    const id = encodeToolUseId('ab12x3', { callId: 'call-ä', signature });
    expect(id).toMatch(/^toolu_ab12x3_[A-Za-z0-9_-]+$/);
    expect(decodeToolUseId(id)).toEqual({ callId: 'call-ä', signature });
  });

  it('are short and plain when there is nothing to carry, and keep only letters and digits of the unique part', () => {
    expect(encodeToolUseId('msg-01/x', {})).toBe('toolu_msg01x');
    expect(decodeToolUseId('toolu_msg01x')).toEqual({});
  });

  it('carry nothing when they come from elsewhere or were altered', () => {
    const id = encodeToolUseId('a', { signature: SIGNATURE_CALL });
    for (const other of [
      'toolu_01A09q90qw90lq917835lq9',
      'call_123',
      `${id}!`,
      `${id.slice(0, -3)}`,
      'toolu_a_bm90IGpzb24',
      'toolu_a_WzFd',
    ]) {
      expect(decodeToolUseId(other)).toEqual({});
    }
  });
});
