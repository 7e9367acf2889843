/**
 * Fair share, end to end (issue 24, "No fair share"): the prod stack synthesized with `CLIENT_LIMITS`, emulated in
 * workerd by `npm start`'s own modules (three workers: the orchestrator and two shards, shard 0 hosting the
 * `ClientRateLimiter` Durable Object, shard 1 binding its namespace), with two named clients and the operator. An
 * over-limit client gets 429 with `retry-after` in its surface's error shape and nothing reaches the fake Google
 * (counted there); the other client and the operator are unaffected; one client's bucket is shared by both shards;
 * a request a shard sends on is counted once.
 */
import { rmSync } from 'node:fs';
import { type FakeGemini, startFakeGemini } from '../../dev/fake-gemini';
import { backendScripts, type Topology } from '../../scripts/local/emulated-topology';
import { type RunningTopology, startTopology } from '../../scripts/local/start';
import { defined } from '../helpers/guards';
import { keyOwners, synthesizeToTempDir, synthesizedTopology } from '../helpers/emulated-topology';

const KEYS = Array.from({ length: 12 }, (_, i) => `canary-key-${String(i).padStart(2, '0')}-fair`);
const PASS = 'canary-pass-fair-share';
const TOKENS = {
  alice: 'canary-token-alice-fair-0123456789',
  bob: 'canary-token-bob-fair-0123456789ab',
  carol: 'canary-token-carol-fair-0123456789',
  dave: 'canary-token-dave-fair-0123456789a',
};
/** alice and carol are slow (one request every 20 or 30 s after the burst); bob's limit is far above this test */
const LIMITS = {
  alice: { rpm: 3 },
  bob: { rpm: 6000 },
  carol: { rpm: 2 },
  dave: { rpm: 2 },
};

jest.setTimeout(120_000);

type Client = keyof typeof TOKENS | 'operator';
type Json = Record<string, unknown>;

let outDir: string;
let fake: FakeGemini;
let topology: Topology;
let running: RunningTopology;
const logs: string[] = [];
let sequence = 0;

const credentialOf = (client: Client): string => (client === 'operator' ? PASS : TOKENS[client]);

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Json;
  readonly id: string;
}

async function answer(res: Response, id: string): Promise<Answer> {
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text.startsWith('{') ? (JSON.parse(text) as Json) : {}, id };
}

/** A chat completion by `client`, through the orchestrator or straight to one shard (as the orchestrator calls it). */
async function chat(client: Client, via?: { readonly shard: number }): Promise<Answer> {
  const id = `fair-${++sequence}`;
  const init = {
    method: 'POST',
    headers: {
      authorization: `Bearer ${credentialOf(client)}`,
      'content-type': 'application/json',
      'x-request-id': id,
    },
    body: JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'Hi' }] }),
  };
  if (via === undefined) return answer(await fetch(`${running.url}/v1/chat/completions`, init), id);
  const shard = await running.miniflare.getWorker(defined(backendScripts(topology).get(via.shard), 'shard script'));
  return answer(await shard.fetch('http://shard.local/v1/chat/completions', init), id);
}

/** The shard's log lines for a request id. */
function shardLines(id: string): Json[] {
  return logs
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Json)
    .filter((line) => line.event === 'request' && line.requestId === id);
}

async function waitForShardLine(id: string): Promise<Json> {
  for (let i = 0; i < 200; i++) {
    const line = shardLines(id).at(-1);
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no shard log line for ${id}`);
}

beforeAll(async () => {
  outDir = await synthesizeToTempDir('zen-fair-', 'prod', {
    KEY_COUNT: String(KEYS.length),
    CLIENT_LIMITS: JSON.stringify(LIMITS),
  });
  fake = await startFakeGemini({ port: 0 });
  topology = synthesizedTopology(outDir, 'prod', { apiKeys: KEYS, pass: PASS, clientTokens: TOKENS }, fake.url);
  running = await startTopology({ topology, port: 0, onLog: (message) => logs.push(message) });
});

afterAll(async () => {
  await running?.dispose();
  await fake?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

beforeEach(() => fake.reset());

describe('the emulated prod topology with CLIENT_LIMITS', () => {
  it('runs the limiter where the stack puts it: shard 0 hosts the class, shard 1 binds its namespace', () => {
    const [shard0, shard1] = [0, 1].map((n) => {
      const name = defined(backendScripts(topology).get(n), `shard ${n}`);
      return defined(
        topology.workers.find((w) => w.scriptName === name),
        name,
      );
    });
    expect(shard0?.options.durableObjects).toEqual({
      CLIENT_LIMITER: { className: 'ClientRateLimiter', useSQLite: true },
    });
    expect(shard1?.options.durableObjects).toEqual({
      CLIENT_LIMITER: { className: 'ClientRateLimiter', useSQLite: true, scriptName: shard0?.scriptName },
    });
  });
});

describe('a client over its limit', () => {
  it('gets its burst, then 429 with retry-after in the OpenAI shape, and nothing reaches Google', async () => {
    for (let i = 0; i < LIMITS.alice.rpm; i++) expect((await chat('alice')).status).toBe(200);
    expect(fake.calls).toHaveLength(LIMITS.alice.rpm);
    fake.reset();

    const refused = await chat('alice');
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      error: {
        message: 'This client may send 3 requests a minute (3 at once); retry after the retry-after delay.',
        type: 'rate_limit_error',
        code: 'client_rate_limited',
      },
    });
    // one request every 20 s at 3 a minute: the bucket holds the next one within 20 s
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20);
    // not a pool refusal: the orchestrator must not try another shard's keys for it
    expect(refused.headers.get('x-zen-pool')).toBeNull();
    expect(fake.calls).toHaveLength(0);
    // the shard's log line names the client
    expect(await waitForShardLine(refused.id)).toMatchObject({
      client: 'alice',
      status: 429,
      error: 'client_rate_limited',
      attempts: 0,
    });
  });

  it("is refused in each surface's own shape: Anthropic's on /v1/messages, Google's on the native routes", async () => {
    const messages = await fetch(`${running.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': TOKENS.alice, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(messages.status).toBe(429);
    expect(messages.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    expect(await messages.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });

    const native = await fetch(`${running.url}/v1beta/models/gemini-3.8-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': TOKENS.alice, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] }),
    });
    expect(native.status).toBe(429);
    // Google's error object, the worker's code as the ErrorInfo's reason, the wait as Gemini's clients read it
    expect(await native.json()).toMatchObject({
      error: {
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        details: expect.arrayContaining([
          expect.objectContaining({ reason: 'client_rate_limited' }),
          expect.objectContaining({ retryDelay: expect.stringMatching(/^[1-9][0-9]*s$/) }),
        ]),
      },
    });
    expect(fake.calls).toHaveLength(0);
  });

  it("gets the status view's 403 on /zen/status, never the merged view: the status costs no client its limit", async () => {
    const res = await fetch(`${running.url}/zen/status`, { headers: { authorization: `Bearer ${TOKENS.alice}` } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'operator_only' } });
  });

  it('leaves the other client and the operator alone', async () => {
    expect((await chat('alice')).status).toBe(429);
    for (let i = 0; i < 8; i++) expect((await chat('bob')).status).toBe(200);
    for (let i = 0; i < 8; i++) expect((await chat('operator')).status).toBe(200);
    expect(fake.calls).toHaveLength(16);
    expect((await chat('alice')).status).toBe(429);
  });
});

describe("one client's bucket", () => {
  it('is shared by every shard: what one shard admitted, the other counts', async () => {
    expect((await chat('carol', { shard: 0 })).status).toBe(200);
    expect((await chat('carol', { shard: 1 })).status).toBe(200);
    const refused = [await chat('carol', { shard: 1 }), await chat('carol', { shard: 0 })];
    expect(refused.map((r) => [r.status, r.body.error])).toEqual([
      [429, expect.objectContaining({ code: 'client_rate_limited' })],
      [429, expect.objectContaining({ code: 'client_rate_limited' })],
    ]);
    expect(fake.calls).toHaveLength(2);
  });

  it('counts a request a shard sent on (a pool refusal) once: the shard that serves it counts it', async () => {
    // every key of shard 0 out for the day, learnt by shard 0 from the operator's requests
    const owners = keyOwners(topology, KEYS);
    for (const key of KEYS) if (owners.get(key) === 0) fake.setKeyBehaviour(key, 'quota-day');
    let code: unknown;
    for (let i = 0; i < 10 && code !== 'daily_quota_exhausted'; i++) {
      code = ((await chat('operator', { shard: 0 })).body.error as Json | undefined)?.code;
    }
    expect(code).toBe('daily_quota_exhausted');
    fake.reset();

    // dave may send 2 at once: the pool refusal on shard 0 gives its request back, so shard 1 still serves 2
    const poolRefusal = await chat('dave', { shard: 0 });
    expect([poolRefusal.status, poolRefusal.headers.get('x-zen-pool')]).toEqual([429, 'exhausted']);
    expect((await chat('dave', { shard: 1 })).status).toBe(200);
    expect((await chat('dave', { shard: 1 })).status).toBe(200);
    expect((await chat('dave', { shard: 1 })).body.error).toMatchObject({ code: 'client_rate_limited' });
  });
});
