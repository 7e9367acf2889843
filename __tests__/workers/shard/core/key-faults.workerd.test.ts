/**
 * Every key-fault row of docs/errors.md in workerd, against the fake's copies of Google's answers: which answers take
 * a key out, which cool it (and until when), and which leave every key in rotation, among them the answers a client
 * can provoke at will (a field named like Google's key errors, another project's file, the Worker's location). Keys
 * and password are canaries; the last test proves none of them appeared in any response or log line of this file.
 */
import type { FakeBehaviour } from '../../../../dev/fake-gemini';
import { BARE_429_COOLDOWN_MS, nextPacificMidnight } from '../../../../workers/shard/core/key-faults';
import { googleErrorBody } from '../../../helpers/google-errors';
import { defined } from '../../../helpers/guards';
import { rawRequest, type RawRequest } from '../../../helpers/raw-http';
import { startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';

const PASS = 'CANARY-PASS-keyfaults-31c9';
const KEYS = Array.from({ length: 6 }, (_, i) => `CANARY-KEY-${i + 1}-keyfaults-${(i * 7919).toString(16)}`);
const CANARIES = [PASS, ...KEYS];
/** KEY1 is `keyAt(0)` */
const keyAt = (i: number): string => defined(KEYS[i], `KEY${i + 1}`);

let h: ShardWorkerHarness;
const seen: string[] = [];
let sequence = 0;

beforeAll(async () => {
  h = await startShardWorker({ keys: KEYS, pass: PASS });
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

async function send(r: RawRequest) {
  const id = `keyfaults-${++sequence}`;
  const res = await rawRequest(h.url, { ...r, headers: { 'x-request-id': id, ...r.headers } });
  seen.push(`${res.status} ${JSON.stringify(res.headers)} ${res.body}`);
  return { ...res, id, json: (): unknown => JSON.parse(res.body) };
}

const chat = (extra: Record<string, unknown> = {}, model = 'gemini-3.8-flash'): RawRequest => ({
  method: 'POST',
  path: '/v1/chat/completions',
  headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' },
  body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra }),
});
const native = (extra: Record<string, unknown> = {}, model = 'gemini-3.8-flash'): RawRequest => ({
  method: 'POST',
  path: `/v1beta/models/${model}:generateContent`,
  headers: { 'x-goog-api-key': PASS, 'content-type': 'application/json' },
  body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }], ...extra }),
});

const keyLines = () => h.jsonLogs().filter((l) => l.event === 'key_removed' || l.event === 'key_cooldown');
const generateCalls = () => h.fake.calls.filter((c) => c.method === 'POST');

/** Sends ok requests until every key in `live` has served one (a key out of rotation would never be asked). */
async function expectAllServe(live: readonly string[], make: () => RawRequest = chat) {
  h.fake.reset();
  for (let i = 0; i < 200 && new Set(h.fake.calls.map((c) => c.apiKey)).size < live.length; i++)
    expect((await send(make())).status).toBe(200);
  expect(new Set(h.fake.calls.map((c) => c.apiKey))).toEqual(new Set(live));
}

describe('answers a client can provoke leave every key in rotation', () => {
  it('a field named "API key not valid" (native and /v1/chat/completions), echoed back by Google, removes no key', async () => {
    h.fake.setDefaultBehaviour('echo-unknown-field');
    const crafted = {
      'API key not valid': 1,
      'API Key not found. Please pass a valid API key.': 'x',
      'Your API key was reported as leaked': true,
    };
    const answers = [];
    // more requests than there are keys, several times over: the old message-matching classifier removed one key each
    for (let i = 0; i < 12; i++) answers.push(await send(i % 2 === 0 ? native(crafted) : chat(crafted)));
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(400);
      if (i % 2 === 0) {
        expect(answer.json()).toMatchObject({
          error: {
            code: 400,
            status: 'INVALID_ARGUMENT',
            message: expect.stringContaining('Unknown name "API key not valid"'),
          },
        });
      } else {
        expect(answer.json()).toEqual({
          error: {
            message: expect.stringContaining('Unknown name "API key not valid"'),
            type: 'invalid_request_error',
            code: 'INVALID_ARGUMENT',
          },
        });
      }
    }
    // one call each: no failover, no probe
    expect(h.fake.calls).toHaveLength(12);
    await h.waitForRequestLog(defined(answers.at(-1), 'an answer').id);
    expect(keyLines()).toEqual([]);
    await expectAllServe(KEYS);
  });

  it("a 403 about another project's file passes to the client; a probe with the key alone clears the key", async () => {
    h.fake.setDefaultBehaviour('resource-denied-403');
    const compat = await send(chat());
    const nativeAnswer = await send(native());
    expect(compat.status).toBe(403);
    expect(compat.json()).toEqual({
      error: {
        message: expect.stringMatching(/^You do not have permission to access the File/),
        type: 'permission_error',
        code: 'PERMISSION_DENIED',
      },
    });
    expect(nativeAnswer.status).toBe(403);
    expect(nativeAnswer.json()).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
    // each request: its call, then the probe on the same key
    expect(h.fake.calls.map((c) => `${c.method} ${c.path}${c.search}`)).toEqual([
      'POST /v1beta/openai/chat/completions',
      'GET /v1beta/models?pageSize=1',
      'POST /v1beta/models/gemini-3.8-flash:generateContent',
      'GET /v1beta/models?pageSize=1',
    ]);
    const call = defined(h.fake.calls[0], 'the first call');
    const probe = defined(h.fake.calls[1], 'the probe');
    expect(probe.apiKey).toBe(call.apiKey);
    expect(probe.body).toBe('');
    await h.waitForRequestLog(nativeAnswer.id);
    expect(keyLines()).toEqual([]);
    await expectAllServe(KEYS);
  });

  it('a refused location is 502 unsupported_location with x-should-retry: false, and cools or removes nothing', async () => {
    h.fake.setDefaultBehaviour('location-400');
    const answers = [await send(chat()), await send(native()), await send(chat())];
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(502);
      expect(answer.headers['x-should-retry']).toBe('false');
      const message = expect.stringContaining('Google does not serve the region');
      // the native route's clients read Google's error shape
      expect(answer.json()).toEqual(
        i === 1
          ? googleErrorBody(502, 'unsupported_location', message)
          : { error: { message, type: 'server_error', code: 'unsupported_location' } },
      );
      expect((answer.json() as { error: { message: string } }).error.message).toContain(
        'User location is not supported for the API use.',
      );
      expect((answer.json() as { error: { message: string } }).error.message).toContain('Smart Placement');
    }
    expect(h.fake.calls).toHaveLength(3);
    const line = await h.waitForRequestLog(defined(answers[2], 'the third answer').id);
    expect(line).toMatchObject({ status: 502, error: 'unsupported_location', upstreamStatus: 400, attempts: 1 });
    expect(keyLines()).toEqual([]);
    await expectAllServe(KEYS, native);
  });
});

describe("Google's key faults, read from structured fields", () => {
  /** Puts `behaviour` on `key` and sends requests until it has been asked; every request must still succeed. */
  async function hitOnce(key: string, behaviour: FakeBehaviour, make: () => RawRequest) {
    h.fake.setKeyBehaviour(key, behaviour);
    const answers = [];
    while (!generateCalls().some((c) => c.apiKey === key) && answers.length < 100) answers.push(await send(make()));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    await h.waitForRequestLog(defined(answers.at(-1), 'an answer').id);
    return answers;
  }

  it.each([
    [1, 'unauthenticated-401', 'UNAUTHENTICATED', 401],
    [2, 'service-disabled-403', 'SERVICE_DISABLED', 403],
    [3, 'billing-disabled-403', 'BILLING_DISABLED', 403],
  ] as const)(
    'KEY%i: %s takes the key out of rotation, logged with reason %s and no until',
    async (keyIndex, behaviour, reason, upstreamStatus) => {
      const key = keyAt(keyIndex - 1);
      const answers = await hitOnce(key, behaviour, keyIndex % 2 === 0 ? chat : native);
      const removed = h.logs.filter(
        (l) => l.message.includes('"key_removed"') && l.message.includes(`"keyIndex":${keyIndex},`),
      );
      expect(removed.map((l) => l.level)).toEqual(['error']);
      expect(JSON.parse(defined(removed[0], 'the key_removed line').message)).toEqual({
        event: 'key_removed',
        requestId: defined(answers.at(-1), 'an answer').id,
        keyIndex,
        model: 'gemini-3.8-flash',
        reason,
        upstreamStatus,
        until: null,
      });
      // it is never asked again, by any model
      h.fake.reset();
      h.fake.setKeyBehaviour(key, behaviour);
      for (let i = 0; i < 30; i++)
        expect((await send(chat({}, i % 2 === 0 ? 'gemini-3.8-flash' : 'gemini-3.1-pro-preview'))).status).toBe(200);
      expect(h.fake.calls.filter((c) => c.apiKey === key)).toEqual([]);
    },
  );

  it('KEY4: a quota of zero cools (key, model) until Pacific midnight whatever retryDelay says; other models still use it', async () => {
    const before = Date.now();
    const answers = await hitOnce(keyAt(3), 'quota-zero', () => chat({}, 'gemini-3.1-pro-preview'));
    const after = Date.now();
    const [line] = h.jsonLogs().filter((l) => l.event === 'key_cooldown');
    expect(line).toEqual({
      event: 'key_cooldown',
      requestId: defined(answers.at(-1), 'an answer').id,
      keyIndex: 4,
      model: 'gemini-3.1-pro-preview',
      reason: 'quota-zero',
      until: expect.any(String),
      quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
    });
    expect([nextPacificMidnight(before), nextPacificMidnight(after)]).toContain(Date.parse(String(line?.until)));
    h.fake.reset();
    for (let i = 0; i < 20; i++) expect((await send(chat({}, 'gemini-3.1-pro-preview'))).status).toBe(200);
    expect(h.fake.calls.filter((c) => c.apiKey === KEYS[3])).toEqual([]);
    h.fake.setKeyBehaviour(keyAt(3), undefined);
    await expectAllServe(KEYS.slice(3));
  });

  it('KEY5: a 429 without details cools the key for a few seconds only', async () => {
    const before = Date.now();
    const answers = await hitOnce(keyAt(4), 'quota-bare-429', native);
    const after = Date.now();
    const [line] = h.jsonLogs().filter((l) => l.event === 'key_cooldown' && l.keyIndex === 5);
    expect(line).toEqual({
      event: 'key_cooldown',
      requestId: defined(answers.at(-1), 'an answer').id,
      keyIndex: 5,
      model: 'gemini-3.8-flash',
      reason: 'quota-unspecified',
      until: expect.any(String),
    });
    const until = Date.parse(String(line?.until));
    expect(until).toBeGreaterThanOrEqual(before + BARE_429_COOLDOWN_MS);
    expect(until).toBeLessThanOrEqual(after + BARE_429_COOLDOWN_MS);
  });
});

describe('secret hygiene', () => {
  it('never shows a canary key or password in any response body, header or log line of this file', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the last log lines land
    expect(seen.length).toBeGreaterThan(60);
    const everything = [...seen, ...h.logs.map((l) => l.message)].join('\n');
    for (const canary of CANARIES) expect(everything).not.toContain(canary);
  });
});
