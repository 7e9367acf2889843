/**
 * Errors in Anthropic's shape: the type for each status, Google's and the gateway's own bodies re-shaped, the
 * headers that steer clients and the orchestrator kept, and secrets never passed on.
 */
import {
  anthropicErrorEvent,
  anthropicErrorResponse,
  anthropicErrorType,
  anthropicFailure,
  anthropicFailureFromBody,
  toAnthropicErrorResponse,
} from '../../../../../workers/shard/surfaces/anthropic/adapter';
import { GOOGLE_INVALID_ARGUMENT, GOOGLE_OVERLOADED, GOOGLE_RATE_LIMIT } from './recordings';

const KEY = 'AIzaSyCanaryKey-anthropic-0001';
const PASS = 'canary pass/word+1';
const SECRETS = [KEY, PASS];

describe('error types', () => {
  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [402, 'billing_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [405, 'invalid_request_error'],
    [408, 'timeout_error'],
    [413, 'request_too_large'],
    [414, 'invalid_request_error'],
    [429, 'rate_limit_error'],
    [499, 'invalid_request_error'],
    [500, 'api_error'],
    [502, 'api_error'],
    [503, 'overloaded_error'],
    [504, 'timeout_error'],
    [529, 'overloaded_error'],
  ])('%i → %s', (status, type) => {
    expect(anthropicErrorType(status)).toBe(type);
  });

  it('builds the body, the JSON response and the SSE error event', async () => {
    const failure = anthropicFailure(429, 'Slow down.');
    expect(failure).toEqual({
      ok: false,
      status: 429,
      body: { type: 'error', error: { type: 'rate_limit_error', message: 'Slow down.' } },
    });
    const response = anthropicErrorResponse(failure, { 'retry-after': '3' });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual(failure.body);
    expect(anthropicErrorEvent(failure.body)).toBe(
      'event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"Slow down."}}\n\n',
    );
  });
});

describe("Google's and the gateway's error bodies", () => {
  it("names Google's status and passes its message", () => {
    expect(anthropicFailureFromBody(400, JSON.stringify(GOOGLE_INVALID_ARGUMENT), SECRETS)).toEqual(
      anthropicFailure(400, 'Gemini INVALID_ARGUMENT: Request contains an invalid argument.'),
    );
    expect(anthropicFailureFromBody(503, JSON.stringify([GOOGLE_OVERLOADED]), SECRETS).body.error).toEqual({
      type: 'overloaded_error',
      message: 'Gemini UNAVAILABLE: The model is overloaded. Please try again later.',
    });
  });

  it("keeps the message of the gateway's own (OpenAI-shaped) refusals", () => {
    const own = { error: { message: 'Incorrect password.', type: 'authentication_error', code: 'invalid_api_key' } };
    expect(anthropicFailureFromBody(401, JSON.stringify(own), SECRETS)).toEqual(
      anthropicFailure(401, 'Incorrect password.'),
    );
  });

  it('says so when a body is neither', () => {
    expect(anthropicFailureFromBody(502, '<html>Bad gateway</html>', SECRETS)).toEqual(
      anthropicFailure(502, 'Gemini returned HTTP 502 with a body that is not a Gemini error.'),
    );
  });

  it('never passes a key or the password on, as is or percent-encoded', () => {
    for (const text of [
      JSON.stringify({
        error: {
          code: 400,
          message: `API key ${KEY} not valid; pass ${encodeURIComponent(PASS)}`,
          status: 'INVALID_ARGUMENT',
        },
      }),
      JSON.stringify({ error: { message: `echo ${PASS}`, type: 'x', code: null } }),
    ]) {
      const body = JSON.stringify(anthropicFailureFromBody(400, text, SECRETS));
      expect(body).not.toContain(KEY);
      expect(body).not.toContain(PASS);
      expect(body).not.toContain(encodeURIComponent(PASS));
      expect(body).toContain('[redacted]');
    }
  });
});

describe('re-shaping an error response', () => {
  it('keeps the status and the headers that steer clients and the orchestrator, and adds the request id', async () => {
    const upstream = new Response(JSON.stringify(GOOGLE_RATE_LIMIT), {
      status: 429,
      headers: {
        'content-type': 'application/json; charset=UTF-8',
        'content-length': '999',
        'retry-after': '17',
        'x-should-retry': 'false',
        'x-zen-pool': 'exhausted',
      },
    });
    const response = await toAnthropicErrorResponse(upstream, SECRETS, 'req-42');
    expect(response.status).toBe(429);
    expect(Object.fromEntries(response.headers)).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'retry-after': '17',
      'x-should-retry': 'false',
      'x-zen-pool': 'exhausted',
    });
    expect(await response.json()).toEqual({
      type: 'error',
      error: {
        type: 'rate_limit_error',
        message:
          'Gemini RESOURCE_EXHAUSTED: You exceeded your current quota, please check your plan and billing details.',
      },
      request_id: 'req-42',
    });
  });
});
