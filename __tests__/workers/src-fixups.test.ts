import { embeddingsRequest, embeddingsResponse, encodeFloat32Base64, redact, sseWithErrorEvent, toOpenAIError } from '../../workers/src/fixups';
import { readConfig } from '../../workers/src/config';
import { preflightHeaders } from '../../workers/src/cors';
import { requestIdOf } from '../../workers/shared/request-id';

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
    expect(embeddingsRequest({ model: 'm', input: 'x' })).toEqual({ ok: true, upstreamBody: '{"model":"m","input":"x"}', base64: true });
    expect(embeddingsRequest({ model: 'm', input: 'x', encoding_format: 'base64' })).toMatchObject({ ok: true, base64: true });
    expect(embeddingsRequest({ model: 'm', input: 'x', encoding_format: 'float' })).toEqual({ ok: true, upstreamBody: '{"model":"m","input":"x"}', base64: false });
    expect(embeddingsRequest({ encoding_format: 'int8' })).toEqual({ ok: false, message: 'encoding_format must be "float" or "base64".' });
  });

  it('encodes each embedding and keeps the rest of the reply', () => {
    const reply = { object: 'list', model: 'm', data: [{ object: 'embedding', index: 0, embedding: [0.5, -1] }] };
    const fixed = embeddingsResponse(reply, true) as { model: string; data: Array<{ index: number; embedding: string }> };
    expect(fixed.model).toBe('m');
    expect(fixed.data[0]!.index).toBe(0);
    expect(decodeFloat32(fixed.data[0]!.embedding)).toEqual([0.5, -1]);
    expect(embeddingsResponse(reply, false)).toBe(reply);
    expect(embeddingsResponse({ data: [{ embedding: ['x'] }] }, true)).toBeUndefined();
    expect(embeddingsResponse({ nope: true }, true)).toBeUndefined();
  });
});

describe('toOpenAIError', () => {
  it('unwraps the compat endpoint array into one OpenAI error object', () => {
    const body = JSON.stringify([{ error: { code: 400, message: 'Invalid value', status: 'INVALID_ARGUMENT' } }]);
    expect(toOpenAIError(400, body, [])).toEqual({ error: { message: 'Invalid value', type: 'invalid_request_error', code: 'INVALID_ARGUMENT' } });
  });

  it('redacts secrets Google might quote, and copes with non-JSON bodies', () => {
    const body = JSON.stringify({ error: { code: 403, message: "Consumer 'api_key:AIzaSECRET' has been suspended.", status: 'PERMISSION_DENIED' } });
    expect(toOpenAIError(403, body, ['AIzaSECRET']).error.message).toBe("Consumer 'api_key:[redacted]' has been suspended.");
    expect(toOpenAIError(502, '<html>bad gateway</html>', [])).toEqual({
      error: { message: 'Gemini returned HTTP 502 with a body that is not a Gemini error.', type: 'server_error', code: 'upstream_error' },
    });
    expect(redact('a-s-a', ['s', ''])).toBe('a-[redacted]-a');
  });
});

describe('sseWithErrorEvent', () => {
  it('passes a clean stream through unchanged and appends an error event when the upstream breaks', async () => {
    const enc = new TextEncoder();
    const clean = new ReadableStream<Uint8Array>({ start: c => (c.enqueue(enc.encode('data: 1\n\n')), c.close()) });
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
    expect(text).toBe('data: {"partial\n\ndata: {"error":{"code":"x"}}\n\n');
    expect(failures).toBe(1);
  });
});

describe('readConfig', () => {
  it('collects KEY<n> in numeric order, ignoring empty and malformed names', () => {
    const result = readConfig({ PASS: 'p', KEY10: 'k10', KEY2: 'k2', KEY1: 'k1', KEY3: '', KEY04: 'x', KEYX: 'y', GEMINI_BASE_URL: 'http://127.0.0.1:9/ignored/path' });
    expect(result).toEqual({
      ok: true,
      config: {
        keys: [{ index: 1, value: 'k1' }, { index: 2, value: 'k2' }, { index: 10, value: 'k10' }],
        pass: 'p',
        baseUrl: 'http://127.0.0.1:9',
        timeoutMs: 120_000,
        maxBodyBytes: 20 * 1024 * 1024,
      },
    });
  });

  it.each([
    [{}, 'PASS is not set'],
    [{ PASS: 'p', GEMINI_BASE_URL: 'not a url' }, 'GEMINI_BASE_URL is not a URL'],
    [{ PASS: 'p', GEMINI_BASE_URL: 'ftp://x' }, 'GEMINI_BASE_URL must be http(s)'],
    [{ PASS: 'p', UPSTREAM_TIMEOUT_MS: '0' }, 'UPSTREAM_TIMEOUT_MS must be a positive integer'],
    [{ PASS: 'p', MAX_BODY_BYTES: '1.5' }, 'MAX_BODY_BYTES must be a positive integer'],
  ])('names the binding at fault: %p', (env, problem) => {
    expect(readConfig(env)).toEqual({ ok: false, problem });
  });
});

describe('cors and request ids', () => {
  it('echoes a well-formed requested header list and falls back otherwise', () => {
    expect(preflightHeaders('Authorization, X-Stainless-Os')['access-control-allow-headers']).toBe('Authorization, X-Stainless-Os');
    expect(preflightHeaders('x\r\nset-cookie: a')['access-control-allow-headers']).toMatch(/^authorization, content-type/);
  });

  it('prefers cf-ray, then a valid x-request-id, then a generated id', () => {
    const gen = () => 'generated';
    expect(requestIdOf(new Headers({ 'cf-ray': '8a1b2c-SJC', 'x-request-id': 'mine' }), gen)).toBe('8a1b2c-SJC');
    expect(requestIdOf(new Headers({ 'x-request-id': 'mine.1_2-3' }), gen)).toBe('mine.1_2-3');
    expect(requestIdOf(new Headers({ 'x-request-id': 'has space' }), gen)).toBe('generated');
    expect(requestIdOf(new Headers({ 'x-request-id': 'a'.repeat(129) }), gen)).toBe('generated');
  });
});
