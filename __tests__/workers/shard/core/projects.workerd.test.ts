/**
 * Projects in workerd, against the fake Gemini: a 429 whose quota id says `PerProject` cools every key of that
 * project (no other of its keys is tried), `/zen/status` shows the projects and the capacity line, a conversation
 * stays on one project, and a conversation id found in the body of a request to the wrong shard is misdirected with
 * nothing sent to Google. The fake's quota answers are per key here; its project-wide windows are exercised by the
 * benchmarks and the fake's own tests.
 */
import { fingerprintOf, homeShardOf } from '../../../../workers/shared/affinity';
import { keyLayout } from '../../../../workers/shared/key-layout';
import type { WorkerStatus } from '../../../../workers/shard/core/status';
import { defined } from '../../../helpers/guards';
import { rawRequest } from '../../../helpers/raw-http';
import { startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';

const PASS = 'CANARY-PASS-projects-5be1';
const KEYS = Array.from({ length: 5 }, (_, i) => `CANARY-KEY-${i + 1}-projects-${(i * 4099).toString(16)}`);
// KEY1..KEY3 share project `big`; `p` and `q` have one key each
const LABELS = ['big', 'big', 'big', 'p', 'q'];
const MODEL = 'gemini-3.8-flash';

let h: ShardWorkerHarness;

beforeAll(async () => {
  h = await startShardWorker({ keys: KEYS, pass: PASS, bindings: { KEY_PROJECTS: LABELS.join(',') } });
});
afterAll(() => h.close());
beforeEach(() => h.fake.reset());

const chat = (body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
const projectOf = (apiKey: string | undefined) => LABELS[KEYS.indexOf(apiKey ?? '')];

describe('projects in workerd', () => {
  it('cools every key of a project on its PerProject 429, so no other of its keys is tried, and shows it in /zen/status', async () => {
    h.fake.setKeyBehaviour(defined(KEYS[0], 'KEY1'), 'quota-minute');
    let requests = 0;
    while (!h.fake.calls.some((c) => c.apiKey === KEYS[0]) && requests < 200) {
      expect((await chat()).status).toBe(200);
      requests++;
    }
    const limited = h.fake.calls.findIndex((c) => c.apiKey === KEYS[0]);
    expect(limited).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 40; i++) expect((await chat()).status).toBe(200);
    // after KEY1's 429 neither KEY2 nor KEY3 is called for the model: one wasted call in all
    expect(h.fake.calls.slice(limited + 1).filter((c) => projectOf(c.apiKey) === 'big')).toEqual([]);
    expect(h.fake.calls).toHaveLength(requests + 40 + 1);
    const cooldown = h.jsonLogs().find((l) => l.event === 'key_cooldown');
    expect(cooldown).toMatchObject({ keyIndex: 1, project: 'big', projectKeys: [1, 2, 3] });

    const status = (await (
      await fetch(`${h.url}/zen/status`, { headers: { authorization: `Bearer ${PASS}` } })
    ).json()) as WorkerStatus;
    expect(status.capacity?.pool?.line).toBe('5 keys in 3 projects');
    expect(status.projects?.find((p) => p.project === 'big')).toMatchObject({
      keys: [1, 2, 3],
      state: 'cooling',
      cooling: [{ model: MODEL, reason: 'quota-minute' }],
    });
    expect(status.projects?.find((p) => p.project === 'p')?.state).toBe('ok');
    expect(status.keys.map((k) => k.project)).toEqual(LABELS);
  });

  it('keeps a conversation on one project, by its headers or the id in its body', async () => {
    for (const [body, headers] of [
      [{}, { 'x-claude-code-session-id': 'workerd-session-1' }],
      [{ prompt_cache_key: 'workerd-thread-2' }, {}],
    ] as const) {
      h.fake.reset();
      for (let i = 0; i < 15; i++) expect((await chat(body, headers)).status).toBe(200);
      expect(new Set(h.fake.calls.map((c) => projectOf(c.apiKey))).size).toBe(1);
    }
  });
});

describe('a conversation homed on another shard, in workerd', () => {
  it('is answered 421 with x-zen-home-shard and x-zen-affinity, with no call to Google', async () => {
    // this worker is shard 0 of two: KEY1..KEY3 (project big) here, p and q on shard 1
    const layout = keyLayout(LABELS, 5, 3);
    const id = defined(
      Array.from({ length: 50 }, (_, i) => `elsewhere-${i}`).find((c) => homeShardOf(fingerprintOf(c), layout) === 1),
      'a conversation homed on shard 1',
    );
    const shard = await startShardWorker({
      keys: KEYS.slice(0, 3),
      pass: PASS,
      bindings: { KEY_PROJECTS: LABELS.join(','), KEYS_PER_SHARD: '3', SHARD_INDEX: '0' },
    });
    try {
      // node:http, not fetch: undici retries a 421 on a new connection by itself (RFC 9110 allows it)
      const res = await rawRequest(shard.url, {
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], prompt_cache_key: id }),
      });
      expect(res.status).toBe(421);
      expect(res.headers['x-zen-home-shard']).toBe('1');
      expect(res.headers['x-zen-affinity']).toBe(fingerprintOf(id));
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'conversation_elsewhere' } });
      expect(shard.fake.calls).toEqual([]);
    } finally {
      await shard.close();
    }
  });
});
