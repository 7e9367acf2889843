/**
 * Benchmark 9: what redacting every byte costs (issue 24). The shard's edge passes every body through the streaming
 * redactor (`workers/shard/core/redaction-stream.ts`); this times it per MB on bodies shaped like what the gateway
 * passes on, in one piece and in chunks, with a prod shard's secrets (8 keys, the password, 2 client tokens), in Node
 * (V8, as in workerd; the runtime's streams around it are not included). The whole-body `redactJsonText` that error
 * bodies also pass through is timed on the same JSON for comparison, and a plain copy of the bytes gives the floor.
 */
import { randomBytes } from 'node:crypto';
import { redactJsonText } from '../workers/shard/core/redaction';
import { redactBytes, spellingsOf, StreamRedactor } from '../workers/shard/core/redaction-stream';
import { compileSpellings, type SecretSpellings } from '../workers/shard/core/secret-spellings';
import { fmt, printTable, runBenchmark, summarize } from './stats';

const MB = 1 << 20;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);

const KEYS = Array.from(
  { length: 8 },
  (_, i) => `AIzaSyBench${i}${randomBytes(16).toString('base64url').slice(0, 24)}`,
);
const SECRETS = [
  ...KEYS,
  'a long random password, 32 chars',
  'client-token-alice-4f1e9a0b7c2d',
  'client-token-bob-0d8c3a7e91f2',
];

/** `unit` repeated to at least 1 MB. */
const repeatTo = (unit: string): Uint8Array => new TextEncoder().encode(unit.repeat(Math.ceil(MB / unit.length)));

function sseChat(): Uint8Array {
  const chunk = {
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    model: 'gemini-2.5-flash',
    choices: [{ index: 0, delta: { content: 'A streamed sentence of an ordinary reply, about sixty bytes. ' } }],
  };
  return repeatTo(`data: ${JSON.stringify(chunk)}\n\n`);
}

/** Google's JSON as it comes: pretty-printed, with `\n`, `\"` and `\u003c` escapes in the text. */
function nativeJson(): Uint8Array {
  const text = 'Line one\nA "quoted" <b>word</b> and 100% of AI answers\n'.repeat(2000);
  const reply = { candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP' }] };
  const body = JSON.stringify(reply, null, 2).replace(/[<>]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  return new TextEncoder().encode(body);
}

/** The worst ordinary text: every few bytes begins a key's first letters, a backslash or a percent sign. */
function nearMisses(): Uint8Array {
  return repeatTo('AIzaSyBench AIza \\u0041Iz %41I \\n\\" ');
}

/** The hostile upstream: a key every kilobyte, in turn as is, JSON-escaped and percent-encoded. */
function quotedKeys(): Uint8Array {
  const escaped = [...(KEYS[0] as string)].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  const percent = [...(KEYS[1] as string)].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
  const filler = 'x'.repeat(900);
  return repeatTo(`${filler} ${KEYS[2]} ${filler} ${escaped} ${filler} ${percent} `);
}

/** Milliseconds per MB to redact `body` cut into `chunk`-byte pieces (0: in one piece). */
function redactMsPerMb(body: Uint8Array, chunk: number, spellings: SecretSpellings): number {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    if (chunk === 0) redactBytes(body, spellings);
    else {
      const redactor = new StreamRedactor(spellings);
      for (let at = 0; at < body.length; at += chunk) redactor.push(body.subarray(at, at + chunk));
      redactor.end();
    }
    samples.push(((performance.now() - started) * MB) / body.length);
  }
  return summarize(samples).p50;
}

function timedMsPerMb(body: Uint8Array, work: () => unknown): number {
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    work();
    samples.push(((performance.now() - started) * MB) / body.length);
  }
  return summarize(samples).p50;
}

function microseconds(work: () => unknown, times: number): number {
  const started = performance.now();
  for (let i = 0; i < times; i++) work();
  return ((performance.now() - started) * 1000) / times;
}

async function main(): Promise<void> {
  const spellings = spellingsOf(SECRETS);
  const bodies: readonly [string, Uint8Array][] = [
    ['SSE chat chunks (OpenAI surface)', sseChat()],
    ['native JSON reply, escapes in the text', nativeJson()],
    ['random bytes (a file download)', new Uint8Array(randomBytes(MB))],
    ['near misses everywhere (worst ordinary text)', nearMisses()],
    ['a key quoted every 1 KB, 3 spellings (hostile)', quotedKeys()],
  ];
  // warm-up, so the first body does not pay for the JIT
  for (const [, body] of bodies) redactMsPerMb(body, 0, spellings);
  const rows = bodies.map(([what, body]) => {
    const text = new TextDecoder().decode(body);
    const json = what.startsWith('native JSON') ? fmt(timedMsPerMb(body, () => redactJsonText(text, SECRETS))) : '-';
    return [
      what,
      fmt(timedMsPerMb(body, () => body.slice())),
      fmt(redactMsPerMb(body, 0, spellings)),
      fmt(redactMsPerMb(body, 16 * 1024, spellings)),
      fmt(redactMsPerMb(body, 128, spellings)),
      json,
    ];
  });
  process.stdout.write(`${SECRETS.length} secrets, median of ${ROUNDS} rounds, ms per MB\n\n`);
  printTable(['body (1 MB)', 'copy', 'whole', '16 KiB chunks', '128 B chunks', 'redactJsonText'], rows);
  const compile = microseconds(() => compileSpellings(SECRETS), 2000);
  const cachedLookup = microseconds(() => spellingsOf(SECRETS), 20_000);
  const small = new TextEncoder().encode('{"choices":[{"message":{"content":"Hello from a model"}}]}');
  const smallBody = microseconds(() => redactBytes(small, spellings), 20_000);
  printTable(
    ['per request', 'µs'],
    [
      ['compiling the secrets (first request of an isolate)', fmt(compile)],
      ['finding them compiled (every other request)', fmt(cachedLookup)],
      [`redacting a ${small.length}-byte reply`, fmt(smallBody)],
    ],
  );
}

runBenchmark(main);
