/**
 * The orchestrator's own errors (a shard that failed or hung, no shard bound, a name no shard owns) reach each client
 * in the shape its SDK parses, chosen by the path: Google's error object on the native routes, Anthropic's on its
 * Messages routes, OpenAI's elsewhere. The shard's refusals use the same renderer (`workers/shared/error-shapes.ts`).
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import { routeRequest } from '../../../workers/orchestrator/route-request';
import { errorShapeOfPath } from '../../../workers/shared/error-shapes';
import { googleErrorBody } from '../../helpers/google-errors';
import { backend, bind, routeHarness } from '../../helpers/stub-backends';

const boom = (): Promise<Response> => Promise.reject(new Error('internal detail'));

function post(path: string, body = '{}'): Request {
  return new Request(`https://gateway.example${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
}

describe('the shape of the orchestrator’s own errors', () => {
  it.each([
    ['/v1/chat/completions', 'openai'],
    ['/v1/responses', 'openai'],
    ['/v1/files', 'openai'],
    ['/zen/status', 'openai'],
    ['/v1/messages', 'anthropic'],
    ['/v1/messages/count_tokens', 'anthropic'],
    ['/v1beta/models/gemini-3.8-flash:generateContent', 'google'],
    ['/v1alpha/models', 'google'],
    ['/upload/v1beta/files', 'google'],
    ['/download/v1beta/files/z0k1abcd-f1:download', 'google'],
    ['/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent', 'google'],
  ])('%s reads %s errors', (path, shape) => {
    expect(errorShapeOfPath(path)).toBe(shape);
  });

  it("answers a failed shard on a native route with Google's error object, request id included", async () => {
    const { deps } = routeHarness({ shardKeyCounts: '1' });
    const res = await routeRequest(post('/v1beta/models/gemini-3.8-flash:generateContent'), bind(backend(boom)), deps);
    expect(res.status).toBe(502);
    const body = await res.json();
    expect(body).toEqual(googleErrorBody(502, 'shard_error'));
    expect(JSON.stringify(body)).toContain('"requestId":"generated-id"');
    expect(JSON.stringify(body)).not.toContain('internal detail');
  });

  it("answers a failed shard on the Anthropic route with Anthropic's error object", async () => {
    const { deps } = routeHarness({ shardKeyCounts: '1' });
    const res = await routeRequest(post('/v1/messages'), bind(backend(boom)), deps);
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({
      type: 'error',
      error: { type: 'api_error', message: expect.stringContaining('shard failed') },
      request_id: 'generated-id',
    });
  });

  it('answers no bound shard on an OpenAI route with OpenAI’s error object', async () => {
    const { deps } = routeHarness();
    const res = await routeRequest(post('/v1/chat/completions'), [], deps);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      error: { message: expect.any(String), type: 'server_error', code: 'no_backend' },
    });
  });

  it('lets the real SDKs read the status and message', async () => {
    const { deps } = routeHarness({ shardKeyCounts: '1' });
    const gateway = (input: string | URL | Request, init?: RequestInit) =>
      routeRequest(new Request(input, init), bind(backend(boom)), deps);
    const google = new GoogleGenAI({
      apiKey: 'any',
      httpOptions: { baseUrl: 'https://gateway.example', fetch: gateway },
    });
    const native = await google.models.generateContent({ model: 'gemini-3.8-flash', contents: 'hi' }).catch((e) => e);
    expect(native).toBeInstanceOf(ApiError);
    expect(native).toMatchObject({ status: 502, message: expect.stringContaining('shard failed') });
    const anthropic = new Anthropic({
      apiKey: 'any',
      baseURL: 'https://gateway.example',
      fetch: gateway,
      maxRetries: 0,
    });
    const messages = await anthropic.messages
      .create({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e);
    expect(messages).toBeInstanceOf(Anthropic.InternalServerError);
    expect(messages).toMatchObject({ status: 502, error: { error: { type: 'api_error' } } });
  });
});
