/**
 * Google's token counts read where the gateway holds them: a native `usageMetadata`, an OpenAI-compatible `usage`,
 * and a stream's tail kept by reference, whatever its chunking, without mistaking a quoted field name in the text for
 * the real one.
 */
import fc from 'fast-check';
import {
  geminiTokens,
  lastObject,
  openaiTokens,
  replyTokens,
  StreamTail,
  TAIL_BYTES,
} from '../../../../workers/shard/core/usage-tokens';

const encoder = new TextEncoder();

/** `text`'s bytes cut at the given offsets. */
function chunked(text: string, cuts: readonly number[]): Uint8Array[] {
  const bytes = encoder.encode(text);
  const at = [...new Set(cuts.map((c) => c % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...at, bytes.byteLength]) {
    if (cut > from) chunks.push(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  return chunks;
}

function tailOf(chunks: readonly Uint8Array[]): StreamTail {
  const tail = new StreamTail();
  for (const chunk of chunks) tail.push(chunk);
  return tail;
}

/** A native SSE stream as Google sends it: every chunk with its running usage, the last with the totals. */
function nativeStream(pieces: readonly string[]): string {
  return pieces
    .map((text, i) => {
      const last = i === pieces.length - 1;
      const usage = { promptTokenCount: 12, candidatesTokenCount: i + 1, totalTokenCount: 13 + i };
      const chunk = {
        candidates: [{ content: { parts: [{ text }], role: 'model' }, ...(last ? { finishReason: 'STOP' } : {}) }],
        usageMetadata: last
          ? { ...usage, thoughtsTokenCount: 7, cachedContentTokenCount: 5, totalTokenCount: 40 }
          : usage,
        modelVersion: 'gemini-3.8-flash',
      };
      return `data: ${JSON.stringify(chunk)}\r\n\r\n`;
    })
    .join('');
}

describe('token counts of a whole reply', () => {
  test('a native usageMetadata: cached tokens are part of the prompt, thinking apart from the output', () => {
    expect(
      geminiTokens({
        promptTokenCount: 100,
        candidatesTokenCount: 20,
        cachedContentTokenCount: 64,
        thoughtsTokenCount: 30,
        totalTokenCount: 150,
      }),
    ).toEqual({ prompt: 100, output: 20, cached: 64, thinking: 30, total: 150 });
  });

  test("an OpenAI usage: reasoning is taken out of the completion, as Google's counts keep it", () => {
    expect(
      openaiTokens({
        prompt_tokens: 10,
        completion_tokens: 9,
        total_tokens: 19,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 5 },
      }),
    ).toEqual({ prompt: 10, output: 4, cached: 4, thinking: 5, total: 19 });
  });

  test('missing, negative or non-numeric counts are 0; a total Google left out is the sum', () => {
    expect(geminiTokens({ promptTokenCount: 3, candidatesTokenCount: -1, thoughtsTokenCount: 'x' })).toEqual({
      prompt: 3,
      output: 0,
      cached: 0,
      thinking: 0,
      total: 3,
    });
    expect(geminiTokens(null)).toBeUndefined();
    expect(openaiTokens([1, 2])).toBeUndefined();
  });

  test('replyTokens reads either shape, and nothing from a reply without usage', () => {
    expect(replyTokens({ usageMetadata: { promptTokenCount: 2, totalTokenCount: 2 } })?.prompt).toBe(2);
    expect(replyTokens({ usage: { prompt_tokens: 3, total_tokens: 3 } })?.prompt).toBe(3);
    expect(replyTokens({ embedding: { values: [0.1] } })).toBeUndefined();
    expect(replyTokens('text')).toBeUndefined();
  });
});

describe('the tail of a stream', () => {
  test('a native stream: the last chunk’s totals, however the bytes were cut', () => {
    const text = nativeStream(['Hello', ' world', ', and ✓ then some more text', '.']);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        expect(tailOf(chunked(text, cuts)).tokens()).toEqual({
          prompt: 12,
          output: 4,
          cached: 5,
          thinking: 7,
          total: 40,
        });
      }),
    );
  });

  test('an OpenAI stream: the usage chunk before [DONE], not an earlier "usage": null', () => {
    const chunk = (extra: object) => `data: ${JSON.stringify({ object: 'chat.completion.chunk', ...extra })}\n\n`;
    const text =
      chunk({ choices: [{ delta: { content: 'hi' } }], usage: null }) +
      chunk({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } }) +
      chunk({ choices: [{ delta: {} }], usage: null }) +
      'data: [DONE]\n\n';
    expect(tailOf(chunked(text, [5, 60, 200])).tokens()).toEqual({
      prompt: 7,
      output: 3,
      cached: 0,
      thinking: 0,
      total: 10,
    });
  });

  test('a native stream without alt=sse (one JSON array, pretty-printed)', () => {
    const body = JSON.stringify(
      [
        { candidates: [{ content: { parts: [{ text: 'a' }] } }] },
        {
          candidates: [{ content: { parts: [{ text: 'b' }] } }],
          usageMetadata: { promptTokenCount: 2, totalTokenCount: 6 },
        },
      ],
      null,
      2,
    );
    expect(tailOf(chunked(body, [3, 50])).tokens()).toMatchObject({ prompt: 2, total: 6 });
  });

  test('a field name quoted inside the model’s text is never taken for the field', () => {
    const text = JSON.stringify({
      candidates: [{ content: { parts: [{ text: 'say "usageMetadata": {"promptTokenCount": 999} please' }] } }],
    });
    expect(tailOf([encoder.encode(`data: ${text}\n\n`)]).tokens()).toBeUndefined();
    expect(lastObject(`{"a":"\\"usage\\": {\\"prompt_tokens\\": 5}"}`, '"usage"')).toBeUndefined();
  });

  test('a stream cut inside its usage object reports none; an empty stream too', () => {
    const text = nativeStream(['only']);
    expect(tailOf([encoder.encode(text.slice(0, text.indexOf('"totalTokenCount"')))]).tokens()).toBeUndefined();
    expect(new StreamTail().tokens()).toBeUndefined();
  });

  test('keeps references to the last chunks only: about TAIL_BYTES, never the whole stream', () => {
    const tail = new StreamTail();
    const piece = encoder.encode(
      `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: 'x'.repeat(1000) }] } }] })}\n\n`,
    );
    for (let i = 0; i < 1000; i++) tail.push(piece);
    tail.push(encoder.encode(nativeStream(['end'])));
    const kept = (tail as unknown as { chunks: Uint8Array[] }).chunks;
    const size = kept.reduce((sum, c) => sum + c.byteLength, 0);
    expect(size).toBeLessThan(TAIL_BYTES + 2 * piece.byteLength);
    expect(kept.every((c) => c === piece || c.byteLength < 1000)).toBe(true);
    expect(tail.tokens()?.total).toBe(40);
  });
});
