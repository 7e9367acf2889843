/**
 * Projects in the key core, driven through the handler in-process with an injected clock, randomness and a Google
 * that counts quota per project (as Google does): keys drawn by project quota share, a `PerProject` 429 cooling the
 * whole project so failover goes straight to another, key faults kept to the key, conversations kept on their home
 * project, and a conversation id found only in the body misdirected to its home shard with nothing sent to Google.
 */
import { handleRequest, type HandlerDeps } from '../../../../workers/shard/edge/handler';
import { KeyPool } from '../../../../workers/shard/core/key-pool';
import type { LogLine } from '../../../../workers/shard/core/log';
import { fingerprintOf, homeShardOf } from '../../../../workers/shared/affinity';
import { keyLayout } from '../../../../workers/shared/key-layout';
import { poissonArrivals } from '../../../../bench/capacity-model';
import { quotaExhausted } from '../../../../dev/fake-gemini/google-errors';
import { defined } from '../../../helpers/guards';
import { seeded } from '../../../helpers/seeded-random';

const PASS = 'project-pool-pass';
const START = Date.parse('2026-06-15T10:00:00Z');
const MODEL = 'gemini-3.8-flash';

/** A pool of `labels.length` keys, `KEY_PROJECTS` = labels; each key's value names its global number. */
function poolEnv(labels: readonly string[], extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    PASS,
    GEMINI_BASE_URL: 'http://gemini.test',
    KEY_PROJECTS: labels.join(','),
    ...Object.fromEntries(labels.map((_, i) => [`KEY${i + 1}`, `project-pool-key-${i + 1}`])),
    ...extra,
  };
}

type Answer = 'ok' | 'project-quota' | 'key-quota' | 'invalid';

/** Google's answer, with RetryInfo's delay on a 429. */
function googleAnswer(answer: Answer, retryDelay = '10s'): Response {
  // Google's whole 429, as the fake words it
  const quota = (quotaId: string) => ({ error: quotaExhausted(MODEL, quotaId, '10', retryDelay) });
  const body = {
    ok: { choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] },
    'project-quota': quota('GenerateRequestsPerMinutePerProjectPerModel-FreeTier'),
    'key-quota': quota('GenerateContentInputTokensPerModelPerMinute-FreeTier'),
    invalid: {
      error: {
        code: 400,
        status: 'INVALID_ARGUMENT',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }],
      },
    },
  }[answer];
  const status = { ok: 200, 'project-quota': 429, 'key-quota': 429, invalid: 400 }[answer];
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

/**
 * The handler with a fake clock and seeded randomness; `google` answers by the call's global key number (with the
 * 429's retry delay, if not 10 s).
 */
function harness(
  env: Record<string, string>,
  google: (key: number, now: number) => Answer | readonly [Answer, string],
  seed = 1,
) {
  let now = START;
  const calls: number[] = [];
  const logs: LogLine[] = [];
  const deps: HandlerDeps = {
    now: () => now,
    random: seeded(seed),
    randomUUID: () => 'req',
    sleep: async () => false,
    log: (line) => logs.push(line),
    pool: new KeyPool(),
    fetch: async (_url, init) => {
      const auth = defined(new Headers(init.headers).get('authorization'), 'an authorization header');
      const key = Number(/project-pool-key-(\d+)$/.exec(auth)?.[1]);
      calls.push(key);
      const answer = google(key, now);
      return typeof answer === 'string' ? googleAnswer(answer) : googleAnswer(...answer);
    },
  };
  const chat = (body: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    handleRequest(
      new Request('http://worker.test/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${PASS}`, ...headers },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], ...body }),
      }),
      env,
      deps,
    );
  return { deps, calls, logs, chat, advance: (ms: number) => (now += ms), now: () => now };
}

// one project of five keys and three of one key: four projects, the big one a quarter of the quota
const LABELS = ['big', 'big', 'big', 'big', 'big', 'p', 'q', 'r'];
const BIG = [1, 2, 3, 4, 5];

describe('projects in the key pool (injected time and randomness)', () => {
  it('spreads requests by project quota share, not by key count', async () => {
    const h = harness(poolEnv(LABELS), () => 'ok');
    for (let i = 0; i < 2000; i++) expect((await h.chat()).status).toBe(200);
    const share = h.calls.filter((k) => BIG.includes(k)).length / h.calls.length;
    // by key count it would be 5/8
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.3);
    // and inside the project, over its keys
    for (const k of BIG) expect(h.calls.filter((c) => c === k).length).toBeGreaterThan(50);
  });

  it('cools the whole project on a PerProject 429: one wasted call, then none of its keys until the delay ends', async () => {
    const h = harness(poolEnv(LABELS), (key) => (BIG.includes(key) ? 'project-quota' : 'ok'));
    for (let i = 0; i < 200; i++) expect((await h.chat()).status).toBe(200);
    expect(h.calls.filter((k) => BIG.includes(k))).toHaveLength(1);
    expect(h.calls).toHaveLength(201);
    const cooled = h.logs.filter((l) => l.event === 'key_cooldown');
    expect(cooled).toEqual([
      expect.objectContaining({ project: 'big', projectKeys: BIG, reason: 'quota-minute', model: MODEL }),
    ]);
    h.advance(10_000);
    for (let i = 0; i < 100; i++) await h.chat();
    expect(h.calls.filter((k) => BIG.includes(k)).length).toBe(2);
  });

  it('keeps a quota that is not the project’s, and a key fault, to the key that got it', async () => {
    const h = harness(poolEnv(LABELS), (key) => (key === 1 ? 'key-quota' : key === 2 ? 'invalid' : 'ok'));
    for (let i = 0; i < 400; i++) expect((await h.chat()).status).toBe(200);
    expect(h.calls.filter((k) => k === 1)).toHaveLength(1);
    expect(h.calls.filter((k) => k === 2)).toHaveLength(1);
    expect(h.calls.filter((k) => [3, 4, 5].includes(k)).length).toBeGreaterThan(40);
    expect(h.logs.find((l) => l.event === 'key_cooldown')).not.toHaveProperty('project');
  });

  it('without KEY_PROJECTS, a PerProject 429 cools the one key, as before projects', async () => {
    const { KEY_PROJECTS: _none, ...env } = poolEnv(LABELS);
    const h = harness(env, (key) => (BIG.includes(key) ? 'project-quota' : 'ok'));
    for (let i = 0; i < 200; i++) await h.chat();
    expect(h.calls.filter((k) => BIG.includes(k))).toHaveLength(5);
  });

  /**
   * Poisson load at 80 % of the pool's per-project limit on the pool (one project of ten keys, ten of one),
   * against a Google that counts per project in fixed windows: upstream calls per request and the share served.
   */
  async function load(declared: boolean, windowMs: number, limit: number, seconds: number) {
    const labels = [...Array.from({ length: 10 }, () => 'big'), ...Array.from({ length: 10 }, (_, i) => `p${i}`)];
    const used = new Map<string, number>();
    const env = poolEnv(labels);
    if (!declared) delete env.KEY_PROJECTS;
    const h = harness(
      env,
      (key, now) => {
        const window = `${labels[key - 1]}@${Math.floor(now / windowMs)}`;
        const count = (used.get(window) ?? 0) + 1;
        used.set(window, count);
        // Google's RetryInfo: until the project's window ends
        return count > limit ? (['project-quota', `${(windowMs - (now % windowMs)) / 1000}s`] as const) : 'ok';
      },
      7,
    );
    const arrivals = poissonArrivals((0.8 * 11 * limit * 1000) / windowMs, seconds * 1000, seeded(11));
    let ok = 0;
    for (const at of arrivals) {
      h.advance(START + at - h.now());
      if ((await h.chat()).status === 200) ok++;
    }
    return { callsPerRequest: h.calls.length / arrivals.length, served: ok / arrivals.length };
  }

  it('at 80 % of the pooled per-project limit, wastes far fewer calls than cooling key by key', async () => {
    // per-second windows of 4 calls: a project's load runs over its limit in about one window in five by chance
    // alone, and each such window costs one call before the project cools; by key it costs up to one per key
    const byProject = await load(true, 1_000, 4, 90);
    const byKey = await load(false, 1_000, 4, 90);
    expect(byProject.callsPerRequest).toBeLessThan(1.15);
    expect(byKey.callsPerRequest - byProject.callsPerRequest).toBeGreaterThan(0.1);
    expect(byProject.served).toBeGreaterThan(0.98);
    // per-minute quotas (here 15 s windows of 60): the chance overruns are rare, and so is the waste
    const minute = await load(true, 15_000, 60, 240);
    expect(minute.callsPerRequest).toBeLessThanOrEqual(1.05);
    expect(minute.served).toBeGreaterThanOrEqual(0.995);
  });

  it("keeps the draw's waste under issue 22's goal at 80 %: at most 1.05 calls per request, per-second windows", async () => {
    // the least loaded of several draws (see KeyPool.pickSpread) keeps each project near its share within a window;
    // one draw made 1.11 calls per request here
    const steered = await load(true, 1_000, 4, 90);
    expect(steered.callsPerRequest).toBeLessThanOrEqual(1.05);
    expect(steered.served).toBeGreaterThan(0.99);
  });
});

describe('conversations in the key pool', () => {
  it('keeps a conversation on its home project while it has quota, then on the next in its order, in every isolate', async () => {
    const h = harness(poolEnv(LABELS), () => 'ok');
    const other = harness(poolEnv(LABELS), () => 'ok', 99);
    const headers = { 'x-zen-affinity': '0123abcd' };
    for (let i = 0; i < 20; i++) {
      await h.chat({}, headers);
      await other.chat({}, headers);
    }
    const project = (k: number) => LABELS[k - 1];
    const home = project(defined(h.calls[0], 'a call'));
    expect(new Set(h.calls.map(project))).toEqual(new Set([home]));
    expect(new Set(other.calls.map(project))).toEqual(new Set([home]));
    // the home cools: the conversation moves to the next project of its ranking, the same one in both isolates
    for (const isolate of [h, other]) {
      for (const k of LABELS.flatMap((l, i) => (l === home ? [i + 1] : []))) {
        isolate.deps.pool.coolDown(k, MODEL, { until: isolate.now() + 60_000, reason: 'quota-minute' });
      }
      isolate.calls.length = 0;
      for (let i = 0; i < 10; i++) await isolate.chat({}, headers);
    }
    const next = project(defined(h.calls[0], 'a call'));
    expect(next).not.toBe(home);
    expect(new Set([...h.calls, ...other.calls].map(project))).toEqual(new Set([next]));
  });

  it('reads the conversation headers and the body (prompt_cache_key, user) where no fingerprint was given', async () => {
    for (const [body, headers] of [
      [{}, { 'x-claude-code-session-id': 'session-a' }],
      [{}, { 'session-id': 'session-b' }],
      [{ prompt_cache_key: 'thread-c' }, {}],
      [{ user: 'user-d' }, {}],
    ] as const) {
      const h = harness(poolEnv(LABELS), () => 'ok', 3);
      for (let i = 0; i < 12; i++) await h.chat(body, headers);
      expect(new Set(h.calls.map((k) => LABELS[k - 1])).size).toBe(1);
    }
  });
});

describe('a conversation id found in the body on a shard behind the orchestrator', () => {
  // two shards of four keys: shard 0 holds one project of four keys, shard 1 four projects of one
  const labels = ['a', 'a', 'a', 'a', 'b', 'c', 'd', 'e'];
  const layout = keyLayout(labels, 8, 4);
  const shardEnv = (shard: number) => ({
    ...poolEnv(labels.slice(0, 4)),
    KEY_PROJECTS: labels.join(','),
    KEYS_PER_SHARD: '4',
    SHARD_INDEX: String(shard),
  });
  const ids = Array.from({ length: 40 }, (_, i) => `thread-${i}`);
  const homed = (shard: number) => ids.filter((id) => homeShardOf(fingerprintOf(id), layout) === shard);

  it('answers 421 with the home shard and the fingerprint, sending nothing to Google, when home is another shard', async () => {
    const id = defined(homed(1)[0], 'a conversation homed on shard 1');
    const h = harness(shardEnv(0), () => 'ok');
    const res = await h.chat({ prompt_cache_key: id });
    expect(res.status).toBe(421);
    expect(res.headers.get('x-zen-home-shard')).toBe('1');
    expect(res.headers.get('x-zen-affinity')).toBe(fingerprintOf(id));
    expect(res.headers.get('x-zen-pool')).toBeNull();
    expect(await res.json()).toMatchObject({ error: { code: 'conversation_elsewhere' } });
    expect(h.calls).toEqual([]);
    expect(h.logs.find((l) => l.event === 'request')).toMatchObject({ status: 421, error: 'conversation_elsewhere' });
  });

  it("serves it on its home shard, and anywhere once the orchestrator's fingerprint comes with it", async () => {
    const home = defined(homed(0)[0], 'a conversation homed on shard 0');
    const h = harness(shardEnv(0), () => 'ok');
    expect((await h.chat({ prompt_cache_key: home })).status).toBe(200);
    const away = defined(homed(1)[0], 'a conversation homed on shard 1');
    const sent = await h.chat({ prompt_cache_key: away }, { 'x-zen-affinity': fingerprintOf(away) });
    expect(sent.status).toBe(200);
    expect(h.calls).toHaveLength(2);
  });

  it('without KEY_PROJECTS, answers 421 with the fingerprint alone for the orchestrator to place, if there are other shards', async () => {
    const { KEY_PROJECTS: _none, ...plain } = poolEnv(labels.slice(0, 4));
    const h = harness({ ...plain, SHARD_INDEX: '0' }, () => 'ok');
    const res = await h.chat({ prompt_cache_key: 'thread-x' }, { 'x-zen-shard-count': '2' });
    expect(res.status).toBe(421);
    expect(res.headers.get('x-zen-home-shard')).toBeNull();
    expect(res.headers.get('x-zen-affinity')).toBe(fingerprintOf('thread-x'));
    expect(h.calls).toEqual([]);
    // sent back with the fingerprint, or to a gateway of one shard, it is served
    expect(
      (await h.chat({ prompt_cache_key: 'thread-x' }, { 'x-zen-affinity': fingerprintOf('thread-x') })).status,
    ).toBe(200);
    expect((await h.chat({ prompt_cache_key: 'thread-x' }, { 'x-zen-shard-count': '1' })).status).toBe(200);
  });

  it('on the Anthropic route too (Claude Code’s metadata.user_id), and never on a worker that stands alone', async () => {
    const id = defined(homed(1)[0], 'a conversation homed on shard 1');
    const h = harness(shardEnv(0), () => 'ok');
    const res = await handleRequest(
      new Request('http://worker.test/v1/messages', {
        method: 'POST',
        headers: { 'x-api-key': PASS, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({
          model: 'claude-sonnet-4-5',
          max_tokens: 10,
          messages: [{ role: 'user', content: 'hi' }],
          metadata: { user_id: JSON.stringify({ session_id: id }) },
        }),
      }),
      shardEnv(0),
      h.deps,
    );
    expect(res.status).toBe(421);
    expect(res.headers.get('x-zen-home-shard')).toBe('1');
    expect(h.calls).toEqual([]);

    const alone = harness(poolEnv(labels), () => 'ok');
    expect((await alone.chat({ prompt_cache_key: id })).status).toBe(200);
  });
});
