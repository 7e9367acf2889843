/**
 * Codex CLI itself (`@openai/codex`, the exact devDependency, its binary shipped in the npm package) run headless
 * (`codex exec`) against the prod stack `cdktf synth` produces, emulated in workerd by `npm start`'s own modules, with
 * the fake Gemini behind it answering function calls on request (`scriptedCalls`). Codex is configured the way
 * docs/clients.md tells a user to: a custom provider with `wire_api = "responses"` and the password in an env var.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  FAKE_REPLY_TEXT,
  FAKE_THOUGHT_SIGNATURE,
  type FakeGemini,
  SCRIPTED_CALL_ID,
  scriptedCalls,
  startFakeGemini,
} from '../../dev/fake-gemini';
import type { Topology } from '../../scripts/local/emulated-topology';
import { type RunningTopology, startTopology } from '../../scripts/local/start';
import { synthesizeToTempDir, synthesizedTopology } from '../helpers/emulated-topology';
import { defined } from '../helpers/guards';
import { rawRequest } from '../helpers/raw-http';

const KEY_COUNT = 12;
const API_KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `canary-key-${String(i).padStart(2, '0')}-codex`);
const PASS = 'canary-pass-codex';
const MODEL = 'gemini-3.8-flash';
const CODEX = resolve(__dirname, '../../node_modules/.bin/codex');
/** the bound for a one-prompt session through the gateway */
const ONE_PROMPT_MS = 15_000;

jest.setTimeout(120_000);

let outDir: string;
let fake: FakeGemini;
let running: RunningTopology;
let home: string;
let work: string;
const logs: string[] = [];

/** The `config.toml` docs/clients.md gives, pointed at the running gateway. */
function codexConfig(gateway: string): string {
  return `model = "${MODEL}"
model_provider = "zen"

[model_providers.zen]
name = "zen-ai-router"
base_url = "${gateway}/v1"
env_key = "ZEN_PASS"
wire_api = "responses"
`;
}

interface CodexRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function codexExec(prompt: string): Promise<CodexRun> {
  const started = Date.now();
  return new Promise((resolvePromise) => {
    const child = execFile(
      CODEX,
      ['exec', '--skip-git-repo-check', prompt],
      {
        cwd: work,
        env: { PATH: process.env.PATH ?? '', HOME: home, CODEX_HOME: home, ZEN_PASS: PASS },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolvePromise({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
    // headless: nothing on stdin, or Codex waits to read more of the prompt from it
    child.stdin?.end();
  });
}

/** The request lines the workers logged: route and status of every request the gateway answered. */
function requestLines(): { route: string; status: number }[] {
  return logs.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as { event?: string; route?: string; status?: number };
      return parsed.event === 'request' && parsed.route !== undefined && parsed.status !== undefined
        ? [{ route: parsed.route, status: parsed.status }]
        : [];
    } catch {
      return [];
    }
  });
}

beforeAll(async () => {
  outDir = await synthesizeToTempDir('zen-codex-e2e-', 'prod', { KEY_COUNT: String(KEY_COUNT) });
  fake = await startFakeGemini({ port: 0, nativeReply: scriptedCalls });
  const topology: Topology = synthesizedTopology(outDir, 'prod', { apiKeys: API_KEYS, pass: PASS }, fake.url);
  running = await startTopology({ topology, port: 0, onLog: (message) => logs.push(message) });
  home = mkdtempSync(join(tmpdir(), 'zen-codex-home-'));
  work = mkdtempSync(join(tmpdir(), 'zen-codex-work-'));
  writeFileSync(join(home, 'config.toml'), codexConfig(running.url));
});

afterAll(async () => {
  await running?.dispose();
  await fake?.close();
  for (const dir of [outDir, home, work]) if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  fake.reset();
  logs.length = 0;
});

describe('Codex CLI through the prod topology', () => {
  it("answers a one-prompt session with the model's answer, in one POST /v1/responses, well within 15 s", async () => {
    const run = await codexExec('Say hi');
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain(FAKE_REPLY_TEXT);
    expect(run.ms).toBeLessThan(ONE_PROMPT_MS);
    expect(fake.calls).toHaveLength(1);
    const call = defined(fake.calls[0], 'the upstream call');
    expect(call.path).toBe(`/v1beta/models/${MODEL}:streamGenerateContent`);
    expect(API_KEYS).toContain(call.headers['x-goog-api-key']);
    expect(call.body).not.toContain(PASS);
    // no WebSocket attempt, no model listing, no retry: the one call Codex needs
    expect(requestLines()).toEqual([{ route: 'responses.create', status: 200 }]);
  });

  it('completes an exec_command round trip, the thought signature carried through Codex and back', async () => {
    const run = await codexExec(
      'Run this, then tell me what it printed.\nCALL exec_command {"cmd":"echo zen-codex-tool-ok"}',
    );
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`${FAKE_REPLY_TEXT}: exec_command returned`);
    expect(run.stdout).toContain('zen-codex-tool-ok');
    expect(fake.calls).toHaveLength(2);
    const second = JSON.parse(defined(fake.calls[1], 'the second upstream call').body) as {
      contents: { role: string; parts: Record<string, unknown>[] }[];
    };
    const call = second.contents.flatMap((c) => c.parts).find((p) => p.functionCall !== undefined);
    expect(call).toEqual({
      functionCall: { name: 'exec_command', args: { cmd: 'echo zen-codex-tool-ok' }, id: SCRIPTED_CALL_ID },
      thoughtSignature: FAKE_THOUGHT_SIGNATURE,
    });
    const response = second.contents.flatMap((c) => c.parts).find((p) => p.functionResponse !== undefined);
    expect(response).toMatchObject({ functionResponse: { name: 'exec_command', id: SCRIPTED_CALL_ID } });
    expect(JSON.stringify(response)).toContain('zen-codex-tool-ok');
    expect(requestLines()).toEqual([
      { route: 'responses.create', status: 200 },
      { route: 'responses.create', status: 200 },
    ]);
  });

  it('answers a WebSocket upgrade to /v1/responses at once with 405, so a client falls back to HTTP', async () => {
    const started = Date.now();
    const answer = await rawRequest(running.url, {
      path: '/v1/responses',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-version': '13',
        authorization: `Bearer ${PASS}`,
      },
      timeoutMs: 3000,
    });
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('POST, OPTIONS');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fake.calls).toHaveLength(0);
  });
});
