/**
 * Named client tokens (`CLIENT_TOKENS`) on the shard worker: the parser's rules, and in workerd that any token or
 * `PASS` authenticates, the log line names the client and never a token, and a broken binding is a clear 500. The
 * constant-time match itself (`identifyClient`) is tested with the rest of `auth.ts` in src-auth.test.ts.
 */
import {
  MIN_CLIENT_TOKEN_LENGTH,
  PASS_CLIENT_NAME,
  parseClientTokens,
} from '../../../../workers/shard/edge/client-tokens';
import { clientTokensProblem } from '../../../../constructs/client-tokens';
import { startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';

const KEYS = ['canary-tok-key-1', 'canary-tok-key-2'];
const PASS = 'canary-tok-pass-0123456789';
const ALICE = 'canary-tok-alice-0123456789abcdef';
const BOB = 'canary-tok-bob-0123456789abcdef00';
const TOKENS = JSON.stringify({ alice: ALICE, 'ci_bot-2': BOB });

describe('parseClientTokens', () => {
  it('reads names and tokens; absent or empty means none', () => {
    expect(parseClientTokens(TOKENS, PASS)).toEqual({
      ok: true,
      tokens: [
        { name: 'alice', value: ALICE },
        { name: 'ci_bot-2', value: BOB },
      ],
    });
    expect(parseClientTokens(undefined, PASS)).toEqual({ ok: true, tokens: [] });
    expect(parseClientTokens('', PASS)).toEqual({ ok: true, tokens: [] });
    expect(parseClientTokens('{}', PASS)).toEqual({ ok: true, tokens: [] });
  });

  it.each([
    ['not JSON', '{alice:', 'CLIENT_TOKENS must be a JSON object of client name to token'],
    ['an array', JSON.stringify([ALICE]), 'CLIENT_TOKENS must be a JSON object of client name to token'],
    ['a string', JSON.stringify(ALICE), 'CLIENT_TOKENS must be a JSON object of client name to token'],
    ['an upper-case name', JSON.stringify({ Alice: ALICE }), 'got "Alice"'],
    ['a name with a space', JSON.stringify({ 'al ice': ALICE }), 'got "al ice"'],
    ['a 33-character name', JSON.stringify({ ['a'.repeat(33)]: ALICE }), `got "${'a'.repeat(33)}"`],
    ['the reserved name pass', JSON.stringify({ pass: ALICE }), 'and not "pass", got "pass"'],
    ['a short token', JSON.stringify({ alice: 'x'.repeat(23) }), 'token "alice" must be at least 24 printable'],
    ['a token with a space', JSON.stringify({ alice: `${ALICE} x` }), 'token "alice" must be at least 24 printable'],
    ['a number as token', JSON.stringify({ alice: 42 }), 'token "alice" must be'],
    ['a token equal to PASS', JSON.stringify({ alice: PASS }), 'token "alice" must differ from PASS'],
    ['two equal tokens', JSON.stringify({ alice: ALICE, bob: ALICE }), 'tokens "alice" and "bob" must differ'],
  ])('refuses %s, naming the entry but never a token', (_label, raw, problem) => {
    const result = parseClientTokens(raw, PASS);
    expect(result.ok).toBe(false);
    const text = result.ok ? '' : result.problem;
    expect(text).toContain(problem);
    expect(text).not.toContain(ALICE);
    expect(text).not.toContain(PASS);
  });

  it('accepts and refuses exactly what the Terraform variable (and npm start) accepts and refuses', () => {
    const long = 'x'.repeat(MIN_CLIENT_TOKEN_LENGTH);
    const maps: Record<string, string>[] = [
      { alice: ALICE },
      { alice: ALICE, 'ci_bot-2': BOB },
      { Alice: ALICE },
      { '-alice': ALICE },
      { [PASS_CLIENT_NAME]: ALICE },
      { ['a'.repeat(33)]: ALICE },
      { alice: long },
      { alice: long.slice(1) },
      { alice: `${long} ` },
      { alice: `${long}é` },
      { alice: ALICE, bob: ALICE },
      { alice: PASS },
    ];
    for (const map of maps) {
      const worker = parseClientTokens(JSON.stringify(map), PASS).ok;
      expect([map, worker]).toEqual([map, clientTokensProblem(map, PASS) === undefined]);
    }
  });
});

describe('client tokens in workerd', () => {
  let h: ShardWorkerHarness;

  beforeAll(async () => {
    h = await startShardWorker({ keys: KEYS, pass: PASS, bindings: { CLIENT_TOKENS: TOKENS } });
  });

  afterAll(async () => {
    await h?.close();
  });

  async function models(headers: Record<string, string>, requestId: string, path = '/v1/models'): Promise<number> {
    const res = await fetch(`${h.url}${path}`, { headers: { ...headers, 'x-request-id': requestId } });
    const text = await res.text();
    for (const secret of [PASS, ALICE, BOB]) expect(text).not.toContain(secret);
    return res.status;
  }

  it.each([
    ['pass', { authorization: `Bearer ${PASS}` }, '/v1/models'],
    ['alice', { authorization: `Bearer ${ALICE}` }, '/v1/models'],
    ['ci_bot-2', { authorization: `Bearer ${BOB}` }, '/v1/models'],
    ['alice', { 'x-goog-api-key': ALICE }, '/v1beta/models'],
    ['ci_bot-2', {}, `/v1beta/models?key=${encodeURIComponent(BOB)}`],
  ])('accepts %s and names it in the log line, never the token', async (client, headers, path) => {
    const id = `tok-${client}-${path.length}`;
    expect(await models(headers, id, path)).toBe(200);
    const line = await h.waitForRequestLog(id);
    expect(line).toMatchObject({ client, status: 200 });
  });

  it('refuses a token it does not hold with 401 invalid_api_key, and logs no client', async () => {
    expect(await models({ authorization: 'Bearer canary-tok-unknown-0123456789abcd' }, 'tok-unknown')).toBe(401);
    const line = await h.waitForRequestLog('tok-unknown');
    expect(line).toMatchObject({ status: 401, error: 'invalid_api_key' });
    expect(line.client).toBeUndefined();
  });

  it('never sends a client token to Google, and no log line holds one', async () => {
    await models({ authorization: `Bearer ${ALICE}` }, 'tok-upstream');
    await h.waitForRequestLog('tok-upstream');
    expect(h.fake.calls.length).toBeGreaterThan(0);
    for (const call of h.fake.calls) {
      expect(KEYS).toContain(call.apiKey);
      expect(JSON.stringify(call)).not.toMatch(/canary-tok-(alice|bob|pass)/);
    }
    for (const { message } of h.logs) expect(message).not.toMatch(/canary-tok-(alice|bob|pass)/);
  });

  it('logs a client token sent as a model name as [redacted], on a body route and on a path route', async () => {
    const chat = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json', 'x-request-id': 'tok-model' },
      body: JSON.stringify({ model: ALICE, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await chat.text();
    expect(await h.waitForRequestLog('tok-model')).toMatchObject({ client: 'alice', model: '[redacted]' });
    const native = await fetch(`${h.url}/v1beta/models/${BOB}:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': BOB, 'content-type': 'application/json', 'x-request-id': 'tok-path-model' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    });
    await native.text();
    expect(await h.waitForRequestLog('tok-path-model')).toMatchObject({ client: 'ci_bot-2', model: '[redacted]' });
    for (const { message } of h.logs) expect(message).not.toMatch(/canary-tok-(alice|bob)/);
  });

  it('answers 500 server_misconfigured naming CLIENT_TOKENS, not its value, when the binding breaks the rules', async () => {
    const broken = await startShardWorker({
      keys: KEYS,
      pass: PASS,
      bindings: { CLIENT_TOKENS: JSON.stringify({ alice: PASS }) },
      fake: h.fake,
    });
    try {
      const res = await fetch(`${broken.url}/v1/models`, { headers: { authorization: `Bearer ${PASS}` } });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({
        error: {
          message: 'The worker is misconfigured: CLIENT_TOKENS token "alice" must differ from PASS.',
          type: 'server_error',
          code: 'server_misconfigured',
        },
      });
      expect(text).not.toContain(PASS);
    } finally {
      await broken.close();
    }
  });
});
