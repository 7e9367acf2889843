/**
 * Property: nothing a client writes into a request can decide a key's fate. Google quotes unknown field names and
 * bad values back in its 400 answers (message and BadRequest field violations), so for ANY string placed in a field
 * name or value, Google's echoing answer must neither remove nor cool a key: first for the classifier alone, then
 * through the handler with an upstream that echoes exactly as the fake (and Google) does.
 */
import fc from 'fast-check';
import { invalidValueError, unknownFieldsError, type GoogleErrorObject } from '../../../../dev/fake-gemini';
import { handleRequest, type HandlerDeps } from '../../../../workers/shard/edge/handler';
import { KeyPool } from '../../../../workers/shard/core/key-pool';
import type { LogLine } from '../../../../workers/shard/core/log';
import {
  googleErrorOf,
  isUnsupportedLocation,
  keyFaultOf,
  needsKeyProbe,
} from '../../../../workers/shard/core/key-faults';

const NOW = Date.parse('2026-06-15T10:00:00Z');

/** Strings a client would pick to mimic Google's key-fault wording, plus arbitrary text of every kind. */
const clientText = fc.oneof(
  fc.constantFrom(
    'API key not valid',
    'API key not valid. Please pass a valid API key.',
    'API Key not found',
    'API key expired',
    'Your API key was reported as leaked',
    'has been suspended',
    'API_KEY_INVALID',
    'SERVICE_DISABLED',
    'CONSUMER_SUSPENDED',
    'limit: 0',
    'quotaValue',
    'GenerateRequestsPerDayPerProjectPerModel-FreeTier',
    'User location is not supported for the API use.',
    '"reason":"API_KEY_INVALID"',
    '\\u0022',
    '__proto__',
  ),
  fc.string(),
  fc.string({ unit: 'binary' }),
);

/** Google's echoing answers to a request holding `name` as a field name and `value` as a value. */
function echoes(name: string, value: string): GoogleErrorObject[] {
  return [
    unknownFieldsError([name]),
    unknownFieldsError(['generationConfig2', name, value]),
    invalidValueError(`generation_config.${name}`, value),
    invalidValueError('contents[0].role', value),
    { code: 400, message: `${name}: ${value}`, status: 'INVALID_ARGUMENT' },
  ];
}

describe('a key fault is never read from text a client can influence', () => {
  it('classifies every echoing 400, native or compat-wrapped, as no fault of the key', () => {
    fc.assert(
      fc.property(clientText, clientText, (name, value) => {
        for (const err of echoes(name, value)) {
          for (const body of [{ error: err }, [{ error: err }]]) {
            // parsed from the wire form, as the worker reads it
            const parsed = googleErrorOf(JSON.parse(JSON.stringify(body)));
            expect(keyFaultOf(400, parsed, NOW)).toBeUndefined();
            expect(needsKeyProbe(400, parsed)).toBe(false);
            expect(isUnsupportedLocation(400, parsed)).toBe(false);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('through the handler, an upstream echoing any field name or value leaves every key in rotation', async () => {
    const KEYS = ['prop-key-1', 'prop-key-2', 'prop-key-3'];
    const env = {
      PASS: 'prop-pass',
      GEMINI_BASE_URL: 'http://gemini.test',
      ...Object.fromEntries(KEYS.map((k, i) => [`KEY${i + 1}`, k])),
    };
    await fc.assert(
      fc.asyncProperty(clientText, clientText, fc.boolean(), async (name, value, native) => {
        const logs: LogLine[] = [];
        let calls = 0;
        const deps: HandlerDeps = {
          now: () => NOW,
          random: () => 0.5,
          randomUUID: () => 'req',
          sleep: async () => true,
          log: (line) => logs.push(line),
          pool: new KeyPool(),
          fetch: async (_url, init) => {
            calls++;
            const sent = JSON.parse(new TextDecoder().decode(init.body as Uint8Array)) as Record<string, unknown>;
            const unknown = Object.keys(sent).filter((k) => !['model', 'messages', 'contents'].includes(k));
            const err = unknown.length > 0 ? unknownFieldsError(unknown) : invalidValueError(name, value);
            return new Response(JSON.stringify(native ? { error: err } : [{ error: err }]), {
              status: 400,
              headers: { 'content-type': 'application/json' },
            });
          },
        };
        const body = native
          ? { contents: [{ parts: [{ text: value }] }], [name]: value }
          : { model: 'gemini-3.8-flash', messages: [{ role: 'user', content: value }], [name]: value };
        const request = new Request(
          native
            ? 'http://worker.test/v1beta/models/gemini-3.8-flash:generateContent'
            : 'http://worker.test/v1/chat/completions',
          {
            method: 'POST',
            headers: native ? { 'x-goog-api-key': env.PASS } : { authorization: `Bearer ${env.PASS}` },
            body: JSON.stringify(body),
          },
        );
        const res = await handleRequest(request, env, deps);
        expect(res.status).toBe(400);
        expect(calls).toBe(1);
        expect(logs.filter((l) => l.event === 'key_removed' || l.event === 'key_cooldown')).toEqual([]);
        expect(deps.pool.available([1, 2, 3], 'gemini-3.8-flash', NOW)).toEqual([1, 2, 3]);
      }),
      { numRuns: 200 },
    );
  });
});
