import { identifyClient, missingCredentialMessage, presentedCredential } from '../../../../workers/shard/edge/auth';

const q = (s = '') => new URLSearchParams(s);
const PASS = 'canary-tok-pass-0123456789';
const ALICE = 'canary-tok-alice-0123456789abcdef';
const BOB = 'canary-tok-bob-0123456789abcdef00';

describe('presentedCredential', () => {
  const h = (init: Record<string, string>) => new Headers(init);

  it('reads a Bearer password on OpenAI routes only', () => {
    expect(presentedCredential('bearer', h({ authorization: 'Bearer pw' }), q())).toEqual({
      kind: 'present',
      value: 'pw',
    });
    expect(presentedCredential('bearer', h({ 'x-goog-api-key': 'pw' }), q())).toMatchObject({ kind: 'wrong-place' });
    expect(presentedCredential('bearer', h({ 'x-api-key': 'pw' }), q())).toMatchObject({ kind: 'wrong-place' });
    expect(presentedCredential('bearer', h({ authorization: 'Basic cHc=' }), q())).toMatchObject({
      kind: 'wrong-place',
    });
    expect(presentedCredential('bearer', h({}), q('key=pw'))).toMatchObject({ kind: 'wrong-place' });
    expect(presentedCredential('bearer', h({}), q())).toEqual({ kind: 'missing' });
  });

  it('reads x-goog-api-key, then ?key=, on native routes', () => {
    expect(presentedCredential('google', h({ 'x-goog-api-key': 'a' }), q('key=b'))).toEqual({
      kind: 'present',
      value: 'a',
    });
    expect(presentedCredential('google', h({}), q('key=b'))).toEqual({ kind: 'present', value: 'b' });
    expect(presentedCredential('google', h({ authorization: 'Bearer pw' }), q())).toMatchObject({
      kind: 'wrong-place',
    });
    expect(presentedCredential('google', h({}), q())).toEqual({ kind: 'missing' });
    expect(missingCredentialMessage('google')).toMatch(/x-goog-api-key/);
  });
});

describe('identifyClient', () => {
  const credentials = [
    { name: 'pass', value: PASS },
    { name: 'alice', value: ALICE },
    { name: 'bob', value: BOB },
  ];

  it('names the credential that matches, whichever position it holds', async () => {
    expect(await identifyClient(PASS, credentials)).toBe('pass');
    expect(await identifyClient(ALICE, credentials)).toBe('alice');
    expect(await identifyClient(BOB, credentials)).toBe('bob');
  });

  it('matches nothing for a wrong value, a prefix, an extension or an empty expected value', async () => {
    expect(await identifyClient('wrong', credentials)).toBeUndefined();
    expect(await identifyClient(ALICE.slice(0, -1), credentials)).toBeUndefined();
    expect(await identifyClient(`${ALICE}x`, credentials)).toBeUndefined();
    expect(await identifyClient('', [{ name: 'pass', value: '' }])).toBeUndefined();
    expect(await identifyClient(ALICE, [])).toBeUndefined();
  });
});
