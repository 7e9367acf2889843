/**
 * The Live API end to end: the stacks `cdktf synth` produces, emulated in workerd by `npm start`'s own modules,
 * driven by `@google/genai`'s `live.connect` through the prod orchestrator (and on the preview worker), against a
 * fake Live endpoint that records the credential it was given and sends its messages as binary frames, as Google's
 * does (the SDK's setup never completed through a bridge that passed text frames only).
 */
import { rmSync } from 'node:fs';
import { GoogleGenAI, type LiveServerMessage, Modality, type Session } from '@google/genai';
import { WebSocket } from 'ws';
import type { Topology } from '../../scripts/local/emulated-topology';
import { type RunningTopology, startTopology } from '../../scripts/local/start';
import { CLOSE_CODE, CLOSE_REASON, CLOSE_TEXT, type FakeLive, startFakeLive } from '../helpers/fake-live';
import { gatewayReason } from '../helpers/google-errors';
import { defined } from '../helpers/guards';
import { synthesizeToTempDir, synthesizedTopology } from '../helpers/emulated-topology';

const KEY_COUNT = 10;
const PR = '6';
const API_KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `canary-key-${String(i).padStart(2, '0')}-live`);
const PASS = 'canary-pass-live';
const BIDI = 'ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent';
const CONSTRAINED = 'ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained';
const EPHEMERAL = 'auth_tokens/fake-ephemeral-token';

jest.setTimeout(90_000);

let outDir: string;
let fake: FakeLive;
const logs: string[] = [];

function topologyFor(stack: string): Topology {
  return synthesizedTopology(outDir, stack, { apiKeys: API_KEYS, pass: PASS }, fake.url);
}

function start(topology: Topology): Promise<RunningTopology> {
  return startTopology({ topology, port: 0, onLog: (message) => logs.push(message) });
}

function jsonLogs(): Record<string, unknown>[] {
  return logs.flatMap((line) => {
    try {
      const parsed: unknown = JSON.parse(line);
      return parsed && typeof parsed === 'object' ? [parsed as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

async function eventually<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A Live session through the SDK whose messages and close are collected. */
interface Opened {
  readonly session: Session;
  readonly messages: LiveServerMessage[];
  readonly closed: Promise<{ code: number; reason: string }>;
}

async function connect(baseUrl: string, apiKey: string): Promise<Opened> {
  const ai = new GoogleGenAI({ apiKey, httpOptions: { baseUrl } });
  const messages: LiveServerMessage[] = [];
  let onClosed: (event: { code: number; reason: string }) => void = () => undefined;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    onClosed = resolve;
  });
  const session = await ai.live.connect({
    model: 'gemini-live-2.5-flash-preview',
    config: { responseModalities: [Modality.TEXT] },
    callbacks: {
      onmessage: (message) => messages.push(message),
      onclose: (event) => onClosed({ code: event.code, reason: event.reason }),
    },
  });
  return { session, messages, closed };
}

/** Opens a raw WebSocket: `open`, or the HTTP status the gateway refused the upgrade with. */
function rawUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ socket?: WebSocket; status?: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.on('open', () => resolve({ socket }));
    socket.on('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0 });
      socket.terminate();
    });
    socket.on('error', (error) => reject(error));
  });
}

function wsUrl(base: string, path: string): string {
  return `${base.replace(/^http/, 'ws')}/${path}`;
}

beforeAll(async () => {
  outDir = await synthesizeToTempDir('zen-live-e2e-', `preview-${PR}`, { KEY_COUNT: String(KEY_COUNT) });
  fake = await startFakeLive();
});

afterAll(async () => {
  await fake?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.reset();
  logs.length = 0;
});

describe('prod stack, through the orchestrator', () => {
  let running: RunningTopology;

  beforeAll(async () => {
    running = await start(topologyFor('prod'));
  });
  afterAll(() => running?.dispose());

  it('runs a live.connect session on a pool key in x-goog-api-key, frames flowing both ways', async () => {
    const { session, messages, closed } = await connect(running.url, PASS);
    session.sendClientContent({ turns: [{ role: 'user', parts: [{ text: 'hello live' }] }], turnComplete: true });
    const reply = await eventually(() => messages.find((m) => m.serverContent), 'the echoed turn');
    expect(reply.serverContent?.modelTurn?.parts?.[0]?.text).toBe('echo: hello live');
    expect(messages[0]?.setupComplete).toBeDefined();

    const connection = defined(fake.connections[0], 'the upstream connection');
    expect(fake.connections).toHaveLength(1);
    // the SDK's double slash reached the gateway; Google got its own single-slash path, with no key in the URL
    expect(connection.url).toBe(`/${BIDI}`);
    expect(API_KEYS).toContain(connection.apiKeyHeader);
    expect(JSON.stringify(connection)).not.toContain(PASS);
    expect(connection.received[0]).toMatchObject({ setup: { model: 'models/gemini-live-2.5-flash-preview' } });

    // the SDK closes without a code (1005); Google sees the same, and the session ends on both sides
    session.close();
    expect((await closed).code).toBe(1005);
    expect(await fake.closed(0)).toBe(1005);
    const request = await eventually(() => jsonLogs().find((l) => l.route === 'live.bidi'), 'the request line');
    expect(request).toMatchObject({ event: 'request', status: 101, client: 'pass', keyIndex: expect.any(Number) });
    const closeLine = await eventually(() => jsonLogs().find((l) => l.event === 'live_closed'), 'the close line');
    expect(closeLine).toMatchObject({ route: 'live.bidi', by: 'client', code: 1005, keyIndex: request.keyIndex });
    expect(closeLine.ms).toEqual(expect.any(Number));
    expect(jsonLogs().find((l) => l.event === 'orchestrator_request')).toMatchObject({ status: 101 });
    expect(logs.join('\n')).not.toMatch(/canary-(key|pass)/);
  });

  it('passes text and binary frames both ways unchanged, Google’s binary frames as binary', async () => {
    const { socket } = await rawUpgrade(wsUrl(running.url, BIDI), { 'x-goog-api-key': PASS });
    const open = defined(socket, 'the socket');
    const frames: { data: Buffer; binary: boolean }[] = [];
    open.on('message', (data, binary) => frames.push({ data: data as Buffer, binary }));
    // bytes that are not UTF-8 (a raw audio chunk, say) must come back as they were sent
    const raw = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x7f, 0x0a]);
    open.send(JSON.stringify({ setup: { model: 'models/gemini-live-2.5-flash-preview' } }));
    open.send(raw, { binary: true });
    open.send('plain text, not JSON', { binary: false });
    await eventually(() => (frames.length === 3 ? frames : undefined), 'three frames back');
    expect(frames[0]?.binary).toBe(true);
    expect(JSON.parse(String(frames[0]?.data))).toEqual({ setupComplete: {} });
    expect(frames[1]).toEqual({ data: raw, binary: true });
    expect(frames[2]).toEqual({ data: Buffer.from('plain text, not JSON'), binary: false });
    expect(fake.connections[0]?.frames).toEqual(['text', 'binary', 'text']);
    open.close(1000);
    // the session's close line is this test's, not the next one's
    expect(await fake.closed(0)).toBe(1000);
    await eventually(() => jsonLogs().find((l) => l.event === 'live_closed'), 'the close line');
  });

  it('closes the client with the code of an upstream that closes mid-session', async () => {
    const { session, closed } = await connect(running.url, PASS);
    session.sendClientContent({ turns: [{ role: 'user', parts: [{ text: CLOSE_TEXT }] }], turnComplete: true });
    expect(await closed).toEqual({ code: CLOSE_CODE, reason: CLOSE_REASON });
    const closeLine = await eventually(() => jsonLogs().find((l) => l.event === 'live_closed'), 'the close line');
    expect(closeLine).toMatchObject({ by: 'upstream', code: CLOSE_CODE });
  });

  it('refuses a wrong or missing password with 401 before any upstream connection', async () => {
    expect(await rawUpgrade(`${wsUrl(running.url, `/${BIDI}`)}?key=wrong-password`)).toEqual({ status: 401 });
    expect(await rawUpgrade(wsUrl(running.url, `/${BIDI}`))).toEqual({ status: 401 });
    expect(await rawUpgrade(wsUrl(running.url, BIDI), { 'x-goog-api-key': 'wrong' })).toEqual({ status: 401 });
    expect(fake.connections).toHaveLength(0);
  });

  it('takes the password in x-goog-api-key too, and answers 426 to a request that is not an upgrade', async () => {
    const { socket } = await rawUpgrade(wsUrl(running.url, BIDI), { 'x-goog-api-key': PASS });
    defined(socket, 'the socket').close(4000, 'client done');
    expect(API_KEYS).toContain(fake.connections[0]?.apiKeyHeader);
    // a client's close code reaches Google as sent
    expect(await fake.closed(0)).toBe(4000);
    const plain = await fetch(`${running.url}/${BIDI}?key=${PASS}`);
    expect(plain.status).toBe(426);
    expect(gatewayReason(await plain.json())).toBe('upgrade_required');
  });

  it('passes an ephemeral token through untouched on BidiGenerateContentConstrained, behind the password', async () => {
    const url = `${wsUrl(running.url, `/${CONSTRAINED}`)}?access_token=${EPHEMERAL}`;
    expect(await rawUpgrade(url)).toEqual({ status: 401 });
    expect(fake.connections).toHaveLength(0);
    const { socket } = await rawUpgrade(url, { 'x-goog-api-key': PASS });
    defined(socket, 'the socket').close(1000);
    const connection = defined(fake.connections[0], 'the upstream connection');
    expect(connection.url).toBe(`/${CONSTRAINED}?access_token=${encodeURIComponent(EPHEMERAL)}`);
    expect(connection.apiKeyHeader).toBeUndefined();
    expect(connection.authorization).toBeUndefined();
  });
});

describe(`preview-${PR} stack`, () => {
  let running: RunningTopology;

  beforeAll(async () => {
    running = await start(topologyFor(`preview-${PR}`));
  });
  afterAll(() => running?.dispose());

  it('runs a live.connect session on the preview worker', async () => {
    const { session, messages } = await connect(running.url, PASS);
    session.sendClientContent({ turns: [{ role: 'user', parts: [{ text: 'preview' }] }], turnComplete: true });
    const reply = await eventually(() => messages.find((m) => m.serverContent), 'the echoed turn');
    expect(reply.serverContent?.modelTurn?.parts?.[0]?.text).toBe('echo: preview');
    expect(API_KEYS).toContain(fake.connections[0]?.apiKeyHeader);
    session.close();
  });
});
