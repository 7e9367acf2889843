import { redact } from '../../../../../workers/shard/core/redaction';
import { toOpenAIError } from '../../../../../workers/shard/surfaces/openai/errors';

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
