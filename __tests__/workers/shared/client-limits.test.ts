/**
 * `parseClientLimits` (workers/shared/contract.ts): the one reader of `CLIENT_LIMITS` that synth and the shard worker
 * share. Every problem names the setting, the client and the field.
 */
import { MAX_CLIENT_RPM, parseClientLimits } from '../../../workers/shared/contract';

function problem(text: string): string {
  const parsed = parseClientLimits(text);
  if (parsed.ok) throw new Error(`accepted ${text}`);
  return parsed.problem;
}

describe('parseClientLimits', () => {
  it("reads each client's rpm and burst, burst defaulting to rpm", () => {
    expect(parseClientLimits('{"alice":{"rpm":60},"bob":{"rpm":600,"burst":20}}')).toEqual({
      ok: true,
      limits: { alice: { rpm: 60, burst: 60 }, bob: { rpm: 600, burst: 20 } },
    });
  });

  it.each([undefined, '', '  ', '{}'])('limits no one when the setting is %p', (text) => {
    expect(parseClientLimits(text)).toEqual({ ok: true, limits: {} });
  });

  it.each([
    ['{"alice":{"rpm":0}}', 'CLIENT_LIMITS.alice.rpm must be an integer from 1 to 100000 (requests a minute), got 0'],
    [
      '{"alice":{"rpm":"60"}}',
      'CLIENT_LIMITS.alice.rpm must be an integer from 1 to 100000 (requests a minute), got "60"',
    ],
    [
      '{"alice":{"rpm":1.5}}',
      'CLIENT_LIMITS.alice.rpm must be an integer from 1 to 100000 (requests a minute), got 1.5',
    ],
    ['{"alice":{}}', 'CLIENT_LIMITS.alice.rpm must be an integer from 1 to 100000 (requests a minute), got undefined'],
    [
      `{"bob":{"rpm":60,"burst":${MAX_CLIENT_RPM + 1}}}`,
      'CLIENT_LIMITS.bob.burst must be an integer from 1 to 100000 (requests at once after a quiet spell), got 100001',
    ],
    ['{"bob":{"rpm":60,"rpn":5}}', 'CLIENT_LIMITS.bob.rpn is not a limit; the fields are rpm and burst'],
    ['{"bob":60}', 'CLIENT_LIMITS.bob must be an object such as {"rpm":60}, got 60'],
    ['{"alice":{"rpm":60},"bob":[1]}', 'CLIENT_LIMITS.bob must be an object such as {"rpm":60}, got [1]'],
  ])('names the client and the field of %s', (text, message) => {
    expect(problem(text)).toBe(message);
  });

  it.each(['{"Alice":{"rpm":1}}', '{"pass":{"rpm":1}}', '{"a b":{"rpm":1}}'])(
    'refuses the client name in %s',
    (text) => {
      expect(problem(text)).toMatch(
        /^CLIENT_LIMITS names the client "(Alice|pass|a b)": a client name .* has no limit\)$/,
      );
    },
  );

  it.each(['{', '[]', '"alice"', 'null', '60'])('refuses %s as not an object of client limits', (text) => {
    expect(problem(text)).toMatch(/^CLIENT_LIMITS (is not JSON|must be a JSON object of client name to limit)/);
  });

  it('names the setting it was given, and cuts a long value short', () => {
    expect(problem(`{"alice":{"rpm":"${'9'.repeat(100)}"}}`)).toBe(
      `CLIENT_LIMITS.alice.rpm must be an integer from 1 to 100000 (requests a minute), got "${'9'.repeat(39)}…`,
    );
    const parsed = parseClientLimits('{"alice":{"rpm":0}}', 'clientLimits');
    expect(parsed).toEqual({ ok: false, problem: expect.stringMatching(/^clientLimits\.alice\.rpm must be/) });
  });
});
