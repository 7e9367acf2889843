/**
 * Gemini's recorded replies (the Anthropic surface's recordings: thoughts, signatures, parallel calls, finish
 * reasons) as Responses API output items, response objects and stream events.
 */
import { defined } from '../../../../helpers/guards';
import { FunctionNames } from '../../../../../workers/shard/surfaces/responses/function-names';
import { decodeCarried } from '../../../../../workers/shard/surfaces/responses/reasoning-carrier';
import {
  finalResponse,
  type ReplyOptions,
  responseFromGemini,
  ResponsesTranslator,
} from '../../../../../workers/shard/surfaces/responses/reply-translation';
import type {
  ResponseObject,
  ResponsesStreamEvent,
} from '../../../../../workers/shard/surfaces/responses/responses-types';
import {
  MALFORMED_CALL_REPLY,
  MAX_TOKENS_REPLY,
  NO_CANDIDATE_REPLY,
  PARALLEL_CALLS_REPLY,
  PROMPT_BLOCKED_REPLY,
  SAFETY_REPLY,
  SIGNATURE_CALL,
  SIGNATURE_TEXT,
  TEXT_CALL_CHUNKS,
  TEXT_REPLY,
  THINKING_CALL_REPLY,
  THINKING_TEXT_CHUNKS,
  THINKING_TEXT_REPLY,
} from '../anthropic/recordings';

const ID = 'resp_0123456789abcdef0123456789abcdef';
const UNIQUE = ID.slice('resp_'.length);

function options(names = new FunctionNames()): ReplyOptions {
  return {
    id: ID,
    model: 'gemini-3.8-flash',
    createdAt: 1_800_000_000,
    echo: {
      instructions: null,
      max_output_tokens: null,
      parallel_tool_calls: true,
      temperature: null,
      top_p: null,
      tool_choice: 'auto',
      reasoning: { effort: null, summary: 'auto' },
      text: { format: { type: 'text' } },
      metadata: {},
    },
    names,
    secrets: ['AIza-secret-key'],
  };
}

function whole(reply: unknown, names?: FunctionNames): ResponseObject {
  const translated = responseFromGemini(reply, options(names));
  if (!translated.ok) throw new Error(`failed: ${translated.message}`);
  return translated.response;
}

function streamed(chunks: readonly unknown[]): ResponsesStreamEvent[] {
  const t = new ResponsesTranslator(options());
  const events = [...t.start(), ...chunks.flatMap((c) => t.push(c))];
  const end = t.finish();
  if (!Array.isArray(end)) throw new Error(`failed: ${end.message}`);
  return [...events, ...end];
}

describe('a whole reply', () => {
  it('is a completed response with one message, and usage in OpenAI terms', () => {
    const response = whole(TEXT_REPLY);
    expect(response).toMatchObject({
      id: ID,
      object: 'response',
      created_at: 1_800_000_000,
      status: 'completed',
      error: null,
      incomplete_details: null,
      model: 'gemini-3.8-flash',
      store: false,
      previous_response_id: null,
      parallel_tool_calls: true,
      tool_choice: 'auto',
    });
    expect(response.output).toEqual([
      {
        type: 'message',
        id: `msg_${UNIQUE}_0`,
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Paris is the capital of France.', annotations: [] }],
      },
    ]);
    // input counts cached tokens, output counts thinking, and each is named again apart
    expect(response.usage).toEqual({
      input_tokens: 120,
      input_tokens_details: { cached_tokens: 100 },
      output_tokens: 58,
      output_tokens_details: { reasoning_tokens: 50 },
      total_tokens: 178,
    });
  });

  it("gives a thought summary and a call's signature a reasoning item, and the call a call_id carrying Gemini's id", () => {
    const response = whole(THINKING_CALL_REPLY);
    const [reasoning, call] = response.output;
    expect(reasoning).toEqual({
      type: 'reasoning',
      id: `rs_${UNIQUE}_0`,
      summary: [
        { type: 'summary_text', text: expect.stringContaining('The user wants the weather in Paris') as string },
      ],
      encrypted_content: expect.stringMatching(/^zr1\./) as string,
    });
    expect(decodeCarried(reasoning?.type === 'reasoning' ? reasoning.encrypted_content : null)).toEqual({
      signature: SIGNATURE_CALL,
    });
    expect(call).toEqual({
      type: 'function_call',
      id: `fc_${UNIQUE}_1`,
      call_id: `call_${UNIQUE}x1`,
      name: 'get_weather',
      arguments: '{"city":"Paris","unit":"celsius"}',
      status: 'completed',
    });
  });

  it('carries only the first of parallel calls’ signature, in a reasoning item of its own, before it', () => {
    const response = whole(PARALLEL_CALLS_REPLY);
    expect(response.output.map((item) => item.type)).toEqual(['reasoning', 'function_call', 'function_call']);
    const [reasoning, tokyo, lima] = response.output;
    expect(reasoning).toMatchObject({ summary: [] });
    expect(decodeCarried(reasoning?.type === 'reasoning' ? reasoning.encrypted_content : null)).toEqual({
      signature: SIGNATURE_CALL,
    });
    expect(tokyo?.type === 'function_call' && tokyo.call_id).toMatch(new RegExp(`^call_${UNIQUE}x1_`));
    expect(lima?.type === 'function_call' && lima.call_id).toMatch(new RegExp(`^call_${UNIQUE}x2_`));
  });

  it('names a namespaced function as the client declared it', () => {
    const names = new FunctionNames();
    names.declare('get_weather', 'weather', 'tools[0].name');
    const reply = structuredClone(PARALLEL_CALLS_REPLY);
    for (const part of reply.candidates[0]?.content.parts ?? []) part.functionCall.name = 'weather__get_weather';
    const call = whole(reply, names).output[1];
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', namespace: 'weather' });
  });

  it("closes a thought with the signature of the text after it (Gemini's place for it)", () => {
    const [reasoning, message] = whole(THINKING_TEXT_REPLY).output;
    expect(decodeCarried(reasoning?.type === 'reasoning' ? reasoning.encrypted_content : null)).toEqual({
      signature: SIGNATURE_TEXT,
    });
    expect(message).toMatchObject({ type: 'message', content: [{ text: 'It is 18 °C and sunny in Paris.' }] });
  });

  it('carries server-side tool parts (Google Search beside functions) in a reasoning item where they stood', () => {
    const toolCall = { toolCall: { id: 't1', toolType: 'GOOGLE_SEARCH_WEB', args: { queries: ['weather paris'] } } };
    const toolResponse = { toolResponse: { id: 't1', toolType: 'GOOGLE_SEARCH_WEB', response: { results: [] } } };
    const reply = {
      candidates: [
        {
          content: {
            role: 'model',
            parts: [
              { ...toolCall, thoughtSignature: 'SIG-SEARCH' },
              toolResponse,
              { functionCall: { name: 'f', args: {}, id: 'g1' }, thoughtSignature: SIGNATURE_CALL },
            ],
          },
          finishReason: 'STOP',
        },
      ],
    };
    const [reasoning, call] = whole(reply).output;
    expect(decodeCarried(reasoning?.type === 'reasoning' ? reasoning.encrypted_content : null)).toEqual({
      signature: SIGNATURE_CALL,
      parts: [{ ...toolCall, thoughtSignature: 'SIG-SEARCH' }, toolResponse],
    });
    expect(call).toMatchObject({ type: 'function_call', name: 'f' });
  });

  it.each([
    [MAX_TOKENS_REPLY, 'max_output_tokens', 'incomplete'],
    [SAFETY_REPLY, 'content_filter', undefined],
    [PROMPT_BLOCKED_REPLY, 'content_filter', undefined],
  ])('is incomplete when Gemini stopped short: %#', (reply, reason, messageStatus) => {
    const response = whole(reply);
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason } });
    expect(response.output[0]?.type === 'message' ? response.output[0].status : undefined).toBe(messageStatus);
  });

  it.each([
    [MALFORMED_CALL_REPLY, 502, 'finishReason MALFORMED_FUNCTION_CALL'],
    [NO_CANDIDATE_REPLY, 502, 'without any candidate'],
    [
      { error: { code: 429, message: 'quota for AIza-secret-key', status: 'RESOURCE_EXHAUSTED' } },
      429,
      'Gemini RESOURCE_EXHAUSTED',
    ],
    ['not an object', 502, 'not a JSON object'],
  ])('is an error the client may retry when the reply is not usable: %#', (reply, status, words) => {
    const translated = responseFromGemini(reply, options());
    expect(translated).toMatchObject({ ok: false, status });
    if (translated.ok) return;
    expect(translated.message).toContain(words);
    expect(translated.message).not.toContain('AIza-secret-key');
  });
});

describe('a streamed reply', () => {
  it('streams thoughts as reasoning summary text and text as output text, the whole agreeing with the events', () => {
    const events = streamed(THINKING_TEXT_CHUNKS);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const done = events
      .filter((e) => e.type === 'response.output_item.done')
      .map((e) => ('item' in e ? e.item : undefined));
    const response = defined(finalResponse(events), 'the final response');
    expect(response.output).toEqual(done);
    expect(response.output[1]).toMatchObject({ content: [{ text: 'Grüße aus Köln 👋' }] });
    expect(response.usage).toMatchObject({
      input_tokens: 12,
      output_tokens: 47,
      output_tokens_details: { reasoning_tokens: 40 },
    });
  });

  it('closes the text before a call, and streams the arguments in one delta', () => {
    const events = streamed(TEXT_CALL_CHUNKS);
    const types = events.map((e) => e.type);
    expect(types.slice(types.indexOf('response.output_text.done'))).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const added = events.find((e) => e.type === 'response.output_item.added' && e.item.type === 'function_call');
    expect(added).toMatchObject({ item: { arguments: '', status: 'in_progress' } });
    expect(events.find((e) => e.type === 'response.function_call_arguments.done')).toMatchObject({
      name: 'get_weather',
      arguments: '{"city":"Paris"}',
    });
  });

  it('ends a failed stream with error and response.failed, keeping what was done', () => {
    const t = new ResponsesTranslator(options());
    t.start();
    t.push(TEXT_CALL_CHUNKS[0]);
    const events = t.failedEvents({ ok: false, status: 502, code: 'upstream_interrupted', message: 'cut' });
    expect(events).toEqual([
      { type: 'error', code: 'server_error', message: 'cut', param: null },
      {
        type: 'response.failed',
        response: expect.objectContaining({
          status: 'failed',
          error: { code: 'server_error', message: 'cut' },
        }) as object,
      },
    ]);
  });
});
