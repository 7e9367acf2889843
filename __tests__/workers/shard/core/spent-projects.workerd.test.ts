/**
 * Projects presumed spent, in workerd against the fake Gemini: after one project's per-minute 429, another project
 * that took the quota's stated limit in the same window is declined without a call to Google when the orchestrator
 * says another shard can take the request (`x-zen-reroute: available`), and still tried when it does not.
 */
import {
  POOL_EXHAUSTED,
  POOL_HEADER,
  REROUTE_AVAILABLE,
  REROUTE_HEADER,
} from '../../../../workers/shared/pool-refusal';
import { defined } from '../../../helpers/guards';
import { startShardWorker, type ShardWorkerHarness } from '../../../helpers/shard-worker';

const PASS = 'CANARY-PASS-spent-3c1d';
const KEYS = Array.from({ length: 3 }, (_, i) => `CANARY-KEY-${i + 1}-spent-${(i * 7919).toString(16)}`);
const KEY1 = defined(KEYS[0], 'KEY1');
const KEY2 = defined(KEYS[1], 'KEY2');
const KEY3 = defined(KEYS[2], 'KEY3');
const MODEL = 'gemini-3.8-flash';
const MAY_REROUTE = { [REROUTE_HEADER]: REROUTE_AVAILABLE };
/** the requests per window the fake's `quota-minute` 429 states (`QuotaFailure.quotaValue`) */
const FAKE_STATED_LIMIT = 10;

let h: ShardWorkerHarness;

beforeAll(async () => {
  h = await startShardWorker({ keys: KEYS, pass: PASS });
});
afterAll(() => h.close());

const chat = (headers: Record<string, string> = {}) =>
  fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${PASS}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
  });
const callsOf = (key: string, from = 0) => h.fake.calls.slice(from).filter((c) => c.apiKey === key).length;
/** Google's retry delay to a window end at `end` (epoch ms), as its RetryInfo words it. */
const delayTo = (end: number) => `${(Math.max(1, end - Date.now()) / 1000).toFixed(3)}s`;

describe('projects presumed spent in workerd', () => {
  it('declines without calling Google when another shard can take the request, and tries the project when none can', async () => {
    // KEY1's project is refused at the start of a 50 s window: the shard learns windows are at least that long
    const end = Date.now() + 50_000;
    h.fake.setKeyBehaviour(KEY1, 'quota-minute');
    for (let i = 0; i < 60 && callsOf(KEY1) === 0; i++) {
      // every 429 names the same window end, as Google's fixed windows do
      h.fake.configure({ retryDelay: delayTo(end) });
      expect((await chat(MAY_REROUTE)).status).toBe(200);
    }
    expect(callsOf(KEY1)).toBe(1);
    // the shard counts calls a little inside the window it knows (the edge it leaves for a clock's jitter): the calls
    // counted here come after that
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = h.fake.calls.length;
    // KEY2 and KEY3 serve on, until KEY3 has taken the limit the fake's 429 states (quotaValue 10) in this window
    for (let i = 0; i < 60 && callsOf(KEY3, refused) < FAKE_STATED_LIMIT; i++) {
      expect((await chat(MAY_REROUTE)).status).toBe(200);
    }
    expect(callsOf(KEY3, refused)).toBeGreaterThanOrEqual(FAKE_STATED_LIMIT);
    // then KEY2's project runs out in the same window (the same end): KEY3's, which took the limit, is presumed spent
    h.fake.setKeyBehaviour(KEY2, 'quota-minute');
    let cooled: Record<string, unknown> | undefined;
    for (let i = 0; i < 60 && cooled === undefined; i++) {
      h.fake.configure({ retryDelay: delayTo(end) });
      await (await chat(MAY_REROUTE)).arrayBuffer();
      cooled = h.jsonLogs().find((l) => l.event === 'key_cooldown' && l.keyIndex === 2);
    }
    expect(cooled).toMatchObject({ keyIndex: 2, reason: 'quota-minute', presumedSpentKeys: [3] });

    const before = h.fake.calls.length;
    const declined = await chat(MAY_REROUTE);
    expect(declined.status).toBe(429);
    expect(declined.headers.get(POOL_HEADER)).toBe(POOL_EXHAUSTED);
    expect(Number(declined.headers.get('retry-after'))).toBeLessThanOrEqual(50);
    expect(((await declined.json()) as { error: { code: string } }).error.code).toBe('all_keys_cooling');
    expect(h.fake.calls).toHaveLength(before);

    // the last shard a request may try, or a call straight to a preview worker: the presumption is only a guess
    const tried = await chat({ [REROUTE_HEADER]: 'anything else' });
    expect(tried.status).toBe(200);
    expect(h.fake.calls.slice(before).map((c) => c.apiKey)).toEqual([KEY3]);
  });
});
