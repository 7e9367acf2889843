/**
 * Gemini SSE streams as Anthropic SSE streams: the exact event sequence, however the upstream bytes are split
 * (inside an event, inside a CRLF, inside a UTF-8 character); events leave as soon as the chunk that completes them
 * arrives; and every way a stream can break ends in Anthropic's `event: error`.
 */
import { anthropicStreamFromGemini, UpstreamStreamCut } from '../../../../../workers/shard/surfaces/anthropic/adapter';
import { SseDataDecoder } from '../../../../../workers/shard/core/sse-decoder';
import { geminiSse, SIGNATURE_CALL, SIGNATURE_TEXT, TEXT_CALL_CHUNKS, THINKING_TEXT_CHUNKS } from './recordings';

const OPTIONS = { messageId: 'msg_00000000000000000000000000000abc', model: 'claude-sonnet-4-5' };
const CUT = 'The connection to Gemini broke before the reply was complete; retry the request.';

interface WireEvent {
  readonly event: string;
  readonly data: unknown;
}

const encoder = new TextEncoder();

/** Parses an Anthropic SSE body, checking that each event's name matches its data's type. */
function parseEvents(text: string): WireEvent[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .slice(0, -2)
    .split('\n\n')
    .map((block) => {
      const match = /^event: ([a-z_]+)\ndata: (.*)$/s.exec(block);
      if (!match) throw new Error(`not an SSE event: ${JSON.stringify(block)}`);
      const [, event = '', data = ''] = match;
      const parsed = JSON.parse(data) as { type?: unknown };
      expect(parsed.type).toBe(event);
      return { event, data: parsed };
    });
}

function upstreamOf(pieces: readonly Uint8Array[], end: 'close' | Error = 'close'): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const piece = pieces[i++];
      if (piece !== undefined) controller.enqueue(piece);
      else if (end === 'close') controller.close();
      else controller.error(end);
    },
  });
}

async function translate(
  pieces: readonly Uint8Array[],
  end: 'close' | Error = 'close',
  onError?: (e: unknown) => void,
) {
  const body = anthropicStreamFromGemini(upstreamOf(pieces, end), { ...OPTIONS, ...(onError ? { onError } : {}) });
  return parseEvents(await new Response(body).text());
}

function splitEvery(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

const usage = (input: number, output: number) => ({
  input_tokens: input,
  output_tokens: output,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
});

const START = {
  event: 'message_start',
  data: {
    type: 'message_start',
    message: {
      id: OPTIONS.messageId,
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: usage(12, 28),
    },
  },
};
const PING = { event: 'ping', data: { type: 'ping' } };

const delta = (index: number, d: Record<string, string>) => ({
  event: 'content_block_delta',
  data: { type: 'content_block_delta', index, delta: d },
});
const stop = (index: number) => ({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });

/** What THINKING_TEXT_CHUNKS must become, event for event. */
const THINKING_TEXT_EVENTS: WireEvent[] = [
  START,
  PING,
  {
    event: 'content_block_start',
    data: { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
  },
  delta(0, { type: 'thinking_delta', thinking: 'Greeting in German, ' }),
  delta(0, { type: 'thinking_delta', thinking: 'with an emoji.' }),
  delta(0, { type: 'signature_delta', signature: SIGNATURE_TEXT }),
  stop(0),
  {
    event: 'content_block_start',
    data: { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
  },
  delta(1, { type: 'text_delta', text: 'Grüße ' }),
  delta(1, { type: 'text_delta', text: 'aus Köln 👋' }),
  stop(1),
  {
    event: 'message_delta',
    data: { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: usage(12, 47) },
  },
  { event: 'message_stop', data: { type: 'message_stop' } },
];

describe('the translated event sequence', () => {
  const bytes = encoder.encode(geminiSse(THINKING_TEXT_CHUNKS));

  it('is exact for a stream read in one piece', async () => {
    expect(await translate([bytes])).toEqual(THINKING_TEXT_EVENTS);
  });

  it('is the same when every byte arrives on its own (inside events, CRLFs and UTF-8 characters)', async () => {
    expect(await translate(splitEvery(bytes, 1))).toEqual(THINKING_TEXT_EVENTS);
  });

  it('is the same for every split into two pieces, and for 7-byte pieces', async () => {
    const emoji = bytes.indexOf(0xf0); // the first byte of 👋's four
    expect(emoji).toBeGreaterThan(0);
    for (let at = 1; at < bytes.length; at++) {
      expect(await translate([bytes.subarray(0, at), bytes.subarray(at)])).toEqual(THINKING_TEXT_EVENTS);
    }
    expect(await translate(splitEvery(bytes, 7))).toEqual(THINKING_TEXT_EVENTS);
  });

  it('is the same with LF or CR line endings', async () => {
    expect(await translate([encoder.encode(geminiSse(THINKING_TEXT_CHUNKS, '\n\n'))])).toEqual(THINKING_TEXT_EVENTS);
    expect(await translate([encoder.encode(geminiSse(THINKING_TEXT_CHUNKS, '\r\r'))])).toEqual(THINKING_TEXT_EVENTS);
  });

  it('gives a function call a tool_use block with its arguments as one input_json_delta, and stops with tool_use', async () => {
    const events = await translate(splitEvery(encoder.encode(geminiSse(TEXT_CALL_CHUNKS, '\n\n')), 5));
    expect(events.slice(2).map((e) => e.data)).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Let me check.' } },
      { type: 'content_block_stop', index: 0 },
      {
        type: 'content_block_start',
        index: 1,
        content_block: {
          type: 'tool_use',
          id: expect.stringMatching(/^toolu_00000000000000000000000000000abcx0_/),
          name: 'get_weather',
          input: {},
        },
      },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' } },
      { type: 'content_block_stop', index: 1 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: usage(30, 12) },
      { type: 'message_stop' },
    ]);
    expect(JSON.stringify(events[5]?.data)).not.toContain(SIGNATURE_CALL); // carried in the id, encoded
  });
});

describe('incremental translation', () => {
  it("sends each chunk's events before the next chunk exists", async () => {
    let upstream: ReadableStreamDefaultController<Uint8Array> | undefined;
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        upstream = controller;
      },
    });
    const reader = anthropicStreamFromGemini(source, OPTIONS).getReader();
    const decoder = new TextDecoder();
    const [first, ...rest] = THINKING_TEXT_CHUNKS.map((c) => encoder.encode(geminiSse([c])));
    if (!upstream || !first) throw new Error('no upstream');
    upstream.enqueue(first);
    const read = await reader.read();
    const text = decoder.decode(read.value);
    expect(parseEvents(text).map((e) => e.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
    ]);
    for (const chunk of rest) upstream.enqueue(chunk);
    upstream.close();
    let all = text;
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      all += decoder.decode(next.value);
    }
    expect(parseEvents(all)).toEqual(THINKING_TEXT_EVENTS);
  });

  it('passes a cancel by the client on to the upstream body', async () => {
    const cancelled: unknown[] = [];
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(geminiSse(THINKING_TEXT_CHUNKS.slice(0, 1))));
      },
      cancel(reason) {
        cancelled.push(reason);
      },
    });
    const reader = anthropicStreamFromGemini(source, OPTIONS).getReader();
    await reader.read();
    await reader.cancel('client left');
    expect(cancelled).toEqual(['client left']);
  });
});

describe('a stream that breaks', () => {
  const [firstChunk, secondChunk] = THINKING_TEXT_CHUNKS.map((c) => encoder.encode(geminiSse([c])));
  if (!firstChunk || !secondChunk) throw new Error('recordings changed');
  const afterFirst = THINKING_TEXT_EVENTS.slice(0, 4);
  const error = (type: string, message: string) => ({
    event: 'error',
    data: { type: 'error', error: { type, message } },
  });

  it('ends with an api_error event when the connection to Gemini breaks, and reports it once', async () => {
    const reasons: unknown[] = [];
    const reset = new Error('ECONNRESET');
    expect(await translate([firstChunk], reset, (e) => reasons.push(e))).toEqual([
      ...afterFirst,
      error('api_error', CUT),
    ]);
    expect(reasons).toEqual([reset]);
  });

  it('ends with an error event when the stream ends inside an event', async () => {
    const reasons: unknown[] = [];
    const half = secondChunk.subarray(0, secondChunk.length - 10);
    expect(await translate([firstChunk, half], 'close', (e) => reasons.push(e))).toEqual([
      ...afterFirst,
      error('api_error', CUT),
    ]);
    expect(reasons).toEqual([expect.any(UpstreamStreamCut)]);
  });

  it("ends with an error event when the stream ends cleanly but before Gemini's last chunk", async () => {
    const events = await translate([encoder.encode(geminiSse(THINKING_TEXT_CHUNKS.slice(0, 3)))]);
    expect(events.at(-1)).toEqual(
      error(
        'api_error',
        'Gemini ended its reply without a finish reason, so the reply is incomplete; retry the request.',
      ),
    );
    expect(events.map((e) => e.event)).not.toContain('message_stop');
  });

  it('ends with an error event when nothing arrives at all', async () => {
    expect(await translate([])).toEqual([
      error('api_error', 'Gemini answered without any candidate reply; retry the request.'),
    ]);
  });

  it('ends with the error Gemini sends mid-stream, typed by its status (503 → overloaded_error)', async () => {
    const googleError = encoder.encode(
      geminiSse([
        { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } },
      ]),
    );
    expect(await translate([firstChunk, googleError])).toEqual([
      ...afterFirst,
      error('overloaded_error', 'Gemini UNAVAILABLE: The model is overloaded. Please try again later.'),
    ]);
  });

  it('ends with an error event when an event is not JSON', async () => {
    expect(await translate([firstChunk, encoder.encode('data: {"candidates": [\r\n\r\n')])).toEqual([
      ...afterFirst,
      error('api_error', 'Gemini sent a stream event that is not JSON; retry the request.'),
    ]);
  });

  it('ends with an error event when Gemini stops the reply for a reason that makes it unusable', async () => {
    const malformed = encoder.encode(
      geminiSse([
        { candidates: [{ content: { parts: [], role: 'model' }, finishReason: 'MALFORMED_FUNCTION_CALL', index: 0 }] },
      ]),
    );
    expect((await translate([firstChunk, malformed])).at(-1)).toEqual(
      error(
        'api_error',
        'Gemini stopped the reply with finishReason MALFORMED_FUNCTION_CALL, so the reply is not usable; retry the request.',
      ),
    );
  });
});

describe('SSE decoding', () => {
  it('joins multi-line data, skips comments and other fields, and tells a complete stream from a cut one', () => {
    const d = new SseDataDecoder();
    expect(d.push(encoder.encode(': keep-alive\r\nevent: x\r\nid: 7\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata'))).toEqual([
      '{"a":\n1}',
    ]);
    expect(d.end()).toEqual({ events: [], complete: false });
    const whole = new SseDataDecoder();
    expect(whole.push(encoder.encode('data:x\n\n\n'))).toEqual(['x']);
    expect(whole.end()).toEqual({ events: [], complete: true });
  });
});
