import { redact, redactJsonText } from '../../../../workers/shard/core/redaction';

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
