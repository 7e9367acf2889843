/**
 * Where a secret begins in bytes, in any spelling a client's decoder turns back into it: as is; percent-encoded (any
 * byte as `%XX` in either case, `+` for a space); JSON-escaped (any character as `\uXXXX` in either case, a surrogate
 * pair outside the BMP, or a short escape such as `\/` or `\"`); and both at once (`\u0025` for the `%` of an encoded
 * byte, `\u0034` for one of its hex digits). That is every spelling `redactJsonText` in `./redaction.ts` finds after
 * decoding a JSON body, found here in the raw bytes, so a stream can be searched without being parsed.
 *
 * The secrets are compiled once into a trie of their UTF-8 bytes and tables of the bytes, and byte pairs, a spelling
 * can begin with (a secret's first two, `\u`, `%` and a hex digit); the trie is walked only where both tables agree,
 * so text that holds no secret costs about one table look-up per byte. Secrets holding `\`, `%` or `+` can be read
 * in several ways from the same bytes; the walk remembers where it has been, so it stays linear in the spelling's
 * length. `./redaction-stream.ts` uses it on every body the gateway passes on.
 */

const BACKSLASH = 0x5c;
const PERCENT = 0x25;
const PLUS = 0x2b;
const SPACE = 0x20;

/** The character each short JSON escape (`\n`, `\/`, …) stands for, by the byte after the backslash. */
const SHORT_ESCAPES: ReadonlyMap<number, number> = new Map(
  [...'"\\/bfnrt'].map((c, i) => [c.charCodeAt(0), '"\\/\b\f\n\r\t'.charCodeAt(i)]),
);

/** The most bytes one byte of a secret takes when spelt: `\u0025\u0034\u0031` is an `A`. */
export const MAX_SPELLING_PER_BYTE = 18;

/** A read found what it looked for. */
const FOUND = 0;

/** What {@link SpellingSearch.at} answers when no secret begins there. */
export const NO_MATCH = -1;
/** What it answers when the bytes so far may still become a secret and more may follow: ask again with more. */
export const UNDECIDED = -2;

interface TrieNode {
  /** unique within its trie, for the search's memo */
  readonly id: number;
  readonly next: Map<number, TrieNode>;
  /** a secret ends here */
  end: boolean;
}

/** The secrets, compiled for searching. */
export interface SecretSpellings {
  /** 1 at each byte a spelling of some secret can begin with */
  readonly starts: Uint8Array;
  /** 1 at `first << 8 | second` for each two bytes a spelling can begin with: most candidates fail here */
  readonly pairs: Uint8Array;
  /** 1 at each ASCII character a spelling can begin with when `\uXXXX` spells it (Gemini escapes `<`, `>`, `=`, `&`) */
  readonly escapedStarts: Uint8Array;
  readonly root: TrieNode;
  /** the bytes the longest spelling of the longest secret takes; 0 when there is no secret */
  readonly longest: number;
  /** some secret holds `\`, `%` or `+`, so the same bytes can spell it in several ways: the search remembers */
  readonly ambiguous: boolean;
}

const HEX_DIGITS = [...'0123456789abcdefABCDEF'].map((c) => c.charCodeAt(0));

/** Marks the bytes and byte pairs a spelling can begin with, as a superset: a pair left out begins none. */
function markStarts(secrets: readonly Uint8Array[], starts: Uint8Array, pairs: Uint8Array, escaped: Uint8Array): void {
  const pair = (first: number, second: number): void => {
    starts[first] = 1;
    pairs[(first << 8) | second] = 1;
  };
  // the first byte as is (a space also as `+`), then the next one as is, or the start of its escape or encoding
  const firstUnits = new Set<number>();
  for (const bytes of secrets) {
    const [first, second] = bytes as unknown as [number, number | undefined];
    const as = first === SPACE ? [first, PLUS] : [first];
    firstUnits.add(first);
    if (first === SPACE) firstUnits.add(PLUS);
    for (const b of as) {
      if (second === undefined) for (let x = 0; x < 256; x++) pair(b, x);
      else for (const x of [second, BACKSLASH, PERCENT, ...(second === SPACE ? [PLUS] : [])]) pair(b, x);
    }
  }
  // a percent sign and a hex digit, as is or escaped
  for (const x of [...HEX_DIGITS, BACKSLASH]) pair(PERCENT, x);
  // a JSON escape: `\u`, or a short one that stands for a byte a spelling can begin with
  pair(BACKSLASH, 0x75);
  for (const [letter, stands] of SHORT_ESCAPES) if (firstUnits.has(stands)) pair(BACKSLASH, letter);
  for (const unit of [...firstUnits, PERCENT]) if (unit < 0x80) escaped[unit] = 1;
}

/** Compiles the secrets (empty ones ignored) for {@link SpellingSearch}. */
export function compileSpellings(secrets: readonly string[]): SecretSpellings {
  const encoder = new TextEncoder();
  const encoded = secrets.map((s) => encoder.encode(s)).filter((bytes) => bytes.length > 0);
  let ids = 0;
  const node = (): TrieNode => ({ id: ids++, next: new Map(), end: false });
  const root = node();
  for (const bytes of encoded) {
    let at = root;
    for (const b of bytes) {
      let child = at.next.get(b);
      if (child === undefined) {
        child = node();
        at.next.set(b, child);
      }
      at = child;
    }
    at.end = true;
  }
  const starts = new Uint8Array(256);
  const pairs = new Uint8Array(1 << 16);
  const escapedStarts = new Uint8Array(0x80);
  if (encoded.length > 0) markStarts(encoded, starts, pairs, escapedStarts);
  const longestBytes = Math.max(0, ...encoded.map((bytes) => bytes.length));
  const ambiguous = encoded.some((bytes) => bytes.some((b) => b === BACKSLASH || b === PERCENT || b === PLUS));
  return { starts, pairs, escapedStarts, root, longest: longestBytes * MAX_SPELLING_PER_BYTE, ambiguous };
}

/**
 * Where the next bytes that may begin a spelling are, from `from` on; `data.length` when there are none. A last byte
 * that may begin one counts: what follows it is not known yet.
 */
export function nextStart(spellings: SecretSpellings, data: Uint8Array, from: number): number {
  const { starts, pairs } = spellings;
  const last = data.length - 1;
  for (let i = from; i < last; i++) {
    const b = data[i] as number;
    if (starts[b] === 1 && pairs[(b << 8) | (data[i + 1] as number)] === 1 && !escapeBeginsNone(spellings, data, i))
      return i;
  }
  return from <= last && starts[data[last] as number] === 1 ? last : data.length;
}

/**
 * Whether the bytes at `i` are a whole `\uXXXX` escape of an ASCII character no spelling begins with, and no secret
 * begins with a backslash (whose raw spelling the same bytes could begin).
 */
function escapeBeginsNone(spellings: SecretSpellings, data: Uint8Array, i: number): boolean {
  if (data[i] !== BACKSLASH || data[i + 1] !== 0x75 || i + 5 >= data.length) return false;
  if (spellings.escapedStarts[BACKSLASH] === 1) return false;
  let unit = 0;
  for (let at = i + 2; at < i + 6; at++) {
    const digit = hexValue(data[at] as number);
    if (digit < 0) return true;
    unit = unit * 16 + digit;
  }
  return unit < 0x80 && spellings.escapedStarts[unit] === 0;
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const lower = b | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

function combine(a: number, b: number): number {
  return a === UNDECIDED || b === UNDECIDED ? UNDECIDED : Math.max(a, b);
}

/** Follows a code point's UTF-8 bytes down the trie. */
function descend(node: TrieNode | undefined, cp: number): TrieNode | undefined {
  if (cp < 0x80) return node?.next.get(cp);
  const bytes =
    cp < 0x800
      ? [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)]
      : cp < 0x10000
        ? [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]
        : [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  let at = node;
  for (const b of bytes) at = at?.next.get(b);
  return at;
}

/**
 * Searches bytes for spelt secrets, one start at a time. Reads at the end of the bytes answer {@link UNDECIDED}
 * unless the search is `final` (nothing follows), so a stream can ask again once more bytes have come.
 */
export class SpellingSearch {
  private data: Uint8Array = new Uint8Array(0);
  private final = true;
  private start = 0;
  private memo: Map<number, number> | undefined;
  /** what the last read found: a code point or hex digit, and the position after it */
  private value = 0;
  private after = 0;

  constructor(private readonly spellings: SecretSpellings) {}

  /**
   * The end (exclusive) of the longest spelling of a secret that begins at `start`, {@link NO_MATCH}, or
   * {@link UNDECIDED} when it depends on bytes after `data`'s end and `final` is false.
   */
  at(data: Uint8Array, start: number, final: boolean): number {
    this.data = data;
    this.final = final;
    this.start = start;
    this.memo = this.spellings.ambiguous ? new Map() : undefined;
    return this.walk(this.spellings.root, start);
  }

  /** The longest match from `node` on, reading from `pos`. */
  private walk(node: TrieNode, pos: number): number {
    const best = node.end ? pos : NO_MATCH;
    if (node.next.size === 0) return best;
    if (pos >= this.data.length) return this.final ? best : UNDECIDED;
    if (this.memo === undefined) return combine(best, this.branches(node, pos));
    const key = node.id * (this.spellings.longest + 1) + (pos - this.start);
    let found = this.memo.get(key);
    if (found === undefined) {
      found = this.branches(node, pos);
      this.memo.set(key, found);
    }
    return combine(best, found);
  }

  /** Every way the bytes at `pos` can spell the next byte (or character) below `node`: as is, escaped, encoded. */
  private branches(node: TrieNode, pos: number): number {
    const b = this.data[pos] as number;
    let best = this.follow(NO_MATCH, node.next.get(b), pos + 1);
    let unit = b;
    let after = pos + 1;
    if (b === BACKSLASH && best !== UNDECIDED) {
      const escaped = this.escape(pos);
      if (escaped !== NO_MATCH) {
        if (escaped === UNDECIDED) return UNDECIDED;
        unit = this.value;
        after = this.after;
        best = this.follow(best, descend(node, unit), after);
      }
    }
    if (best === UNDECIDED) return UNDECIDED;
    if (unit === PLUS) return this.follow(best, node.next.get(SPACE), after);
    if (unit !== PERCENT) return best;
    const high = this.hexDigit(after);
    if (high < 0) return high === UNDECIDED ? UNDECIDED : best;
    const low = this.hexDigit(this.after);
    if (low < 0) return low === UNDECIDED ? UNDECIDED : best;
    return this.follow(best, node.next.get(high * 16 + low), this.after);
  }

  private follow(best: number, child: TrieNode | undefined, pos: number): number {
    return child === undefined ? best : combine(best, this.walk(child, pos));
  }

  /** A hex digit at `pos`, as is or JSON-escaped: its value (and `after`), NO_MATCH or UNDECIDED. */
  private hexDigit(pos: number): number {
    if (pos >= this.data.length) return this.final ? NO_MATCH : UNDECIDED;
    const b = this.data[pos] as number;
    if (b !== BACKSLASH) {
      this.after = pos + 1;
      return hexValue(b);
    }
    const escaped = this.escape(pos);
    return escaped < 0 ? escaped : hexValue(this.value);
  }

  /** A JSON escape at `pos` (a backslash): FOUND with `value` and `after` set, NO_MATCH or UNDECIDED. */
  private escape(pos: number): number {
    const data = this.data;
    if (pos + 1 >= data.length) return this.final ? NO_MATCH : UNDECIDED;
    const short = SHORT_ESCAPES.get(data[pos + 1] as number);
    if (short !== undefined) {
      this.value = short;
      this.after = pos + 2;
      return FOUND;
    }
    const unit = this.unicodeEscape(pos);
    if (unit < 0) return unit;
    if (unit >= 0xdc00 && unit <= 0xdfff) return NO_MATCH;
    if (unit < 0xd800 || unit > 0xdbff) {
      this.value = unit;
      return FOUND;
    }
    // a high surrogate spells a character only with the low one after it
    const low = this.unicodeEscape(pos + 6);
    if (low < 0) return low;
    if (low < 0xdc00 || low > 0xdfff) return NO_MATCH;
    this.value = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
    return FOUND;
  }

  /** `\uXXXX` at `pos`: its code unit (and `after`), NO_MATCH or UNDECIDED. */
  private unicodeEscape(pos: number): number {
    const data = this.data;
    let unit = 0;
    for (let i = 0; i < 6; i++) {
      if (pos + i >= data.length) return this.final ? NO_MATCH : UNDECIDED;
      const b = data[pos + i] as number;
      if (i === 0 && b !== BACKSLASH) return NO_MATCH;
      if (i === 1 && b !== 0x75) return NO_MATCH;
      if (i < 2) continue;
      const digit = hexValue(b);
      if (digit < 0) return NO_MATCH;
      unit = unit * 16 + digit;
    }
    this.after = pos + 6;
    return unit;
  }
}
