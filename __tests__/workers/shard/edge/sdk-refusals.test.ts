/**
 * What the real SDKs show of the shard worker's own refusals (in workerd): a wrong base URL's 404, which names the
 * path received and the base URL to use, and, on the native routes, Google's error shape, whose message
 * `@google/genai` shows. The request line of a request no route took names its path.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import { gatewayReason } from '../../../helpers/google-errors';
import { rawRequest } from '../../../helpers/raw-http';
import { startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';

const PASS = 'sdk-refusals-test-password';
const KEYS = ['sdk-refusals-key-one', 'sdk-refusals-key-two'];

let h: ShardWorkerHarness;

beforeAll(async () => {
  h = await startShardWorker({ keys: KEYS, pass: PASS });
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

/** The error an SDK call rejects with. */
async function rejection(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  );
}

/** `@google/genai` puts the whole error body in its ApiError's message. */
function genaiBody(error: unknown): { error: { code: number; message: string; status: string } } {
  expect(error).toBeInstanceOf(ApiError);
  return JSON.parse((error as ApiError).message) as { error: { code: number; message: string; status: string } };
}

describe('a wrong base URL', () => {
  it('@google/genai with <gateway>/v1beta: a 404 in its own shape, naming the path and the base URL to use', async () => {
    const genai = new GoogleGenAI({
      apiKey: PASS,
      httpOptions: { baseUrl: `${h.url}/v1beta`, headers: { 'x-request-id': 'doubled-v1beta' } },
    });
    const error = await rejection(genai.models.generateContent({ model: 'gemini-3.8-flash', contents: 'hi' }));
    expect((error as ApiError).status).toBe(404);
    const body = genaiBody(error);
    expect(body.error).toMatchObject({ code: 404, status: 'NOT_FOUND' });
    expect(body.error.message).toMatch(
      /^Unknown path \/v1beta\/v1beta\/models\/gemini-3\.8-flash:generateContent\. The client's base URL has \/v1beta too many: /,
    );
    expect(body.error.message).toContain(`use ${h.url} rather than ${h.url}/v1beta.`);
    expect(gatewayReason(body)).toBe('unknown_url');
    expect(await h.waitForRequestLog('doubled-v1beta')).toMatchObject({
      route: 'unmatched',
      status: 404,
      error: 'unknown_url',
      path: '/v1beta/v1beta/models/gemini-3.8-flash:generateContent',
    });
    expect(h.fake.calls).toHaveLength(0);
  });

  it('the Anthropic SDK with <gateway>/v1: a NotFoundError in its own shape, saying to leave /v1 out', async () => {
    const anthropic = new Anthropic({ apiKey: PASS, baseURL: `${h.url}/v1`, maxRetries: 0 });
    const error = await rejection(
      anthropic.messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    );
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
    const body = (error as InstanceType<typeof Anthropic.NotFoundError>).error as {
      error: { type: string; message: string };
    };
    expect(body.error.type).toBe('not_found_error');
    expect(body.error.message).toContain('Unknown path /v1/v1/messages. ');
    expect(body.error.message).toContain(`has /v1 too many: use ${h.url} rather than ${h.url}/v1.`);
    expect(h.fake.calls).toHaveLength(0);
  });

  it('a path a client left its version out of: the base URL with it', async () => {
    const res = await rawRequest(h.url, {
      method: 'POST',
      path: '/models/gemini-3.8-flash:generateContent',
      headers: { 'x-goog-api-key': PASS, 'content-type': 'application/json', 'x-request-id': 'missing-v1beta' },
      body: '{}',
    });
    expect(res.status).toBe(404);
    const body = JSON.parse(res.body) as { error: { message: string } };
    expect(body.error.message).toContain(`lacks /v1beta: use ${h.url}/v1beta rather than ${h.url}.`);
    expect(await h.waitForRequestLog('missing-v1beta')).toMatchObject({
      path: '/models/gemini-3.8-flash:generateContent',
    });
  });

  it('quotes a long path capped, and never a secret pasted into it, in the 404 and the log line', async () => {
    const path = `/v1/${PASS}/${'a'.repeat(500)}`;
    const res = await rawRequest(h.url, { path, headers: { 'x-request-id': 'long-path' } });
    expect(res.status).toBe(404);
    const line = await h.waitForRequestLog('long-path');
    expect(line.path).toBe(`/v1/[redacted]/${'a'.repeat(200 - '/v1/[redacted]/'.length)}…`);
    expect(res.body).toContain(`Unknown path ${String(line.path)}.`);
    expect(`${res.body}${JSON.stringify(h.logs)}`).not.toContain(PASS);
  });

  it('logs no path for a request that took a route', async () => {
    const res = await rawRequest(h.url, {
      path: '/v1/models',
      headers: { authorization: `Bearer ${PASS}`, 'x-request-id': 'matched' },
    });
    expect(res.status).toBe(200);
    expect(await h.waitForRequestLog('matched')).not.toHaveProperty('path');
  });
});

describe("Google's error shape on the native routes", () => {
  it('@google/genai shows the message of a wrong password, with the status and code Google would give', async () => {
    const genai = new GoogleGenAI({ apiKey: 'not-the-password', httpOptions: { baseUrl: h.url } });
    const error = await rejection(genai.models.generateContent({ model: 'gemini-3.8-flash', contents: 'hi' }));
    expect((error as ApiError).status).toBe(401);
    expect((error as ApiError).message).toContain('Incorrect password.');
    const body = genaiBody(error);
    expect(body.error).toMatchObject({ code: 401, message: 'Incorrect password.', status: 'UNAUTHENTICATED' });
    expect(gatewayReason(body)).toBe('invalid_api_key');
    expect(h.fake.calls).toHaveLength(0);
  });

  it('answers an unknown resource in Google’s shape, as the Live route’s 426', async () => {
    const headers = { 'x-goog-api-key': PASS };
    const file = await rawRequest(h.url, { path: '/v1beta/files/not-a-tagged-id', headers });
    expect(file.status).toBe(404);
    expect(JSON.parse(file.body)).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    expect(gatewayReason(JSON.parse(file.body))).toBe('unknown_resource_owner');
    const live = await rawRequest(h.url, {
      path: '/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent',
      headers,
    });
    expect(live.status).toBe(426);
    expect(JSON.parse(live.body)).toMatchObject({ error: { code: 426, status: 'FAILED_PRECONDITION' } });
    expect(gatewayReason(JSON.parse(live.body))).toBe('upgrade_required');
  });
});
