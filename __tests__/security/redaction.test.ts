/**
 * Redaction of every byte, end to end: the prod stack of a real synth, run in workerd (orchestrator and two shards,
 * 12 canary keys, a canary password and client token), in front of a hostile upstream (`./hostile-upstream.ts`) that
 * quotes the key it was sent in every spelling, on every surface: success bodies, error bodies, SSE events after the
 * first, a stream cut at every byte of the quote, response headers, Live API messages and close reasons. Every answer
 * must carry `[redacted]` where the quote was (so a run that quoted nothing cannot pass), and no canary in any
 * spelling may appear in a header, a body, a Live message or anything workerd printed.
 */
import { rmSync } from 'node:fs';
import { WebSocket } from 'ws';
import { defined } from '../helpers/guards';
import { synthesizeToTempDir, synthesizedTopology } from '../helpers/emulated-topology';
import { asBinary, spellingsRegex } from '../helpers/secret-forms';
import { CANARY_CLIENT_TOKEN, CANARY_PASS, canaryApiKeys, canarySearch } from './canaries';
import { startCapturedTopology, type CapturedTopology } from './captured-topology';
import {
  FORMS,
  LIVE_CLOSE_CODE,
  LIVE_CLOSE_TEXT,
  spelling,
  splitBody,
  startHostileUpstream,
  type HostileUpstream,
} from './hostile-upstream';

const KEYS = canaryApiKeys(12);
const SECRETS = [...KEYS, CANARY_PASS, CANARY_CLIENT_TOKEN];
const findCanaries = canarySearch(SECRETS);
const SPELLINGS = SECRETS.map((secret) => [secret, spellingsRegex(secret)] as const);
const BIDI = 'ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';

jest.setTimeout(120_000);

/** Every canary found in `text` (bytes as latin1), whole, encoded, cut short, or in any spelling the gateway undoes. */
function leaks(text: string): string[] {
  return [
    ...findCanaries(text),
    ...SPELLINGS.filter(([, regex]) => regex.test(text)).map(([secret]) => `a spelling of ${secret.slice(0, 12)}…`),
  ];
}

let outDir: string;
let hostile: HostileUpstream;
let prod: CapturedTopology;
let sequence = 0;

type Credential = 'client' | 'operator';
type Surface = 'openai' | 'native' | 'anthropic';

/** Where each surface's clients put the credential. */
function credentialHeaders(surface: Surface, who: Credential): Record<string, string> {
  const value = who === 'client' ? CANARY_CLIENT_TOKEN : CANARY_PASS;
  if (surface === 'openai') return { authorization: `Bearer ${value}` };
  return surface === 'anthropic'
    ? { 'x-api-key': value, 'anthropic-version': '2023-06-01' }
    : { 'x-goog-api-key': value };
}

interface Answer {
  readonly label: string;
  readonly status: number;
  /** headers as `name: value` lines, then the body, bytes as latin1 */
  readonly seen: string;
  readonly body: string;
}

async function call(label: string, surface: Surface, path: string, who: Credential, json?: unknown): Promise<Answer> {
  const response = await fetch(`${prod.url}${path}`, {
    method: json === undefined ? 'GET' : 'POST',
    headers: {
      ...credentialHeaders(surface, who),
      'x-request-id': `red-${++sequence}`,
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
  const body = new TextDecoder().decode(bytes);
  return { label, status: response.status, seen: `${headers}\n${asBinary(bytes)}`, body };
}

/** Each answer has its status, carries `[redacted]` where the key was quoted, and leaks nothing. */
function expectRedacted(answers: readonly Answer[], status: number): void {
  expect(answers.map((a) => ({ label: a.label, status: a.status }))).toEqual(
    answers.map((a) => ({ label: a.label, status })),
  );
  expect(
    answers.filter((a) => !a.body.includes('[redacted]')).map((a) => `${a.label}: ${a.body.slice(0, 300)}`),
  ).toEqual([]);
  expect(answers.flatMap((a) => leaks(a.seen).map((leak) => `${a.label}: ${leak}`))).toEqual([]);
}

const chat = (extra: Record<string, unknown> = {}) => ({
  model: 'gemini-2.5-flash',
  messages: [{ role: 'user', content: 'Hi' }],
  ...extra,
});
const native = { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] };
const claude = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-4-6',
  max_tokens: 64,
  messages: [{ role: 'user', content: 'Hi' }],
  ...extra,
});
const cache = { model: 'models/gemini-2.5-flash', contents: [{ role: 'user', parts: [{ text: 'x' }] }] };

beforeAll(async () => {
  [outDir, hostile] = await Promise.all([
    synthesizeToTempDir('zen-redaction-', 'prod', { KEY_COUNT: String(KEYS.length) }),
    startHostileUpstream(),
  ]);
  const secrets = { apiKeys: KEYS, pass: CANARY_PASS, clientTokens: { alice: CANARY_CLIENT_TOKEN } };
  prod = await startCapturedTopology(synthesizedTopology(outDir, 'prod', secrets, hostile.url));
}, 120_000);

afterAll(async () => {
  await prod?.dispose();
  await hostile?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

beforeEach(() => {
  hostile.mode = 'success';
});

describe('a hostile upstream quoting the key it was sent, through the prod topology', () => {
  it('is redacted in success bodies, whole and streamed, and in headers, on the OpenAI, native and Anthropic surfaces', async () => {
    const answers = await Promise.all([
      call('openai models', 'openai', '/v1/models', 'client'),
      call('openai chat', 'openai', '/v1/chat/completions', 'client', chat()),
      call('openai chat stream', 'openai', '/v1/chat/completions', 'operator', chat({ stream: true })),
      call('native models', 'native', '/v1beta/models', 'client'),
      call('native generate', 'native', '/v1beta/models/gemini-2.5-flash:generateContent', 'operator', native),
      call('native sse', 'native', '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', 'client', native),
      call('anthropic message', 'anthropic', '/v1/messages', 'client', claude()),
      call('anthropic stream', 'anthropic', '/v1/messages', 'operator', claude({ stream: true })),
    ]);
    expectRedacted(answers, 200);
    // the events after the first came through, the quote and the error event alike
    const streamed = answers.filter((a) => /stream|sse/.test(a.label));
    for (const a of streamed) expect(a.body.split('[redacted]').length).toBeGreaterThan(4);
    expect(hostile.keysSeen.every((key) => KEYS.includes(key))).toBe(true);
  });

  it('is redacted in resource listings, creations and file downloads', async () => {
    // the operator's listing: a client's holds only the files carrying its mark (ADR 0008), which the hostile
    // upstream's files do not
    const listing = await call('files list', 'native', '/v1beta/files', 'operator');
    const created = await call('cache create', 'native', '/v1beta/cachedContents', 'client', cache);
    const name = defined((JSON.parse(listing.body) as { files?: { name: string }[] }).files?.[0]?.name, 'a file');
    const download = await call('file download', 'native', `/download/v1beta/${name}:download?alt=media`, 'operator');
    expectRedacted([listing, created, download], 200);
    expect(download.seen).toMatch(/content-disposition: attachment; filename="\[redacted\]\.txt"/);
  });

  it('is redacted in error bodies and their headers on every surface', async () => {
    hostile.mode = 'error';
    const answers = await Promise.all([
      call('openai chat error', 'openai', '/v1/chat/completions', 'client', chat()),
      call('openai models error', 'openai', '/v1/models', 'operator'),
      call('native error', 'native', '/v1beta/models/gemini-2.5-flash:generateContent', 'client', native),
      call(
        'native stream error',
        'native',
        '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
        'client',
        native,
      ),
      call('anthropic error', 'anthropic', '/v1/messages', 'client', claude()),
      call('cache create error', 'native', '/v1beta/cachedContents', 'operator', cache),
    ]);
    expectRedacted(answers, 400);
  });

  it.each(FORMS)('is redacted from a streamed body cut at every byte of its %s spelling', async (form) => {
    const key = defined(KEYS[0], 'a key');
    const { body, at } = splitBody(key, form);
    const expected = `${body.slice(0, at)}[redacted]${body.slice(at + spelling(key, form).length)}`;
    const offsets = Array.from({ length: spelling(key, form).length + 1 }, (_, i) => i);
    const answers: Answer[] = [];
    // a few at a time: the point is where each is cut, not how many run at once
    for (let i = 0; i < offsets.length; i += 8) {
      answers.push(
        ...(await Promise.all(
          offsets
            .slice(i, i + 8)
            .map((offset) =>
              call(
                `${form} cut at ${offset}`,
                'native',
                `/v1beta/models/split-${form}-${offset}:streamGenerateContent`,
                'client',
                native,
              ),
            ),
        )),
      );
    }
    expectRedacted(answers, 200);
    // whichever key each call got, its spelling became `[redacted]` and every other byte came through as sent
    expect(new Set(answers.map((a) => a.body))).toEqual(new Set([expected]));
  });
});

/** A Live session through the orchestrator: every message and the close, as the client received them. */
async function liveSession(who: Credential): Promise<{ frames: string[]; close: { code: number; reason: string } }> {
  const value = who === 'client' ? CANARY_CLIENT_TOKEN : CANARY_PASS;
  const socket = new WebSocket(`${prod.url.replace(/^http/, 'ws')}/${BIDI}`, { headers: { 'x-goog-api-key': value } });
  const frames: string[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString('latin1') })),
  );
  socket.on('message', (data, isBinary) => {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
    frames.push(`${isBinary ? 'binary' : 'text'}: ${bytes.toString('latin1')}`);
    // the turn that makes the upstream close, once its reply to the first has come
    if (!isBinary) socket.send(turn(LIVE_CLOSE_TEXT));
  });
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => resolve());
    socket.on('error', reject);
  });
  socket.send(JSON.stringify({ setup: { model: 'models/gemini-live-2.5-flash-preview' } }));
  socket.send(turn('hi'));
  return { frames, close: await closed };
}

const turn = (text: string): string => JSON.stringify({ clientContent: { turns: [{ parts: [{ text }] }] } });

describe('a hostile Live API upstream', () => {
  it('is redacted in the messages, binary and text, and the close reason', async () => {
    for (const who of ['client', 'operator'] as const) {
      const { frames, close } = await liveSession(who);
      // the upstream answers setup with a binary message (as Google's Live API does) and the turn with a text one
      expect(frames.map((f) => f.slice(0, f.indexOf(':')))).toEqual(['binary', 'text']);
      expect(frames.filter((f) => !f.includes('[redacted]'))).toEqual([]);
      expect(close).toEqual({ code: LIVE_CLOSE_CODE, reason: 'quota for [redacted]' });
      expect(frames.flatMap(leaks)).toEqual([]);
    }
  });
});

describe('the logs of all of it', () => {
  it('hold no canary in any spelling', async () => {
    // workerd's console output reaches Node through a pipe and may trail the answers
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(prod.messages.flatMap(leaks)).toEqual([]);
    expect(leaks(prod.rawOutput())).toEqual([]);
    expect(prod.messages.some((m) => m.includes('"event":"request"'))).toBe(true);
  });
});
