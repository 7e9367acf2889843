/**
 * The worker's refusals in Google's error shape, the one the native routes' clients read: Google's canonical status
 * for the HTTP status, the worker's code where a user can grep it, and the headers every shape keeps.
 */
import { Refusal, refusalOutcome, refusalResponse } from '../../../../workers/shard/edge/refusal';
import { ERROR_DOMAIN, googleStatus } from '../../../../workers/shared/error-shapes';

describe("Google's error shape", () => {
  it('renders code, message, canonical status, the code as an ErrorInfo reason and the request id', async () => {
    const response = refusalResponse(new Refusal(401, 'invalid_api_key', 'Incorrect password.'), 'google', 'req-1');
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({
      error: {
        code: 401,
        message: 'Incorrect password.',
        status: 'UNAUTHENTICATED',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'invalid_api_key', domain: ERROR_DOMAIN },
          { '@type': 'type.googleapis.com/google.rpc.RequestInfo', requestId: 'req-1' },
        ],
      },
    });
  });

  it('keeps the headers, and says when to retry as a RetryInfo too', async () => {
    const headers = { 'retry-after': '17', 'x-should-retry': 'true' };
    const response = refusalResponse(new Refusal(429, 'all_keys_cooling', 'Every key cools.', headers), 'google', 'r');
    expect(response.headers.get('retry-after')).toBe('17');
    expect(response.headers.get('x-should-retry')).toBe('true');
    const body = (await response.json()) as { error: { status: string; details: unknown[] } };
    expect(body.error.status).toBe('RESOURCE_EXHAUSTED');
    expect(body.error.details).toContainEqual({
      '@type': 'type.googleapis.com/google.rpc.RetryInfo',
      retryDelay: '17s',
    });
  });

  it.each([
    [400, 'INVALID_ARGUMENT'],
    [401, 'UNAUTHENTICATED'],
    [403, 'PERMISSION_DENIED'],
    [404, 'NOT_FOUND'],
    [405, 'UNIMPLEMENTED'],
    [410, 'NOT_FOUND'],
    [413, 'INVALID_ARGUMENT'],
    [414, 'INVALID_ARGUMENT'],
    [421, 'FAILED_PRECONDITION'],
    [426, 'FAILED_PRECONDITION'],
    [429, 'RESOURCE_EXHAUSTED'],
    [499, 'CANCELLED'],
    [500, 'INTERNAL'],
    [501, 'UNIMPLEMENTED'],
    [502, 'UNAVAILABLE'],
    [503, 'UNAVAILABLE'],
    [504, 'DEADLINE_EXCEEDED'],
    [507, 'INTERNAL'],
  ])('names HTTP %i %s', (status, name) => {
    expect(googleStatus(status)).toBe(name);
  });

  it('logs the same code in every shape', () => {
    const refusal = new Refusal(404, 'unknown_url', 'Unknown path /x.');
    for (const shape of ['openai', 'google', 'anthropic'] as const) {
      expect(refusalOutcome(refusal, shape, 'r').line).toEqual({ attempts: 0, status: 404, error: 'unknown_url' });
    }
  });
});
