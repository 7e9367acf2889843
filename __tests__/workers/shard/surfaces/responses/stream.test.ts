/**
 * The Responses event stream made from Gemini's SSE bytes: events go out as Gemini's chunks arrive (split anywhere,
 * in any of SSE's line endings), each numbered; a stream Gemini cuts, garbles or ends early ends in `error` and
 * `response.failed`, and says so once to `onError`.
 */
import { FunctionNames } from '../../../../../workers/shard/surfaces/responses/function-names';
import {
  responsesStreamFromGemini,
  type StreamTranslationOptions,
} from '../../../../../workers/shard/surfaces/responses/stream-translation';
import { geminiSse, GOOGLE_OVERLOADED, MALFORMED_CALL_REPLY, THINKING_TEXT_CHUNKS } from '../anthropic/recordings';

interface WireEvent {
  readonly event: string;
  readonly data: { type: string; sequence_number: number } & Record<string, unknown>;
}

function options(onError?: (reason: unknown) => void): StreamTranslationOptions {
  return {
    id: 'resp_00000000000000000000000000000001',
    model: 'gemini-3.8-flash',
    createdAt: 1,
    echo: {
      instructions: null,
      max_output_tokens: null,
      parallel_tool_calls: true,
      temperature: null,
      top_p: null,
      tool_choice: 'auto',
      reasoning: { effort: null, summary: null },
      text: { format: { type: 'text' } },
      metadata: {},
    },
    names: new FunctionNames(),
    ...(onError ? { onError } : {}),
  };
}

/** A Gemini body that sends `pieces` one by one, then ends (or errors, with `cut`). */
function upstreamOf(pieces: readonly string[], cut = false): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      const piece = pieces[i++];
      if (piece !== undefined) controller.enqueue(encoder.encode(piece));
      else if (cut) controller.error(new Error('connection reset'));
      else controller.close();
    },
  });
}

function parse(text: string): WireEvent[] {
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const [eventLine = '', dataLine = ''] = block.split('\n');
      return {
        event: eventLine.replace(/^event: /, ''),
        data: JSON.parse(dataLine.replace(/^data: /, '')) as WireEvent['data'],
      };
    });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<WireEvent[]> {
  return parse(await new Response(stream).text());
}

describe('responsesStreamFromGemini', () => {
  it('translates a body split at every byte, numbering each event, its SSE name its type', async () => {
    const body = geminiSse(THINKING_TEXT_CHUNKS);
    const events = await readAll(responsesStreamFromGemini(upstreamOf([...body]), options()));
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.every((e) => e.event === e.data.type)).toBe(true);
    expect(events.at(-1)?.data.type).toBe('response.completed');
    const text = events.flatMap((e) => (e.data.type === 'response.output_text.delta' ? [e.data.delta] : [])).join('');
    expect(text).toBe('Grüße aus Köln 👋');
  });

  it('sends response.created before Gemini has sent anything, and each chunk’s events before the next arrives', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const [first, ...rest] = THINKING_TEXT_CHUNKS.map((c) => geminiSse([c]));
    const encoder = new TextEncoder();
    let step = 0;
    const upstream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (step === 0) controller.enqueue(encoder.encode(first ?? ''));
        else if (step === 1) {
          await held;
          for (const piece of rest) controller.enqueue(encoder.encode(piece));
        } else controller.close();
        step++;
      },
    });
    const reader = responsesStreamFromGemini(upstream, options()).getReader();
    const decoder = new TextDecoder();
    const opening = parse(decoder.decode((await reader.read()).value));
    expect(opening.map((e) => e.data.type)).toEqual(['response.created', 'response.in_progress']);
    const firstChunk = parse(decoder.decode((await reader.read()).value));
    expect(firstChunk.map((e) => e.data.type)).toContain('response.reasoning_summary_text.delta');
    release();
    let rest_ = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest_ += decoder.decode(value);
    }
    expect(parse(rest_).at(-1)?.data.type).toBe('response.completed');
  });

  it.each([
    ['the connection breaks', upstreamOf([geminiSse([THINKING_TEXT_CHUNKS[0]])], true), 'broke before the reply'],
    [
      'the stream ends inside an event',
      upstreamOf([`${geminiSse([THINKING_TEXT_CHUNKS[0]])}data: {"cand`]),
      'broke before',
    ],
    ['an event is not JSON', upstreamOf(['data: {"candidates": [\r\n\r\n']), 'not JSON'],
    ['Gemini sends its error', upstreamOf([geminiSse([THINKING_TEXT_CHUNKS[0], GOOGLE_OVERLOADED])]), 'UNAVAILABLE'],
    ['the finish reason is unusable', upstreamOf([geminiSse([MALFORMED_CALL_REPLY])]), 'MALFORMED_FUNCTION_CALL'],
    ['there is no finish reason', upstreamOf([geminiSse([THINKING_TEXT_CHUNKS[0]])]), 'without a finish reason'],
  ])('ends in error and response.failed when %s', async (_label, upstream, words) => {
    const reasons: unknown[] = [];
    const events = await readAll(
      responsesStreamFromGemini(
        upstream,
        options((r) => reasons.push(r)),
      ),
    );
    const [error, failed] = events.slice(-2);
    expect(error?.data).toMatchObject({ type: 'error', code: 'server_error', message: expect.stringContaining(words) });
    expect(failed?.data).toMatchObject({
      type: 'response.failed',
      response: { status: 'failed', error: { code: 'server_error', message: expect.stringContaining(words) } },
    });
    expect(events.map((e) => e.data.sequence_number)).toEqual(events.map((_, i) => i));
    expect(reasons).toHaveLength(1);
  });

  it('stops reading from Gemini when the client goes away', async () => {
    let cancelled: unknown;
    const upstream = new ReadableStream<Uint8Array>({
      pull() {
        return new Promise(() => undefined);
      },
      cancel(reason) {
        cancelled = reason ?? 'cancelled';
      },
    });
    const stream = responsesStreamFromGemini(upstream, options());
    const reader = stream.getReader();
    await reader.read();
    await reader.cancel('client left');
    expect(cancelled).toBe('client left');
  });
});
