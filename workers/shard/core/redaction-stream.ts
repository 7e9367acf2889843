/**
 * Redaction of every byte the gateway passes to a client: each body, whole or streamed, each response header and
 * each Live API message, with every secret (pool keys, the password, client tokens) in any spelling
 * `./secret-spellings.ts` knows replaced by `[redacted]`. The edge (`../edge/handler.ts`) wraps every response in it
 * once, so no surface can forget to.
 *
 * A stream is not buffered: each chunk is passed on as it comes, less the bytes at its end that may begin a secret
 * the next chunk completes (at most the longest spelling of the longest secret, less one byte; twice that while two
 * spellings overlap), which go out with the next chunk or at the end. Cut anywhere, a stream comes out as the whole
 * text would.
 */
import {
  compileSpellings,
  nextStart,
  NO_MATCH,
  type SecretSpellings,
  SpellingSearch,
  UNDECIDED,
} from './secret-spellings';

const REDACTED = new TextEncoder().encode('[redacted]');
const EMPTY = new Uint8Array(0);

/** The last secrets compiled, and their compilation: a worker's secrets change only with a deploy. */
let cached: { readonly key: string; readonly spellings: SecretSpellings } | undefined;

/** The secrets compiled for searching, reused while they stay the same. */
export function spellingsOf(secrets: readonly string[]): SecretSpellings {
  const key = secrets.map((s) => `${s.length}:${s}`).join('');
  if (cached?.key !== key) cached = { key, spellings: compileSpellings(secrets) };
  return cached.spellings;
}

/** Where a pass over `data` stopped: the bytes to pass on, and where the bytes to hold back begin. */
interface Pass {
  readonly out: Uint8Array;
  readonly hold: number;
}

/**
 * The end of the redacted span that starts with a match ending at `end`: a match that begins inside it and runs
 * past it extends it (a spelling may end in an escape, `\\` for a secret's last `\`, whose second byte begins the
 * next secret: that secret is inside the span's union, never half passed on). {@link UNDECIDED} when such a match
 * depends on bytes not yet come.
 */
function spanEnd(
  search: SpellingSearch,
  spellings: SecretSpellings,
  data: Uint8Array,
  at: number,
  end: number,
  final: boolean,
): number {
  let until = end;
  for (let inner = nextStart(spellings, data, at + 1); inner < until; inner = nextStart(spellings, data, inner + 1)) {
    const innerEnd = search.at(data, inner, final);
    if (innerEnd === UNDECIDED) return UNDECIDED;
    if (innerEnd > until) until = innerEnd;
  }
  return until;
}

/** Redacts `data`, up to the first start that the bytes after it may still decide (none when `final`). */
function redactPass(search: SpellingSearch, spellings: SecretSpellings, data: Uint8Array, final: boolean): Pass {
  const pieces: Uint8Array[] = [];
  let passed = 0;
  let hold = data.length;
  let at = nextStart(spellings, data, 0);
  while (at < data.length) {
    const matched = search.at(data, at, final);
    const end = matched < 0 ? matched : spanEnd(search, spellings, data, at, matched, final);
    if (end === UNDECIDED) {
      hold = at;
      break;
    }
    if (end === NO_MATCH) {
      at = nextStart(spellings, data, at + 1);
      continue;
    }
    pieces.push(data.subarray(passed, at), REDACTED);
    passed = end;
    at = nextStart(spellings, data, end);
  }
  if (pieces.length === 0) return { out: hold === data.length ? data : data.subarray(0, hold), hold };
  pieces.push(data.subarray(passed, hold));
  // one new array: a chunk handed to the runtime may be transferred, so no two pieces may share its buffer
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return { out, hold };
}

/** Redacts a stream fed chunk by chunk: each chunk's bytes that are decided, with secrets replaced. */
export class StreamRedactor {
  private held: Uint8Array = EMPTY;
  private readonly search: SpellingSearch;

  constructor(private readonly spellings: SecretSpellings) {
    this.search = new SpellingSearch(spellings);
  }

  /** The bytes to pass on after `chunk` (maybe none): what is held back may begin a secret the next chunk ends. */
  push(chunk: Uint8Array): Uint8Array {
    if (this.held.length === 0) return this.pass(chunk, false);
    const data = new Uint8Array(this.held.length + chunk.length);
    data.set(this.held);
    data.set(chunk, this.held.length);
    return this.pass(data, false);
  }

  /** The bytes held back, redacted, once the stream has ended. */
  end(): Uint8Array {
    return this.pass(this.held, true);
  }

  /** How many bytes are held back now. */
  get holding(): number {
    return this.held.length;
  }

  private pass(data: Uint8Array, final: boolean): Uint8Array {
    const { out, hold } = redactPass(this.search, this.spellings, data, final);
    // a copy: the held bytes outlive the chunk they came in
    this.held = hold === data.length ? EMPTY : data.slice(hold);
    return out;
  }
}

/** The bytes with every secret replaced; the same array when they held none. */
export function redactBytes(bytes: Uint8Array, spellings: SecretSpellings): Uint8Array {
  return redactPass(new SpellingSearch(spellings), spellings, bytes, true).out;
}

function redactTextWith(text: string, spellings: SecretSpellings): string {
  const bytes = new TextEncoder().encode(text);
  const out = redactBytes(bytes, spellings);
  return out === bytes ? text : new TextDecoder().decode(out);
}

/** The text with every secret, in any spelling, replaced by `[redacted]`; the same string when it held none. */
export function redactText(text: string, secrets: readonly string[]): string {
  return redactTextWith(text, spellingsOf(secrets));
}

/**
 * A WebSocket message, redacted by `redact` (a text redactor such as {@link redactText}): text as it is, bytes as
 * the UTF-8 text they hold (Google's are JSON). Bytes that held no secret are passed on as they came, byte for byte;
 * in bytes that did, any that were not UTF-8 come out as U+FFFD.
 */
export function redactMessage(data: string | ArrayBuffer, redact: (text: string) => string): string | ArrayBuffer {
  if (typeof data === 'string') return redact(data);
  const text = new TextDecoder().decode(data);
  const clean = redact(text);
  if (clean === text) return data;
  const bytes = new TextEncoder().encode(clean);
  const out = new ArrayBuffer(bytes.length);
  new Uint8Array(out).set(bytes);
  return out;
}

function bytesOf(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return new TextEncoder().encode(String(chunk));
}

/** A body that passes each chunk on as it comes, redacted, holding back only what may begin a secret. */
export function redactedStream(body: ReadableStream, spellings: SecretSpellings): ReadableStream<Uint8Array> {
  const redactor = new StreamRedactor(spellings);
  return body.pipeThrough(
    new TransformStream<unknown, Uint8Array>({
      transform(chunk, controller) {
        const out = redactor.push(bytesOf(chunk));
        if (out.length > 0) controller.enqueue(out);
      },
      flush(controller) {
        const out = redactor.end();
        if (out.length > 0) controller.enqueue(out);
      },
    }),
  );
}

/**
 * A response's headers and body as the client may see them: every header value and every byte of the body
 * redacted. Whether a body changes length is known only at its end, so a body goes without its `content-length`.
 */
export function redactedParts(
  response: Response,
  secrets: readonly string[],
): { readonly headers: Headers; readonly body: ReadableStream | null } {
  const spellings = spellingsOf(secrets);
  const headers = new Headers(response.headers);
  if (spellings.longest === 0) return { headers, body: response.body };
  for (const [name, value] of response.headers) {
    const clean = redactTextWith(value, spellings);
    if (clean !== value) headers.set(name, clean);
  }
  if (response.body === null || isMedia(headers.get('content-type'))) return { headers, body: response.body };
  headers.delete('content-length');
  return { headers, body: redactedStream(response.body, spellings) };
}

/**
 * Images, audio and video (a generated video's download, an image file's): passed through unscanned. A key is text
 * that Google quotes in its JSON and messages, never inside media it encodes; scanning costs about 2 ms of CPU per MB
 * (docs/benchmarks.md), so a multi-megabyte video would take a free-plan worker past its 10 ms CPU limit.
 */
export function isMedia(contentType: string | null): boolean {
  return contentType !== null && /^\s*(?:image|audio|video)\//i.test(contentType);
}
