/**
 * Gemini's whole (non-streamed) replies as Anthropic messages, from recorded Google shapes; and a multi-turn tool
 * conversation in which the thought signature Gemini sent survives the trip through an Anthropic client.
 */
import {
  anthropicMessageFromGemini,
  countTokensFromGemini,
  DEFAULT_ANTHROPIC_MODEL_MAP,
  planMessages,
  type AnthropicMessage,
} from '../../../../../workers/shard/surfaces/anthropic/adapter';
import { decodeToolUseId } from '../../../../../workers/shard/surfaces/anthropic/tool-use-ids';
import {
  COUNT_TOKENS_REPLY,
  MALFORMED_CALL_REPLY,
  MAX_TOKENS_REPLY,
  NO_CANDIDATE_REPLY,
  PARALLEL_CALLS_REPLY,
  PROMPT_BLOCKED_REPLY,
  SAFETY_REPLY,
  SIGNATURE_CALL,
  SIGNATURE_TEXT,
  TEXT_REPLY,
  THINKING_CALL_REPLY,
  THINKING_TEXT_REPLY,
} from './recordings';

const OPTIONS = { messageId: 'msg_0123456789abcdef0123456789abcdef', model: 'claude-opus-4-8' };
const MAP = DEFAULT_ANTHROPIC_MODEL_MAP;

type Json = Record<string, unknown>;

function message(reply: unknown): AnthropicMessage {
  const result = anthropicMessageFromGemini(reply, OPTIONS);
  if (!result.ok) throw new Error(`expected a message, got ${JSON.stringify(result.body)}`);
  return result.message;
}

describe('whole replies', () => {
  it('turns a text reply into a message with the requested model name and Anthropic usage', () => {
    expect(message(TEXT_REPLY)).toEqual({
      id: OPTIONS.messageId,
      type: 'message',
      role: 'assistant',
      model: 'claude-opus-4-8',
      content: [{ type: 'text', text: 'Paris is the capital of France.' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      // 120 prompt tokens of which 100 came from Gemini's implicit cache; 8 answer + 50 thinking tokens
      usage: { input_tokens: 20, output_tokens: 58, cache_creation_input_tokens: 0, cache_read_input_tokens: 100 },
    });
  });

  it('turns thoughts into a thinking block signed with the call that followed, and the call into tool_use', () => {
    const m = message(THINKING_CALL_REPLY);
    expect(m.stop_reason).toBe('tool_use');
    expect(m.content).toEqual([
      {
        type: 'thinking',
        thinking: '**Checking the weather**\n\nThe user wants the weather in Paris, so I will call get_weather.',
        signature: SIGNATURE_CALL,
      },
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_0123456789abcdef0123456789abcdefx0_/),
        name: 'get_weather',
        input: { city: 'Paris', unit: 'celsius' },
      },
    ]);
    const call = m.content[1];
    expect(call?.type === 'tool_use' && decodeToolUseId(call.id)).toEqual({ signature: SIGNATURE_CALL });
    expect(m.usage).toEqual({
      input_tokens: 61,
      output_tokens: 82,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
  });

  it('gives parallel calls distinct ids, each with its Gemini call id; only the first carries the signature', () => {
    const m = message(PARALLEL_CALLS_REPLY);
    const ids = m.content.map((b) => (b.type === 'tool_use' ? b.id : ''));
    expect(new Set(ids).size).toBe(2);
    expect(ids.map(decodeToolUseId)).toEqual([
      { callId: 'call-tokyo-7f2a', signature: SIGNATURE_CALL },
      { callId: 'call-lima-9c41' },
    ]);
    expect(m.content.map((b) => b.type === 'tool_use' && b.input)).toEqual([{ city: 'Tokyo' }, { city: 'Lima' }]);
  });

  it('translates the same reply to the same message (ids derive from the message id, not from randomness)', () => {
    expect(message(PARALLEL_CALLS_REPLY)).toEqual(message(PARALLEL_CALLS_REPLY));
  });

  it('stops with max_tokens when Gemini ran out of output tokens', () => {
    expect(message(MAX_TOKENS_REPLY)).toMatchObject({
      stop_reason: 'max_tokens',
      content: [{ type: 'text', text: 'Once upon a' }],
    });
  });

  it("answers Google's safety stop and a blocked prompt as a refusal that says why", () => {
    expect(message(SAFETY_REPLY)).toMatchObject({
      content: [],
      stop_reason: 'refusal',
      stop_details: {
        type: 'refusal',
        category: null,
        explanation: 'Gemini stopped the reply with finishReason SAFETY.',
      },
    });
    expect(message(PROMPT_BLOCKED_REPLY)).toMatchObject({
      content: [],
      stop_reason: 'refusal',
      stop_details: { explanation: 'Gemini blocked the prompt (blockReason PROHIBITED_CONTENT); rephrase it.' },
      usage: { input_tokens: 9, output_tokens: 0 },
    });
  });

  it('answers a reply Gemini could not finish as a 502 api_error the client may retry', () => {
    expect(anthropicMessageFromGemini(MALFORMED_CALL_REPLY, OPTIONS)).toEqual({
      ok: false,
      status: 502,
      body: {
        type: 'error',
        error: {
          type: 'api_error',
          message:
            'Gemini stopped the reply with finishReason MALFORMED_FUNCTION_CALL (Malformed function call: print(default_api.get_weather(city=Paris))), so the reply is not usable; retry the request.',
        },
      },
    });
    expect(anthropicMessageFromGemini(NO_CANDIDATE_REPLY, OPTIONS)).toMatchObject({
      ok: false,
      status: 502,
      body: {
        error: { type: 'api_error', message: 'Gemini answered without any candidate reply; retry the request.' },
      },
    });
    expect(anthropicMessageFromGemini('not an object', OPTIONS)).toMatchObject({ ok: false, status: 502 });
  });

  it('answers an error inside a reply with its status, its type and its message, secrets redacted', () => {
    const key = 'AIzaSy-canary-key-0001';
    const result = anthropicMessageFromGemini(
      { error: { code: 503, message: `Backend for ${key} overloaded`, status: 'UNAVAILABLE' } },
      { ...OPTIONS, secrets: [key] },
    );
    expect(result).toEqual({
      ok: false,
      status: 503,
      body: {
        type: 'error',
        error: { type: 'overloaded_error', message: 'Gemini UNAVAILABLE: Backend for [redacted] overloaded' },
      },
    });
  });
});

describe('count_tokens answers', () => {
  it("gives Gemini's total as input_tokens; a zero count (left out of Google's JSON) as 0", () => {
    expect(countTokensFromGemini(COUNT_TOKENS_REPLY)).toEqual({ ok: true, body: { input_tokens: 31 } });
    expect(countTokensFromGemini({})).toEqual({ ok: true, body: { input_tokens: 0 } });
    expect(countTokensFromGemini({ totalTokens: 'many' })).toMatchObject({ ok: false, status: 502 });
  });
});

describe('a multi-turn tool conversation', () => {
  it("keeps Gemini's thought signatures across turns, in the parts they came on", () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const question = { role: 'user', content: 'Weather in Paris?' };

    // turn 1: Gemini thinks, then calls the function; the client keeps the assistant content as it got it
    const first = message(THINKING_CALL_REPLY);
    const call = first.content.find((b) => b.type === 'tool_use');
    if (call?.type !== 'tool_use') throw new Error('no tool_use');
    const history: Json[] = [
      question,
      { role: 'assistant', content: JSON.parse(JSON.stringify(first.content)) as unknown },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '18 °C, sunny' }] },
    ];
    const second = planMessages({ model: 'claude-opus-4-8', max_tokens: 2048, tools, messages: history }, MAP);
    if (!second.ok) throw new Error(JSON.stringify(second.body));
    expect((JSON.parse(second.plan.body) as { contents: unknown[] }).contents.slice(1)).toEqual([
      {
        role: 'model',
        parts: [
          {
            functionCall: { name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } },
            thoughtSignature: SIGNATURE_CALL,
          },
        ],
      },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: '18 °C, sunny' } } }] },
    ]);

    // turn 2: Gemini answers in text; its signature rides on the thinking block and returns on the text part
    const answer = message(THINKING_TEXT_REPLY);
    expect(answer.content).toEqual([
      { type: 'thinking', thinking: 'The tool says 18 °C and sunny.', signature: SIGNATURE_TEXT },
      { type: 'text', text: 'It is 18 °C and sunny in Paris.' },
    ]);
    history.push(
      { role: 'assistant', content: JSON.parse(JSON.stringify(answer.content)) as unknown },
      { role: 'user', content: 'Thanks!' },
    );
    const third = planMessages({ model: 'claude-opus-4-8', max_tokens: 2048, tools, messages: history }, MAP);
    if (!third.ok) throw new Error(JSON.stringify(third.body));
    const contents = (JSON.parse(third.plan.body) as { contents: Json[] }).contents;
    expect(contents.map((c) => c.role)).toEqual(['user', 'model', 'user', 'model', 'user']);
    expect(contents[1]).toEqual({
      role: 'model',
      parts: [
        {
          functionCall: { name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } },
          thoughtSignature: SIGNATURE_CALL,
        },
      ],
    });
    expect(contents[3]).toEqual({
      role: 'model',
      parts: [{ text: 'It is 18 °C and sunny in Paris.', thoughtSignature: SIGNATURE_TEXT }],
    });
  });
});
