import {
  embeddingsRequest,
  embeddingsResponse,
  encodeFloat32Base64,
  EventBoundaries,
  redact,
  redactJsonText,
  sseWithErrorEvent,
  StreamEndedMidEvent,
  toOpenAIError,
} from '../../workers/src/fixups';
import { defined } from '../helpers/guards';

function decodeFloat32(b64: string): number[] {
  const bytes = Buffer.from(b64, 'base64');
  return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
}

describe('encodeFloat32Base64', () => {
  it('encodes little-endian float32, byte for byte', () => {
    // 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0
    expect(Buffer.from(encodeFloat32Base64([1, -2]), 'base64')).toEqual(Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]));
  });

  it('round-trips float32-representable values and rounds others to float32', () => {
    expect(decodeFloat32(encodeFloat32Base64([0.5, -0.25, 0.125, 3]))).toEqual([0.5, -0.25, 0.125, 3]);
    expect(decodeFloat32(encodeFloat32Base64([0.1]))[0]).toBe(Math.fround(0.1));
  });

  it('handles vectors larger than one encoding slice', () => {
    const values = Array.from({ length: 30_000 }, (_, i) => i / 4);
    expect(decodeFloat32(encodeFloat32Base64(values))).toEqual(values);
  });
});

describe('embeddings fix-up', () => {
  it('drops encoding_format upstream and remembers whether the client wants base64 (floats when it does not say)', () => {
    expect(embeddingsRequest({ model: 'm', input: 'x' })).toEqual({
      ok: true,
      upstreamBody: '{"model":"m","input":"x"}',
      base64: false,
    });
    expect(embeddingsRequest({ model: 'm', input: 'x', encoding_format: 'base64' })).toMatchObject({
      ok: true,
      base64: true,
    });
    expect(embeddingsRequest({ model: 'm', input: 'x', encoding_format: 'float' })).toEqual({
      ok: true,
      upstreamBody: '{"model":"m","input":"x"}',
      base64: false,
    });
    expect(embeddingsRequest({ encoding_format: 'int8' })).toEqual({
      ok: false,
      message: 'encoding_format must be "float" or "base64".',
    });
  });

  it('encodes each embedding and keeps the rest of the reply', () => {
    const reply = { object: 'list', model: 'm', data: [{ object: 'embedding', index: 0, embedding: [0.5, -1] }] };
    const fixed = embeddingsResponse(reply, true) as {
      model: string;
      data: Array<{ index: number; embedding: string }>;
    };
    expect(fixed.model).toBe('m');
    const item = defined(fixed.data[0], 'the first embedding');
    expect(item.index).toBe(0);
    expect(decodeFloat32(item.embedding)).toEqual([0.5, -1]);
    expect(embeddingsResponse(reply, false)).toBe(reply);
    expect(embeddingsResponse({ data: [{ embedding: ['x'] }] }, true)).toBeUndefined();
    expect(embeddingsResponse({ nope: true }, true)).toBeUndefined();
  });
});

describe('toOpenAIError', () => {
  it('unwraps the compat endpoint array into one OpenAI error object', () => {
    const body = JSON.stringify([{ error: { code: 400, message: 'Invalid value', status: 'INVALID_ARGUMENT' } }]);
    expect(toOpenAIError(400, body, [])).toEqual({
      error: { message: 'Invalid value', type: 'invalid_request_error', code: 'INVALID_ARGUMENT' },
    });
  });

  it('redacts secrets Google might quote, and copes with non-JSON bodies', () => {
    const body = JSON.stringify({
      error: { code: 403, message: "Consumer 'api_key:AIzaSECRET' has been suspended.", status: 'PERMISSION_DENIED' },
    });
    expect(toOpenAIError(403, body, ['AIzaSECRET']).error.message).toBe(
      "Consumer 'api_key:[redacted]' has been suspended.",
    );
    expect(toOpenAIError(502, '<html>bad gateway</html>', [])).toEqual({
      error: {
        message: 'Gemini returned HTTP 502 with a body that is not a Gemini error.',
        type: 'server_error',
        code: 'upstream_error',
      },
    });
    expect(redact('a-s-a', ['s', ''])).toBe('a-[redacted]-a');
  });
});

describe('redactJsonText', () => {
  const KEY = 'AIzaSyCANARYkey01_abcdefghij';
  const PASS = 'pa$$ word/+';

  it('redacts a key spelt with \\u escapes, which a search of the raw text misses', () => {
    const escaped = [...KEY].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    const text = `{"error":{"code":403,"message":"Consumer \\u0027api_key:${escaped}\\u0027 has been suspended.","status":"PERMISSION_DENIED"}}`;
    expect(text).not.toContain(KEY);
    expect(JSON.parse(text).error.message).toContain(KEY);
    expect(redact(text, [KEY])).toBe(text);
    const out = redactJsonText(text, [KEY]);
    expect(JSON.parse(out)).toEqual({
      error: { code: 403, message: "Consumer 'api_key:[redacted]' has been suspended.", status: 'PERMISSION_DENIED' },
    });
  });

  it('redacts partly escaped keys, keys in field names and nested values, and percent-encoded passwords', () => {
    const partly = `${KEY.slice(0, 5)}\\u00${KEY.charCodeAt(5).toString(16)}${KEY.slice(6)}`;
    const text = JSON.stringify({
      error: { details: [{ metadata: { [KEY]: 'x', consumer: 'PLACEHOLDER' } }] },
    }).replace('PLACEHOLDER', partly);
    const out = redactJsonText(text, [KEY]);
    expect(JSON.stringify(JSON.parse(out))).not.toContain(KEY);
    expect(JSON.parse(out)).toEqual({
      error: { details: [{ metadata: { '[redacted]': 'x', consumer: '[redacted]' } }] },
    });
    expect(redactJsonText(`{"url":"https://x/?key=${encodeURIComponent(PASS)}"}`, [PASS])).toBe(
      '{"url":"https://x/?key=[redacted]"}',
    );
    expect(redact(`not json ${encodeURIComponent(PASS)} ${PASS}`, [PASS])).toBe('not json [redacted] [redacted]');
  });

  it('returns a body without secrets byte for byte, formatting included', () => {
    const pretty =
      '{\n  "error": {\n    "code": 400,\n    "message": "Invalid value \\u003d",\n    "status": "INVALID_ARGUMENT"\n  }\n}\n';
    expect(redactJsonText(pretty, [KEY, PASS])).toBe(pretty);
    expect(redactJsonText('<html>403</html>', [KEY])).toBe('<html>403</html>');
  });
});

describe('sseWithErrorEvent', () => {
  it('passes a clean stream through unchanged and appends an error event when the upstream breaks', async () => {
    const enc = new TextEncoder();
    const clean = new ReadableStream<Uint8Array>({
      start: (c) => {
        c.enqueue(enc.encode('data: 1\n\n'));
        c.close();
      },
    });
    expect(await new Response(sseWithErrorEvent(clean, '{"error":{}}', () => undefined)).text()).toBe('data: 1\n\n');

    let failures = 0;
    let sent = false;
    const broken = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent) c.error(new Error('socket closed'));
        else c.enqueue(enc.encode('data: {"partial'));
        sent = true;
      },
    });
    const text = await new Response(sseWithErrorEvent(broken, '{"error":{"code":"x"}}', () => failures++)).text();
    // the half-written event is dropped: the client's parser sees whole events only, then the error
    expect(text).toBe('data: {"error":{"code":"x"}}\n\n');
    expect(failures).toBe(1);
  });
  const chunked = (...parts: string[]) => {
    const enc = new TextEncoder();
    return new ReadableStream<Uint8Array>({
      start(c) {
        for (const part of parts) c.enqueue(enc.encode(part));
        c.close();
      },
    });
  };

  it('drops the unfinished event and appends the error event when a stream ends cleanly mid-event, or with no event at all', async () => {
    const errors: unknown[] = [];
    const run = (...parts: string[]) =>
      new Response(sseWithErrorEvent(chunked(...parts), '{"error":{"code":"x"}}', (e) => errors.push(e))).text();
    expect(await run('data: {"a":1}\n\n', 'data: {"b"')).toBe('data: {"a":1}\n\ndata: {"error":{"code":"x"}}\n\n');
    expect(await run('data: {"a":1}\r\n\r\ndata: {"b":2}\r\n')).toBe(
      'data: {"a":1}\r\n\r\ndata: {"error":{"code":"x"}}\n\n',
    );
    expect(await run('data: [DONE]\n')).toBe('data: {"error":{"code":"x"}}\n\n');
    expect(await run()).toBe('data: {"error":{"code":"x"}}\n\n');
    expect(errors).toHaveLength(4);
    expect(errors.every((e) => e instanceof StreamEndedMidEvent)).toBe(true);
  });

  it('passes whole events on unchanged and ends quietly on every SSE event boundary, even one split across chunks', async () => {
    const errors: unknown[] = [];
    const run = (...parts: string[]) =>
      new Response(sseWithErrorEvent(chunked(...parts), '{}', (e) => errors.push(e))).text();
    expect(await run('data: 1\n', '\n')).toBe('data: 1\n\n');
    expect(await run('data: 1\r\n\r', '\n')).toBe('data: 1\r\n\r\n');
    expect(await run('data: 1\r\r')).toBe('data: 1\r\r');
    expect(await run('data: 1\n', '', '\n')).toBe('data: 1\n\n');
    expect(await run('da', 'ta: 1\n\nda', 'ta: 2\r\n\r\n', ': keep-alive\n\n')).toBe(
      'data: 1\n\ndata: 2\r\n\r\n: keep-alive\n\n',
    );
    expect(errors).toEqual([]);
  });

  it('finds event boundaries byte by byte across chunk edges', () => {
    const ends = (...parts: string[]) => {
      const b = new EventBoundaries();
      return parts.map((p) => b.lastEnd(new TextEncoder().encode(p)));
    };
    expect(ends('a\n\nb')).toEqual([3]);
    expect(ends('a\r\n', '\r\n')).toEqual([-1, 2]);
    expect(ends('a\r', '\n', '\r', '\n')).toEqual([-1, -1, -1, 1]);
    expect(ends('a\n', '\r\nb')).toEqual([-1, 2]);
    expect(ends('a\n', 'b\n')).toEqual([-1, -1]);
    expect(ends('a\r\nb\r\n')).toEqual([-1]);
  });
});
