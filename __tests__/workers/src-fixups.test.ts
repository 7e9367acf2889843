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
import { readConfig, type SrcEnv } from '../../workers/src/bindings';
import { preflightHeaders } from '../../workers/src/preflight';
import { requestIdOf } from '../../workers/shared/request-id';
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
  it('drops encoding_format upstream and remembers whether the client wants base64', () => {
    expect(embeddingsRequest({ model: 'm', input: 'x' })).toEqual({
      ok: true,
      upstreamBody: '{"model":"m","input":"x"}',
      base64: true,
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

describe('readConfig', () => {
  it('collects KEY<n> in numeric order, ignoring empty and malformed names', () => {
    // SrcEnv names only what the worker reads; workerd hands over any other binding too
    const unread = { KEYX: 'y' };
    const result = readConfig({
      PASS: 'p',
      KEY10: 'k10',
      KEY2: 'k2',
      KEY1: 'k1',
      KEY3: '',
      KEY04: 'x',
      ...unread,
      GEMINI_BASE_URL: 'http://127.0.0.1:9/kept/path/',
    });
    expect(result).toEqual({
      ok: true,
      config: {
        keys: [
          { index: 1, value: 'k1' },
          { index: 2, value: 'k2' },
          { index: 10, value: 'k10' },
        ],
        pass: 'p',
        clientTokens: [],
        baseUrl: 'http://127.0.0.1:9/kept/path',
        timeoutMs: 120_000,
        maxWaitMs: 0,
        maxBodyBytes: 20 * 1024 * 1024,
      },
    });
  });

  it.each<[SrcEnv, string]>([
    [{}, 'PASS is not set'],
    [{ PASS: 'p', GEMINI_BASE_URL: 'not a url' }, 'GEMINI_BASE_URL is not a URL'],
    [{ PASS: 'p', GEMINI_BASE_URL: 'ftp://x' }, 'GEMINI_BASE_URL must be http(s)'],
    [{ PASS: 'p', UPSTREAM_TIMEOUT_MS: '0' }, 'UPSTREAM_TIMEOUT_MS must be a positive integer'],
    [{ PASS: 'p', MAX_BODY_BYTES: '1.5' }, 'MAX_BODY_BYTES must be a positive integer'],
    [
      { PASS: 'p', GEMINI_BASE_URL: 'https://gateway.example/v1/a/b?token=x' },
      'GEMINI_BASE_URL must not have a query, a fragment or credentials',
    ],
    [
      { PASS: 'p', GEMINI_BASE_URL: 'https://user:pw@gateway.example/v1' },
      'GEMINI_BASE_URL must not have a query, a fragment or credentials',
    ],
    ...['-1', '1.5', '60001', 'abc', ' 5', '1e3'].map((v): [SrcEnv, string] => [
      { PASS: 'p', MAX_WAIT_MS: v },
      'MAX_WAIT_MS must be an integer from 0 to 60000',
    ]),
  ])('names the binding at fault: %p', (env, problem) => {
    expect(readConfig(env)).toEqual({ ok: false, problem });
  });

  it.each([
    ['https://generativelanguage.googleapis.com', 'https://generativelanguage.googleapis.com'],
    ['https://generativelanguage.googleapis.com/', 'https://generativelanguage.googleapis.com'],
    [
      'https://gateway.ai.cloudflare.com/v1/acct123/gw-1/google-ai-studio',
      'https://gateway.ai.cloudflare.com/v1/acct123/gw-1/google-ai-studio',
    ],
    [
      'https://gateway.ai.cloudflare.com/v1/acct123/gw-1/google-ai-studio//',
      'https://gateway.ai.cloudflare.com/v1/acct123/gw-1/google-ai-studio',
    ],
  ])('keeps the path of GEMINI_BASE_URL %s', (given, baseUrl) => {
    expect(readConfig({ PASS: 'p', GEMINI_BASE_URL: given })).toMatchObject({ ok: true, config: { baseUrl } });
  });

  it('reads MAX_WAIT_MS from 0 to 60000, 0 by default', () => {
    expect(readConfig({ PASS: 'p' })).toMatchObject({ config: { maxWaitMs: 0 } });
    expect(readConfig({ PASS: 'p', MAX_WAIT_MS: '' })).toMatchObject({ config: { maxWaitMs: 0 } });
    expect(readConfig({ PASS: 'p', MAX_WAIT_MS: '0' })).toMatchObject({ config: { maxWaitMs: 0 } });
    expect(readConfig({ PASS: 'p', MAX_WAIT_MS: '2000' })).toMatchObject({ config: { maxWaitMs: 2000 } });
    expect(readConfig({ PASS: 'p', MAX_WAIT_MS: '60000' })).toMatchObject({ config: { maxWaitMs: 60_000 } });
  });
});

describe('cors and request ids', () => {
  it('echoes a well-formed requested header list and falls back otherwise', () => {
    expect(preflightHeaders('Authorization, X-Stainless-Os')['access-control-allow-headers']).toBe(
      'Authorization, X-Stainless-Os',
    );
    expect(preflightHeaders('x\r\nset-cookie: a')['access-control-allow-headers']).toMatch(
      /^authorization, content-type/,
    );
  });

  it('prefers cf-ray, then a valid x-request-id, then a generated id', () => {
    const gen = () => 'generated';
    expect(requestIdOf(new Headers({ 'cf-ray': '8a1b2c-SJC', 'x-request-id': 'mine' }), gen)).toBe('8a1b2c-SJC');
    expect(requestIdOf(new Headers({ 'x-request-id': 'mine.1_2-3' }), gen)).toBe('mine.1_2-3');
    expect(requestIdOf(new Headers({ 'x-request-id': 'has space' }), gen)).toBe('generated');
    expect(requestIdOf(new Headers({ 'x-request-id': 'a'.repeat(129) }), gen)).toBe('generated');
  });
});
