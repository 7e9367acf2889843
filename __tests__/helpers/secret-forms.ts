/**
 * Spellings of a secret, for tests of redaction: a generator of random ones (as is, percent-encoded, JSON-escaped, or
 * both at once, character by character) and a regular expression that finds any of them, written apart from the
 * gateway's search (`workers/shard/core/secret-spellings.ts`) so each checks the other.
 */
import fc from 'fast-check';

/** Bytes as a string of one character per byte (latin1), where regular expressions can search them. */
export const asBinary = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

const utf8 = (text: string): number[] => [...Buffer.from(text, 'utf8')];
const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
const regexQuote = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  '\b': 'b',
  '\f': 'f',
  '\n': 'n',
  '\r': 'r',
  '\t': 't',
};

/** Hex digits of `n` in a regex, each letter in either case. */
function anyCaseHex(n: number, width: number): string {
  return [...hex(n, width)].map((d) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d)).join('');
}

/** The `\uXXXX` escapes of a string's UTF-16 code units, as a regex. */
function escapesRegex(text: string): string {
  return [...text]
    .flatMap((c) => (c.length === 2 ? [c.charCodeAt(0), c.charCodeAt(1)] : [c.charCodeAt(0)]))
    .map((unit) => `\\\\u${anyCaseHex(unit, 4)}`)
    .join('');
}

/** An ASCII character as a JSON reader may meet it: as is, `\uXXXX`, or its short escape. */
function jsonCharRegex(c: string): string {
  const short = SHORT_ESCAPES[c];
  return `(?:${[regexQuote(c), escapesRegex(c), ...(short ? [`\\\\${regexQuote(short)}`] : [])].join('|')})`;
}

/** One byte of a secret: as is (JSON-escaped too when ASCII), `%XX` with each of its characters so, `+` for a space. */
function byteRegex(b: number): string {
  const digits = [...hex(b, 2)].map((d) => `(?:${[...new Set([d, d.toUpperCase()])].map(jsonCharRegex).join('|')})`);
  const raw = b < 0x80 ? jsonCharRegex(String.fromCharCode(b)) : regexQuote(String.fromCharCode(b));
  const plus = b === 0x20 ? [jsonCharRegex('+')] : [];
  return `(?:${[raw, `${jsonCharRegex('%')}${digits.join('')}`, ...plus].join('|')})`;
}

/** A regex (over {@link asBinary} text) that finds the secret in any spelling the gateway must redact. */
export function spellingsRegex(secret: string): RegExp {
  const chars = [...secret].map((c) => {
    const bytes = utf8(c).map(byteRegex).join('');
    return c.charCodeAt(0) < 0x80 ? bytes : `(?:${bytes}|${escapesRegex(c)})`;
  });
  return new RegExp(chars.join(''));
}

/** Ways to spell one character. */
type CharSpelling = 'raw' | 'escaped' | 'percent' | 'percent-escaped';

function spellChar(c: string, how: CharSpelling, upper: boolean, short: boolean): string {
  const caseHex = (s: string): string => (upper ? s.toUpperCase() : s);
  const escapeAll = (text: string): string =>
    [...text]
      .map((ch) => (short && SHORT_ESCAPES[ch] ? `\\${SHORT_ESCAPES[ch]}` : escapesRegexLiteral(ch, caseHex)))
      .join('');
  switch (how) {
    case 'raw':
      return c;
    case 'escaped':
      return escapeAll(c);
    case 'percent':
      return c === ' ' && short
        ? '+'
        : utf8(c)
            .map((b) => `%${caseHex(hex(b, 2))}`)
            .join('');
    case 'percent-escaped':
      return escapeAll(
        utf8(c)
          .map((b) => `%${caseHex(hex(b, 2))}`)
          .join(''),
      );
  }
}

function escapesRegexLiteral(ch: string, caseHex: (s: string) => string): string {
  const units = ch.length === 2 ? [ch.charCodeAt(0), ch.charCodeAt(1)] : [ch.charCodeAt(0)];
  return units.map((u) => `\\u${caseHex(hex(u, 4))}`).join('');
}

/** A random spelling of `secret`, each character spelt its own way. */
export function spellingOf(secret: string): fc.Arbitrary<string> {
  const chars = [...secret];
  const how = fc.constantFrom<CharSpelling>('raw', 'raw', 'escaped', 'percent', 'percent-escaped');
  return fc
    .array(fc.tuple(how, fc.boolean(), fc.boolean()), { minLength: chars.length, maxLength: chars.length })
    .map((ways) => chars.map((c, i) => spellChar(c, ...(ways[i] as [CharSpelling, boolean, boolean]))).join(''));
}

/** Every character spelt `how`: the canonical forms tests name. */
export function spelt(secret: string, how: CharSpelling): string {
  return [...secret].map((c) => spellChar(c, how, false, false)).join('');
}
