/**
 * The streaming redactor: for random secrets, random text full of their spellings and near misses, and random
 * chunkings, a stream comes out as the whole text does, with no secret left in any spelling (checked by a regular
 * expression written apart from the search), holding back less than the longest spelling.
 */
import fc from 'fast-check';
import { redact, redactJsonText } from '../../../../workers/shard/core/redaction';
import {
  isMedia,
  redactBytes,
  redactedParts,
  redactMessage,
  redactText,
  spellingsOf,
  StreamRedactor,
} from '../../../../workers/shard/core/redaction-stream';
import { MAX_SPELLING_PER_BYTE } from '../../../../workers/shard/core/secret-spellings';
import { defined } from '../../../helpers/guards';
import { asBinary, spelt, spellingOf, spellingsRegex } from '../../../helpers/secret-forms';
import { canaryApiKeys } from '../../../security/canaries';

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const KEY = defined(canaryApiKeys(1)[0], 'canary key');
const PASS = 'pa$$ w%rd/+"\\é😀';

/** The stream, cut at `cuts`, through one redactor: every piece it passed on, joined, and the most it held back. */
function streamed(text: Uint8Array, secrets: readonly string[], cuts: readonly number[]): [Uint8Array, number] {
  const redactor = new StreamRedactor(spellingsOf(secrets));
  const out: Uint8Array[] = [];
  let held = 0;
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    out.push(redactor.push(text.subarray(from, cut)));
    held = Math.max(held, redactor.holding);
    from = cut;
  }
  out.push(redactor.push(text.subarray(from)));
  held = Math.max(held, redactor.holding);
  out.push(redactor.end());
  return [Buffer.concat(out), held];
}

/** Characters that make near misses: escapes, percent signs, hex digits, the letters and symbols secrets hold. */
const FILLER = [...'AIza09afF"\\/%+ u{}:,\nSyé😀xyz-_$'];
/** Secrets never begin or end with a character of `[redacted]`, which could join the marker into a new one. */
const EDGE = [...'AIzSyKQ09_-$%\\/+" é😀'];
const MIDDLE = [...'AIzaSyCANRYkey019_-$%\\/+" é😀wru'];
const secretArb = fc
  .tuple(
    fc.constantFrom(...EDGE),
    fc.array(fc.constantFrom(...MIDDLE), { minLength: 4, maxLength: 14 }),
    fc.constantFrom(...EDGE),
  )
  .map(([first, middle, last]) => `${first}${middle.join('')}${last}`);
const keyArb = fc
  .array(fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'), {
    minLength: 35,
    maxLength: 35,
  })
  .map((chars) => `AIza${chars.join('')}`);
const secretsArb = fc.array(fc.oneof(secretArb, keyArb), { minLength: 1, maxLength: 4 });

/** Text of filler, whole spellings of the secrets and cut-off ones. */
function textArb(secrets: readonly string[]): fc.Arbitrary<string> {
  const filler = fc.array(fc.constantFrom(...FILLER), { maxLength: 6 }).map((cs) => cs.join(''));
  const spelling = fc.constantFrom(...secrets).chain(spellingOf);
  const cutOff = fc.tuple(spelling, fc.nat()).map(([s, n]) => s.slice(0, n % Math.max(1, s.length)));
  return fc.array(fc.oneof(filler, spelling, cutOff), { maxLength: 8 }).map((parts) => parts.join(''));
}

const caseArb = secretsArb.chain((secrets) =>
  textArb(secrets).chain((text) => {
    const bytes = encode(text);
    return fc.tuple(
      fc.constant(secrets),
      fc.constant(bytes),
      fc.uniqueArray(fc.integer({ min: 0, max: bytes.length }), { maxLength: 12 }),
    );
  }),
);

describe('the streaming redactor', () => {
  it('gives a stream cut anywhere the same bytes as the whole text, holding back less than the longest spelling', () => {
    fc.assert(
      fc.property(caseArb, ([secrets, text, cuts]) => {
        const whole = redactBytes(text, spellingsOf(secrets));
        const [out, held] = streamed(text, secrets, cuts);
        expect(asBinary(out)).toBe(asBinary(whole));
        const longest = Math.max(...secrets.map((s) => encode(s).length)) * MAX_SPELLING_PER_BYTE;
        expect(held).toBeLessThan(longest);
      }),
      { numRuns: 400 },
    );
  });

  it('leaves no secret in any spelling, by a regular expression written apart from the search', () => {
    // the regular expression backtracks through every reading of `\\`, `%` and `+`: fewer runs
    fc.assert(
      fc.property(caseArb, ([secrets, text]) => {
        const whole = asBinary(redactBytes(text, spellingsOf(secrets)));
        for (const secret of secrets) expect(whole).not.toMatch(spellingsRegex(secret));
      }),
      { numRuns: 100 },
    );
  });

  it('redacts any random spelling of a secret, cut at every offset', () => {
    fc.assert(
      fc.property(
        secretsArb.chain((secrets) => fc.tuple(fc.constant(secrets), fc.constantFrom(...secrets).chain(spellingOf))),
        ([secrets, spelling]) => {
          const text = encode(`data: {"m":"x ${spelling} y"}\n\n`);
          const whole = decode(redactBytes(text, spellingsOf(secrets)));
          expect(whole).toBe('data: {"m":"x [redacted] y"}\n\n');
          for (let cut = 0; cut <= text.length; cut++) expect(decode(streamed(text, secrets, [cut])[0])).toBe(whole);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('redacts each named spelling, split at every offset, and leaves near misses alone', () => {
    const forms = [
      KEY,
      spelt(KEY, 'escaped'),
      spelt(KEY, 'percent'),
      spelt(KEY, 'percent-escaped'),
      `\\u0041${KEY.slice(1)}`,
      `%41${KEY.slice(1)}`,
      PASS,
      encodeURIComponent(PASS),
      encodeURIComponent(PASS).replace('%20', '+'),
      JSON.stringify(PASS).slice(1, -1),
      JSON.stringify(encodeURIComponent(PASS)).slice(1, -1).replace('%', '\\u0025'),
      spelt(PASS, 'escaped').toUpperCase().replaceAll('\\U', '\\u'),
    ];
    for (const form of forms) {
      const text = encode(`{"error":{"message":"quota for ${form} exceeded"}}`);
      for (let cut = 0; cut <= text.length; cut++) {
        expect(decode(streamed(text, [KEY, PASS], [cut])[0])).toBe(
          '{"error":{"message":"quota for [redacted] exceeded"}}',
        );
      }
    }
    const misses = `${KEY.slice(0, -1)} ${KEY.slice(1)} \\u0041 %4 \\u00 ${PASS.slice(0, 5)}`;
    expect(redactText(misses, [KEY, PASS])).toBe(misses);
    expect(redactText(`A${KEY}s`, [KEY])).toBe('A[redacted]s');
    // a secret that begins with what reads as an escape is found as it is written
    expect(redactText('x \\u003cliteral-secret y', ['\\u003cliteral-secret'])).toBe('x [redacted] y');
  });

  it('passes a stream on as it comes: an SSE event is held back only while its end may begin a secret', () => {
    const redactor = new StreamRedactor(spellingsOf([KEY, PASS]));
    const event = encode('data: {"text":"AIza is how keys begin; 100% \\"sure\\""}\n\n');
    expect(redactor.push(event)).toBe(event);
    expect(redactor.holding).toBe(0);
    expect(decode(redactor.push(encode(`data: ${KEY.slice(0, 6)}`)))).toBe('data: ');
    expect(redactor.holding).toBe(6);
    expect(decode(redactor.push(encode(`${KEY.slice(6)}\n\n`)))).toBe('[redacted]\n\n');
    expect(decode(redactor.push(encode('tail \\u00')))).toBe('tail ');
    expect(decode(redactor.end())).toBe('\\u00');
  });

  it('remembers its way through secrets whose bytes can be read two ways (backslashes, percent signs, plus signs)', () => {
    // without a memo, the ways to read these grow exponentially with the secret's length
    const odd = '\\\\%%++\\%+'.repeat(4);
    const slashes = '\\'.repeat(30);
    const text = `x ${JSON.stringify(JSON.stringify(odd))} ${encodeURIComponent(odd)} y ${'\\'.repeat(70)}`;
    const out = decode(redactBytes(encode(text), spellingsOf([odd, slashes])));
    expect(out).not.toMatch(spellingsRegex(odd));
    // JSON inside JSON is one escape too deep for the search (and for redactJsonText): the percent-encoded copy is not.
    // The 70 backslashes hold readings of the 30-backslash secret that overlap to the last one: one redacted span
    expect(out).toBe(`x ${JSON.stringify(JSON.stringify(odd))} [redacted] y [redacted]`);
  });
});

describe('what the whole-text redaction of ./redaction.ts does, the streaming one does', () => {
  // with a `%` in a secret, its raw form can begin its own percent-encoding (`x%` in `x%25`): redact, looking for the
  // raw form first, leaves `25` behind there, and the longest match does not, so those are left out of the comparison
  const secretPair = fc
    .tuple(keyArb, secretArb)
    .filter(([a, b]) => !a.includes(b) && !b.includes(a) && !b.includes('%'));

  it('redacts every secret redactJsonText finds in a JSON body, however its characters are escaped', () => {
    const valueArb = secretPair.chain((secrets) =>
      fc.tuple(
        fc.constant(secrets),
        fc.array(fc.tuple(fc.constantFrom(...secrets, 'plain'), fc.constantFrom('as-is', 'encoded'), fc.boolean()), {
          maxLength: 5,
        }),
      ),
    );
    fc.assert(
      fc.property(valueArb, ([secrets, parts]) => {
        const strings = parts.map(([s, how]) => `<${how === 'encoded' ? encodeURIComponent(s) : s}>`);
        const body = JSON.stringify({ error: { message: strings.join(' '), details: strings } });
        // Google's encoder may escape any character: escape every other one of each string
        const escaped = body.replace(/[A-Za-z0-9]/g, (c, at: number) =>
          at % 2 === 0 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c,
        );
        expect(JSON.parse(redactText(escaped, secrets))).toEqual(JSON.parse(redactJsonText(escaped, secrets)));
      }),
      { numRuns: 200 },
    );
  });

  it('replaces the raw and percent-encoded forms as redact does', () => {
    fc.assert(
      fc.property(
        secretPair.chain((secrets) =>
          fc.tuple(
            fc.constant(secrets),
            fc.array(
              fc.oneof(
                fc.constantFrom(...secrets),
                fc.constantFrom(...secrets).map(encodeURIComponent),
                fc.constantFrom(' ', 'x', '{}'),
              ),
              {
                maxLength: 8,
              },
            ),
          ),
        ),
        ([secrets, parts]) => {
          const text = parts.join('');
          // where one spelling overlaps the next secret (a password ending in `\\` read as `\\\\`), the two are one
          // redacted span here and two for redact: the same text, up to how adjacent redactions are counted
          const runs = (t: string): string => t.replace(/(?:\[redacted\])+/g, '[redacted]');
          expect(runs(redactText(text, secrets))).toBe(runs(redact(text, secrets)));
        },
      ),
    );
    expect([redactText('x%25', ['x%']), redact('x%25', ['x%'])]).toEqual(['[redacted]', '[redacted]25']);
    // the case that found it: the first password's last `\\` read as the escape `\\\\` takes the second one's first byte
    const pass = '\\rwNY\\+awS+N\\';
    expect(redactText(pass + pass, [pass])).toBe('[redacted]');
  });
});

describe('redactedParts', () => {
  it('redacts header values and the body, drops content-length, and leaves a body without secrets as it was', async () => {
    const body = `{"name":"${KEY}"}`;
    const response = new Response(body, {
      headers: { 'content-type': `text/plain; x=${encodeURIComponent(PASS)}`, 'content-length': String(body.length) },
    });
    const { headers, body: stream } = redactedParts(response, [KEY, PASS]);
    expect(Object.fromEntries(headers)).toEqual({ 'content-type': 'text/plain; x=[redacted]' });
    expect(await new Response(stream).text()).toBe('{"name":"[redacted]"}');
    const clean = redactedParts(new Response('{"ok":true}'), [KEY]);
    expect(await new Response(clean.body).text()).toBe('{"ok":true}');
    const none = redactedParts(new Response(null, { status: 204 }), [KEY]);
    expect(none.body).toBeNull();
  });

  it('passes media bodies through unscanned, with their length, and still redacts their headers', () => {
    for (const type of ['video/mp4', 'image/png', 'Audio/L16;rate=24000']) {
      const response = new Response(KEY, {
        headers: { 'content-type': type, 'content-length': String(KEY.length), 'x-goog-hash': KEY },
      });
      const parts = redactedParts(response, [KEY]);
      expect(parts.body).toBe(response.body);
      expect(parts.headers.get('content-length')).toBe(String(KEY.length));
      expect(parts.headers.get('x-goog-hash')).toBe('[redacted]');
    }
    expect(isMedia('application/octet-stream')).toBe(false);
    expect(isMedia('text/plain')).toBe(false);
    expect(isMedia(null)).toBe(false);
  });

  it('passes everything through untouched when there is no secret to look for', () => {
    const response = new Response('x', { headers: { 'content-length': '1' } });
    const parts = redactedParts(response, []);
    expect(parts.body).toBe(response.body);
    expect(parts.headers.get('content-length')).toBe('1');
  });
});

describe('redactMessage', () => {
  const redactor = (text: string): string => redactText(text, [KEY]);

  it('redacts text messages, and binary ones as the UTF-8 text they hold', () => {
    expect(redactMessage(`{"key":"${spelt(KEY, 'escaped')}"}`, redactor)).toBe('{"key":"[redacted]"}');
    const binary = redactMessage(encode(`{"key":"${KEY}"}`).buffer as ArrayBuffer, redactor);
    expect(binary).toBeInstanceOf(ArrayBuffer);
    expect(decode(new Uint8Array(binary as ArrayBuffer))).toBe('{"key":"[redacted]"}');
  });

  it('passes a message without secrets on as the same object', () => {
    const bytes = new Uint8Array([0xff, 0x00, 0x41]).buffer;
    expect(redactMessage(bytes, redactor)).toBe(bytes);
  });
});
