/**
 * The `ClientRateLimiter` Durable Object (workers/shard/fair-share/limiter-object.ts) in Node, with a stand-in for
 * its storage and the clock held still: it admits the limit's burst and refuses the next with the wait, gives a
 * request back on a refund, keeps its bucket in storage (so an object that lost its memory, hibernated or evicted,
 * carries on where it was), and refuses calls that are not its own with 400.
 */
import {
  type BucketStorage,
  ClientRateLimiter,
  type LimiterAnswer,
  REFUND_PATH,
  TAKE_PATH,
} from '../../../../workers/shard/fair-share/limiter-object';

const T0 = 1_750_000_000_000;

function memoryStorage(): BucketStorage & { readonly values: Map<string, unknown> } {
  const values = new Map<string, unknown>();
  return {
    values,
    get: async <T>(key: string) => values.get(key) as T | undefined,
    put: async <T>(key: string, value: T) => void values.set(key, value),
  };
}

function call(path: string, body: unknown = { rpm: 60, burst: 2 }, method = 'POST'): Request {
  return new Request(`https://limiter${path}`, {
    method,
    ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
  });
}

async function take(limiter: ClientRateLimiter, body?: unknown): Promise<LimiterAnswer> {
  const res = await limiter.fetch(call(TAKE_PATH, body));
  expect(res.status).toBe(200);
  return (await res.json()) as LimiterAnswer;
}

let now = T0;
beforeEach(() => {
  now = T0;
  jest.spyOn(Date, 'now').mockImplementation(() => now);
});
afterEach(() => jest.restoreAllMocks());

describe('ClientRateLimiter', () => {
  it('admits the burst, then refuses with the wait until the next request', async () => {
    const limiter = new ClientRateLimiter({ storage: memoryStorage() });
    expect(await take(limiter)).toEqual({ admitted: true });
    expect(await take(limiter)).toEqual({ admitted: true });
    expect(await take(limiter)).toEqual({ admitted: false, retryAfterMs: 1000 });
    now += 1000;
    expect(await take(limiter)).toEqual({ admitted: true });
  });

  it('gives a request back on a refund', async () => {
    const limiter = new ClientRateLimiter({ storage: memoryStorage() });
    await take(limiter);
    await take(limiter);
    expect((await limiter.fetch(call(REFUND_PATH))).status).toBe(204);
    expect(await take(limiter)).toEqual({ admitted: true });
    expect(await take(limiter)).toMatchObject({ admitted: false });
  });

  it('keeps its bucket in storage: a new instance over the same storage carries on', async () => {
    const storage = memoryStorage();
    const first = new ClientRateLimiter({ storage });
    await take(first);
    await take(first);
    expect(storage.values.get('tat')).toBe(T0 + 2000);
    const restarted = new ClientRateLimiter({ storage });
    expect(await take(restarted)).toEqual({ admitted: false, retryAfterMs: 1000 });
  });

  it('applies the limit each call carries, so a changed CLIENT_LIMITS applies from the next request', async () => {
    const limiter = new ClientRateLimiter({ storage: memoryStorage() });
    await take(limiter, { rpm: 60, burst: 1 });
    expect(await take(limiter, { rpm: 60, burst: 1 })).toMatchObject({ admitted: false });
    expect(await take(limiter, { rpm: 60, burst: 5 })).toEqual({ admitted: true });
  });

  it.each([
    ['another path', call('/other')],
    ['a GET', call(TAKE_PATH, undefined, 'GET')],
    ['no limit in the body', call(TAKE_PATH, { rpm: 60 })],
    ['a limit out of bounds', call(TAKE_PATH, { rpm: 0, burst: 1 })],
    ['a body that is not JSON', new Request(`https://limiter${TAKE_PATH}`, { method: 'POST', body: '{' })],
  ])('refuses %s with 400 and leaves the bucket alone', async (_what, request) => {
    const storage = memoryStorage();
    const limiter = new ClientRateLimiter({ storage });
    expect((await limiter.fetch(request)).status).toBe(400);
    expect(storage.values.size).toBe(0);
  });
});
