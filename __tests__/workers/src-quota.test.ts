import { DEFAULT_MINUTE_COOLDOWN_MS, googleErrorOf, keyFaultOf, nextPacificMidnight, parseDurationMs } from '../../workers/src/quota';

const NOW = Date.parse('2026-06-15T10:00:00Z');

function quotaBody(quotaId: string, retryDelay?: string) {
  return {
    error: {
      code: 429,
      message: 'You exceeded your current quota',
      status: 'RESOURCE_EXHAUSTED',
      details: [
        { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaId, quotaDimensions: { model: 'gemini-2.5-flash' } }] },
        { '@type': 'type.googleapis.com/google.rpc.Help', links: [] },
        ...(retryDelay ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay }] : []),
      ],
    },
  };
}

describe('googleErrorOf', () => {
  it('reads the native object shape and the compat endpoint array shape alike', () => {
    const body = quotaBody('X');
    expect(googleErrorOf(body)).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
    expect(googleErrorOf([body])).toEqual(googleErrorOf(body));
  });

  it('returns undefined for bodies that are not Google errors', () => {
    expect(googleErrorOf('nope')).toBeUndefined();
    expect(googleErrorOf([])).toBeUndefined();
    expect(googleErrorOf({ message: 'x' })).toBeUndefined();
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['17s', 17_000],
    ['0.5s', 500],
    ['1.2345s', 1235],
  ])('parses %s', (text, ms) => expect(parseDurationMs(text)).toBe(ms));

  it.each([['17'], ['-1s'], ['1m'], [17]])('rejects %p', value => expect(parseDurationMs(value)).toBeUndefined());
});

describe('nextPacificMidnight', () => {
  it.each([
    // PDT (UTC-7): midnight is 07:00Z
    ['2026-06-15T10:00:00Z', '2026-06-16T07:00:00.000Z'],
    // just before midnight PDT
    ['2026-06-16T06:59:59Z', '2026-06-16T07:00:00.000Z'],
    // exactly midnight PDT: the next one, a day later
    ['2026-06-16T07:00:00Z', '2026-06-17T07:00:00.000Z'],
    // PST (UTC-8): midnight is 08:00Z
    ['2026-01-10T20:00:00Z', '2026-01-11T08:00:00.000Z'],
    // the day DST starts (2026-03-08, 23 hours long): noon PST on the 7th → midnight PST on the 8th
    ['2026-03-07T20:00:00Z', '2026-03-08T08:00:00.000Z'],
    // on the 8th after the switch → midnight PDT on the 9th
    ['2026-03-08T19:00:00Z', '2026-03-09T07:00:00.000Z'],
    // the day DST ends (2026-11-01, 25 hours long): noon PDT on Oct 31 → midnight PDT on Nov 1
    ['2026-10-31T19:00:00Z', '2026-11-01T07:00:00.000Z'],
    // 01:30 PST on Nov 1 (after the switch) → midnight PST on Nov 2
    ['2026-11-01T09:30:00Z', '2026-11-02T08:00:00.000Z'],
    // year end
    ['2026-12-31T23:00:00Z', '2027-01-01T08:00:00.000Z'],
  ])('from %s is %s', (now, expected) => {
    expect(new Date(nextPacificMidnight(Date.parse(now))).toISOString()).toBe(expected);
  });
});

describe('keyFaultOf', () => {
  it('cools a per-minute quota for the RetryInfo delay', () => {
    expect(keyFaultOf(429, googleErrorOf(quotaBody('GenerateRequestsPerMinutePerProjectPerModel-FreeTier', '17s')), NOW)).toEqual({
      kind: 'cooldown',
      cooldown: { until: NOW + 17_000, reason: 'quota-minute' },
      quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
    });
  });

  it('cools a per-minute quota for 60 s when RetryInfo is absent, and a bare 429 the same way', () => {
    const fault = keyFaultOf(429, googleErrorOf(quotaBody('GenerateContentInputTokensPerModelPerMinute-FreeTier')), NOW);
    expect(fault).toMatchObject({ cooldown: { until: NOW + DEFAULT_MINUTE_COOLDOWN_MS, reason: 'quota-minute' } });
    expect(keyFaultOf(429, undefined, NOW)).toMatchObject({ cooldown: { until: NOW + 60_000, reason: 'quota-minute' } });
  });

  it('cools a per-day quota until midnight Pacific, ignoring its short RetryInfo', () => {
    const fault = keyFaultOf(429, googleErrorOf([quotaBody('GenerateRequestsPerDayPerProjectPerModel-FreeTier', '43s')]), NOW);
    expect(fault).toEqual({
      kind: 'cooldown',
      cooldown: { until: Date.parse('2026-06-16T07:00:00Z'), reason: 'quota-day' },
      quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
    });
  });

  it('removes a key Google calls invalid, by ErrorInfo reason or by message', () => {
    const invalid = { error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] } };
    expect(keyFaultOf(400, googleErrorOf(invalid), NOW)).toEqual({ kind: 'removed', reason: 'API_KEY_INVALID' });
    expect(keyFaultOf(400, googleErrorOf({ error: { code: 400, message: 'API Key not found. Please pass a valid API key.' } }), NOW)).toEqual({ kind: 'removed', reason: 'API_KEY_INVALID' });
  });

  it('removes leaked and suspended keys', () => {
    const leaked = { error: { code: 403, message: 'Your API key was reported as leaked. Please use another API key.', status: 'PERMISSION_DENIED' } };
    expect(keyFaultOf(403, googleErrorOf(leaked), NOW)).toEqual({ kind: 'removed', reason: 'PERMISSION_DENIED' });
    const suspended = { error: { code: 403, message: 'Permission denied: Consumer has been suspended.', status: 'PERMISSION_DENIED', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'CONSUMER_SUSPENDED' }] } };
    expect(keyFaultOf(403, googleErrorOf(suspended), NOW)).toEqual({ kind: 'removed', reason: 'CONSUMER_SUSPENDED' });
  });

  it('blames nothing on the key for client errors, other 403s and server errors', () => {
    const badRequest = { error: { code: 400, message: 'Invalid JSON payload received.', status: 'INVALID_ARGUMENT' } };
    expect(keyFaultOf(400, googleErrorOf(badRequest), NOW)).toBeUndefined();
    const otherProjectFile = { error: { code: 403, message: 'You do not have permission to access the File abc or it may not exist.', status: 'PERMISSION_DENIED' } };
    expect(keyFaultOf(403, googleErrorOf(otherProjectFile), NOW)).toBeUndefined();
    for (const status of [500, 503, 504]) expect(keyFaultOf(status, googleErrorOf({ error: { code: status, message: 'x' } }), NOW)).toBeUndefined();
  });
});
