import {
  BARE_429_COOLDOWN_MS,
  DEFAULT_MINUTE_COOLDOWN_MS,
  durationPrecisionMs,
  googleErrorOf,
  isUnsupportedLocation,
  KEY_LEVEL_REASONS,
  keyFaultOf,
  needsKeyProbe,
  nextPacificMidnight,
  parseDurationMs,
  probeBlamesKey,
} from '../../../../workers/shard/core/key-faults';

const NOW = Date.parse('2026-06-15T10:00:00Z');

function quotaBody(quotaId: string, retryDelay?: string) {
  return {
    error: {
      code: 429,
      message: 'You exceeded your current quota',
      status: 'RESOURCE_EXHAUSTED',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [{ quotaId, quotaDimensions: { model: 'gemini-3.8-flash' } }],
        },
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

  it.each([['17'], ['-1s'], ['1m'], [17]])('rejects %p', (value) => expect(parseDurationMs(value)).toBeUndefined());
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

const errorInfo = (reason: string) => ({
  '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
  reason,
  domain: 'googleapis.com',
});
const googleBody = (code: number, status: string, message: string, details: unknown[] = []) => ({
  error: { code, message, status, details },
});

describe('keyFaultOf', () => {
  it('cools a per-minute quota for the RetryInfo delay', () => {
    expect(
      keyFaultOf(429, googleErrorOf(quotaBody('GenerateRequestsPerMinutePerProjectPerModel-FreeTier', '17s')), NOW),
    ).toEqual({
      kind: 'cooldown',
      cooldown: { until: NOW + 17_000, reason: 'quota-minute' },
      quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
      untilPrecisionMs: 1000,
    });
  });

  it('says how finely the RetryInfo delay stated the end: whole seconds, tenths, milliseconds', () => {
    const precisionOf = (delay: string) =>
      keyFaultOf(429, googleErrorOf(quotaBody('GenerateRequestsPerMinutePerProjectPerModel-FreeTier', delay)), NOW);
    expect(precisionOf('17s')).toMatchObject({ untilPrecisionMs: 1000 });
    expect(precisionOf('0.5s')).toMatchObject({ untilPrecisionMs: 100, cooldown: { until: NOW + 500 } });
    expect(precisionOf('1.250s')).toMatchObject({ untilPrecisionMs: 1 });
    expect(durationPrecisionMs('3.000000001s')).toBe(1);
  });

  it("reads a per-minute request quota's quotaValue as the requests its window allows, and no other quota's", () => {
    const withValues = (...violations: { quotaId: string; quotaValue: string }[]) =>
      googleErrorOf({
        error: {
          code: 429,
          status: 'RESOURCE_EXHAUSTED',
          details: [
            { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations },
            { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '17s' },
          ],
        },
      });
    const requests = 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier';
    const tokens = 'GenerateContentInputTokensPerModelPerMinute-FreeTier';
    expect(keyFaultOf(429, withValues({ quotaId: requests, quotaValue: '15' }), NOW)).toMatchObject({
      requestLimit: 15,
    });
    // a token quota's value counts tokens, not calls; a value that is no whole number, or two that disagree, say nothing
    for (const violations of [
      [{ quotaId: tokens, quotaValue: '250000' }],
      [{ quotaId: requests, quotaValue: '1e3' }],
      [{ quotaId: requests, quotaValue: '-4' }],
      [
        { quotaId: requests, quotaValue: '15' },
        { quotaId: `${requests}-Other`, quotaValue: '30' },
      ],
    ]) {
      const fault = keyFaultOf(429, withValues(...violations), NOW);
      expect(fault).toMatchObject({ kind: 'cooldown', cooldown: { reason: 'quota-minute' } });
      expect(fault).not.toHaveProperty('requestLimit');
    }
  });

  it('cools a per-minute quota for 60 s when RetryInfo is absent', () => {
    const fault = keyFaultOf(
      429,
      googleErrorOf(quotaBody('GenerateContentInputTokensPerModelPerMinute-FreeTier')),
      NOW,
    );
    expect(fault).toMatchObject({ cooldown: { until: NOW + DEFAULT_MINUTE_COOLDOWN_MS, reason: 'quota-minute' } });
    // the fallback is not a window end Google named: nothing presumes a window from it
    expect(fault).not.toHaveProperty('untilPrecisionMs');
  });

  it('cools a 429 with no details (or no Google body at all) for a few seconds only', () => {
    const bare = googleBody(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).');
    const expected = { kind: 'cooldown', cooldown: { until: NOW + BARE_429_COOLDOWN_MS, reason: 'quota-unspecified' } };
    expect(keyFaultOf(429, googleErrorOf(bare), NOW)).toEqual(expected);
    expect(keyFaultOf(429, googleErrorOf([bare]), NOW)).toEqual(expected);
    expect(keyFaultOf(429, undefined, NOW)).toEqual(expected);
    expect(BARE_429_COOLDOWN_MS).toBeLessThanOrEqual(10_000);
  });

  it('cools a per-day quota until midnight Pacific, ignoring its short RetryInfo', () => {
    const fault = keyFaultOf(
      429,
      googleErrorOf([quotaBody('GenerateRequestsPerDayPerProjectPerModel-FreeTier', '43s')]),
      NOW,
    );
    expect(fault).toEqual({
      kind: 'cooldown',
      cooldown: { until: Date.parse('2026-06-16T07:00:00Z'), reason: 'quota-day' },
      quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
    });
  });

  it('cools a quota of zero until midnight Pacific whatever RetryInfo says, from QuotaFailure.quotaValue alone', () => {
    const zero = (quotaValue: string, message: string) =>
      googleBody(429, 'RESOURCE_EXHAUSTED', message, [
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [{ quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier', quotaValue }],
        },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '27s' },
      ]);
    expect(
      keyFaultOf(429, googleErrorOf(zero('0', 'Quota exceeded, limit: 0, model: gemini-3.1-pro-preview')), NOW),
    ).toEqual({
      kind: 'cooldown',
      cooldown: { until: Date.parse('2026-06-16T07:00:00Z'), reason: 'quota-zero' },
      quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
    });
    // the message is free text: "limit: 0" there without the structured field is an ordinary per-minute quota
    expect(
      keyFaultOf(429, googleErrorOf(zero('10', 'Quota exceeded, limit: 0, model: gemini-3.1-pro-preview')), NOW),
    ).toMatchObject({
      cooldown: { until: NOW + 27_000, reason: 'quota-minute' },
    });
  });

  it('removes a key whose credential Google refuses (401), whatever the body says', () => {
    expect(
      keyFaultOf(
        401,
        googleErrorOf(googleBody(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.')),
        NOW,
      ),
    ).toEqual({
      kind: 'removed',
      reason: 'UNAUTHENTICATED',
    });
    expect(keyFaultOf(401, undefined, NOW)).toEqual({ kind: 'removed', reason: 'UNAUTHENTICATED' });
  });

  it.each([
    [400, 'INVALID_ARGUMENT', 'API_KEY_INVALID'],
    [403, 'PERMISSION_DENIED', 'SERVICE_DISABLED'],
    [403, 'PERMISSION_DENIED', 'BILLING_DISABLED'],
    [403, 'PERMISSION_DENIED', 'API_KEY_SERVICE_BLOCKED'],
    [403, 'PERMISSION_DENIED', 'API_KEY_IP_ADDRESS_BLOCKED'],
    [403, 'PERMISSION_DENIED', 'CONSUMER_SUSPENDED'],
    [403, 'PERMISSION_DENIED', 'CONSUMER_INVALID'],
  ])('removes a key on %i %s with ErrorInfo reason %s', (status, googleStatus, reason) => {
    const body = googleBody(status, googleStatus, 'any text at all', [errorInfo(reason)]);
    expect(keyFaultOf(status, googleErrorOf(body), NOW)).toEqual({ kind: 'removed', reason });
    expect(keyFaultOf(status, googleErrorOf([body]), NOW)).toEqual({ kind: 'removed', reason });
    expect(KEY_LEVEL_REASONS.has(reason)).toBe(true);
  });

  it('never reads the message: key-sounding text without a key-level ErrorInfo blames nothing on the key', () => {
    for (const message of [
      'API key not valid. Please pass a valid API key.',
      'API Key not found. Please pass a valid API key.',
      'API key expired. Please renew the API key.',
      'Your API key was reported as leaked. Please use another API key.',
      "Permission denied: Consumer 'api_key:x' has been suspended.",
      'Invalid JSON payload received. Unknown name "API key not valid": Cannot find field.',
    ]) {
      for (const [status, googleStatus] of [
        [400, 'INVALID_ARGUMENT'],
        [403, 'PERMISSION_DENIED'],
      ] as const) {
        expect(keyFaultOf(status, googleErrorOf(googleBody(status, googleStatus, message)), NOW)).toBeUndefined();
        expect(
          keyFaultOf(
            status,
            googleErrorOf(googleBody(status, googleStatus, message, [errorInfo('SOMETHING_ELSE')])),
            NOW,
          ),
        ).toBeUndefined();
      }
    }
  });

  it('blames nothing on the key for client errors, resource denials, the location refusal and server errors', () => {
    const badRequest = googleBody(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
    expect(keyFaultOf(400, googleErrorOf(badRequest), NOW)).toBeUndefined();
    const otherProjectFile = googleBody(
      403,
      'PERMISSION_DENIED',
      'You do not have permission to access the File abc or it may not exist.',
    );
    expect(keyFaultOf(403, googleErrorOf(otherProjectFile), NOW)).toBeUndefined();
    const location = googleBody(400, 'FAILED_PRECONDITION', 'User location is not supported for the API use.');
    expect(keyFaultOf(400, googleErrorOf(location), NOW)).toBeUndefined();
    for (const status of [500, 503, 504])
      expect(keyFaultOf(status, googleErrorOf({ error: { code: status, message: 'x' } }), NOW)).toBeUndefined();
    // a key-level reason on a status that is not about the request's credential is not trusted either
    expect(
      keyFaultOf(404, googleErrorOf(googleBody(404, 'NOT_FOUND', 'x', [errorInfo('API_KEY_INVALID')])), NOW),
    ).toBeUndefined();
  });
});

describe('isUnsupportedLocation and the 403 probe', () => {
  it('recognises the location refusal by status and FAILED_PRECONDITION without details, never by its text', () => {
    const location = googleBody(400, 'FAILED_PRECONDITION', 'User location is not supported for the API use.');
    expect(isUnsupportedLocation(400, googleErrorOf(location))).toBe(true);
    expect(isUnsupportedLocation(400, googleErrorOf(googleBody(400, 'FAILED_PRECONDITION', 'anything')))).toBe(true);
    expect(
      isUnsupportedLocation(
        400,
        googleErrorOf(googleBody(400, 'INVALID_ARGUMENT', 'User location is not supported for the API use.')),
      ),
    ).toBe(false);
    expect(
      isUnsupportedLocation(400, googleErrorOf(googleBody(400, 'FAILED_PRECONDITION', 'x', [errorInfo('OTHER')]))),
    ).toBe(false);
    expect(isUnsupportedLocation(500, googleErrorOf(location))).toBe(false);
  });

  it('probes only a 403 PERMISSION_DENIED without ErrorInfo, and blames the key only when the probe is refused too', () => {
    const bare = googleBody(
      403,
      'PERMISSION_DENIED',
      'Your API key was reported as leaked. Please use another API key.',
    );
    expect(needsKeyProbe(403, googleErrorOf(bare))).toBe(true);
    expect(
      needsKeyProbe(
        403,
        googleErrorOf(googleBody(403, 'PERMISSION_DENIED', 'x', [errorInfo('IAM_PERMISSION_DENIED')])),
      ),
    ).toBe(false);
    expect(needsKeyProbe(403, undefined)).toBe(false);
    expect(needsKeyProbe(400, googleErrorOf(bare))).toBe(false);

    expect(probeBlamesKey(403, googleErrorOf(bare), NOW)).toBe(true);
    expect(probeBlamesKey(401, undefined, NOW)).toBe(true);
    expect(
      probeBlamesKey(400, googleErrorOf(googleBody(400, 'INVALID_ARGUMENT', 'x', [errorInfo('API_KEY_INVALID')])), NOW),
    ).toBe(true);
    expect(probeBlamesKey(200, undefined, NOW)).toBe(false);
    expect(probeBlamesKey(429, undefined, NOW)).toBe(false);
    expect(probeBlamesKey(403, undefined, NOW)).toBe(false);
  });
});
