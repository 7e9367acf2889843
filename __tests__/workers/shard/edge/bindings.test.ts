import { readConfig, type ShardEnv } from '../../../../workers/shard/edge/bindings';

describe('readConfig', () => {
  it('collects KEY<n> in numeric order, ignoring empty and malformed names', () => {
    // ShardEnv names only what the worker reads; workerd hands over any other binding too
    const unread = { KEYX: 'y' };
    const result = readConfig({
      PASS: 'p',
      KEY10: 'k10',
      KEY2: 'k2',
      KEY1: 'k1',
      KEY3: '',
      KEY04: 'x',
      ...unread,
      GEMINI_BASE_URL: 'http://127.0.0.1:9/kept/path/',
    });
    expect(result).toEqual({
      ok: true,
      config: {
        keys: [
          { index: 1, value: 'k1' },
          { index: 2, value: 'k2' },
          { index: 10, value: 'k10' },
        ],
        pass: 'p',
        clientTokens: [],
        baseUrl: 'http://127.0.0.1:9/kept/path',
        timeoutMs: 300_000,
        maxWaitMs: 0,
        maxBodyBytes: 100_000_000,
      },
    });
  });

  it.each<[ShardEnv, string]>([
    [{}, 'PASS is not set'],
    [{ PASS: 'p', GEMINI_BASE_URL: 'not a url' }, 'GEMINI_BASE_URL is not a URL'],
    [{ PASS: 'p', GEMINI_BASE_URL: 'ftp://x' }, 'GEMINI_BASE_URL must be http(s)'],
    [{ PASS: 'p', UPSTREAM_TIMEOUT_MS: '0' }, 'UPSTREAM_TIMEOUT_MS must be a positive integer'],
    [{ PASS: 'p', MAX_BODY_BYTES: '1.5' }, 'MAX_BODY_BYTES must be a positive integer'],
    [
      { PASS: 'p', GEMINI_BASE_URL: 'https://gateway.example/v1/a/b?token=x' },
      'GEMINI_BASE_URL must not have a query, a fragment or credentials',
    ],
    [
      { PASS: 'p', GEMINI_BASE_URL: 'https://user:pw@gateway.example/v1' },
      'GEMINI_BASE_URL must not have a query, a fragment or credentials',
    ],
    ...['-1', '1.5', '60001', 'abc', ' 5', '1e3'].map((v): [ShardEnv, string] => [
      { PASS: 'p', MAX_WAIT_MS: v },
      'MAX_WAIT_MS must be an integer from 0 to 60000',
    ]),
  ])('names the binding at fault: %p', (env, problem) => {
    expect(readConfig(env)).toEqual({ ok: false, problem });
  });

  it.each([
    ['https://generativelanguage.googleapis.com', 'https://generativelanguage.googleapis.com'],
    ['https://generativelanguage.googleapis.com/', 'https://generativelanguage.googleapis.com'],
    [
      'https://gateway.ai.cloudflare.com/v1/acct123/gw-1/google-ai-studio',
      'https://gateway.ai.cloudflare.com/v1/acct123/gw-1/google-ai-studio',
    ],
    [
      'https://gateway.ai.cloudflare.com/v1/acct123/gw-1/google-ai-studio//',
      'https://gateway.ai.cloudflare.com/v1/acct123/gw-1/google-ai-studio',
    ],
  ])('keeps the path of GEMINI_BASE_URL %s', (given, baseUrl) => {
    expect(readConfig({ PASS: 'p', GEMINI_BASE_URL: given })).toMatchObject({ ok: true, config: { baseUrl } });
  });

  it('reads MAX_WAIT_MS from 0 to 60000, 0 by default', () => {
    expect(readConfig({ PASS: 'p' })).toMatchObject({ config: { maxWaitMs: 0 } });
    expect(readConfig({ PASS: 'p', MAX_WAIT_MS: '' })).toMatchObject({ config: { maxWaitMs: 0 } });
    expect(readConfig({ PASS: 'p', MAX_WAIT_MS: '0' })).toMatchObject({ config: { maxWaitMs: 0 } });
    expect(readConfig({ PASS: 'p', MAX_WAIT_MS: '2000' })).toMatchObject({ config: { maxWaitMs: 2000 } });
    expect(readConfig({ PASS: 'p', MAX_WAIT_MS: '60000' })).toMatchObject({ config: { maxWaitMs: 60_000 } });
  });
});
