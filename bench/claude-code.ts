/**
 * Benchmark 8: Claude Code itself against the gateway. Installs the pinned `@anthropic-ai/claude-code` from npm into
 * `node_modules/.cache/claude-code` (once; about 400 MB, a native binary per platform that needs no Node to run),
 * starts the synthesized prod stack in workerd with the fake Gemini upstream (as `npm start` runs it), and runs
 * `claude -p "Say hello"` headless against the orchestrator with the gateway's password, a fresh HOME and no
 * nonessential traffic. A recording proxy in front of the orchestrator lists what Claude Code sent. Claude Code must
 * exit 0 and print the fake's answer; anything else fails the benchmark, with the requests and bodies it sent.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FAKE_REPLY_TEXT, startFakeGemini } from '../dev/fake-gemini';
import { startTopology } from '../scripts/local/start';
import { synthesizeProd } from './capacity-topology';
import { printTable, runBenchmark } from './stats';

/** The version this benchmark was last run with (see docs/benchmarks.md); bump it deliberately. */
export const CLAUDE_CODE_VERSION = process.env.CLAUDE_CODE_VERSION ?? '2.1.332';
const CACHE_DIR = resolve(__dirname, '..', 'node_modules', '.cache', 'claude-code');
const PROMPT = 'Say hello';
const PASS = 'claude-code-bench-password';
const TIMEOUT_MS = 120_000;

/** The installed binary: the platform package's, which does not depend on the wrapper's postinstall having run. */
function claudeBinary(): string | undefined {
  const modules = join(CACHE_DIR, 'node_modules', '@anthropic-ai');
  const platform = `${process.platform}-${process.arch}`;
  const candidates = [
    join(modules, `claude-code-${platform}`, process.platform === 'win32' ? 'claude.exe' : 'claude'),
    join(modules, `claude-code-${platform}-musl`, 'claude'),
    join(CACHE_DIR, 'node_modules', '.bin', 'claude'),
  ];
  return candidates.find((path) => existsSync(path));
}

function installedVersion(): string | undefined {
  try {
    const manifest = join(CACHE_DIR, 'node_modules', '@anthropic-ai', 'claude-code', 'package.json');
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

function ensureInstalled(): string {
  if (installedVersion() !== CLAUDE_CODE_VERSION || claudeBinary() === undefined) {
    process.stdout.write(`installing @anthropic-ai/claude-code@${CLAUDE_CODE_VERSION} into ${CACHE_DIR} ...\n`);
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const result = spawnSync(
      npm,
      [
        'install',
        '--prefix',
        CACHE_DIR,
        '--no-save',
        '--no-audit',
        '--no-fund',
        `@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}`,
      ],
      { stdio: 'inherit' },
    );
    if (result.status !== 0) throw new Error(`npm install of @anthropic-ai/claude-code failed (exit ${result.status})`);
  }
  const binary = claudeBinary();
  if (binary === undefined)
    throw new Error(`no Claude Code binary for ${process.platform}-${process.arch} in ${CACHE_DIR}`);
  return binary;
}

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** the header that carried the credential */
  readonly credential: 'x-api-key' | 'Authorization' | 'none';
  readonly body: string;
}

/** A pass-through proxy in front of the orchestrator that records each request (method, path, body, status). */
async function startRecorder(target: string): Promise<{ url: string; requests: Recorded[]; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const upstream = httpRequest(
        new URL(req.url ?? '/', target),
        { method: req.method, headers: req.headers },
        (up) => {
          requests.push({
            method: req.method ?? '',
            path: req.url ?? '',
            status: up.statusCode ?? 0,
            credential: req.headers['x-api-key'] ? 'x-api-key' : req.headers.authorization ? 'Authorization' : 'none',
            body: body.toString('utf8'),
          });
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** What a Messages request asked for: model, stream, tools, thinking, size. */
function describeMessages(body: string): string {
  try {
    const b = JSON.parse(body) as {
      model?: unknown;
      stream?: unknown;
      tools?: unknown[];
      thinking?: unknown;
      max_tokens?: unknown;
    };
    return [
      `model ${String(b.model)}`,
      `stream ${String(b.stream === true)}`,
      `${b.tools?.length ?? 0} tools`,
      `max_tokens ${String(b.max_tokens)}`,
      `thinking ${JSON.stringify(b.thinking ?? null)}`,
      `${(Buffer.byteLength(body) / 1024).toFixed(0)} KiB`,
    ].join(', ');
  } catch {
    return `${Buffer.byteLength(body)} bytes, not JSON`;
  }
}

interface Run {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** How Claude Code is given the password: as an API key (`x-api-key`) or as a token (`Authorization: Bearer`). */
const CREDENTIALS = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN'] as const;

function runClaude(binary: string, baseUrl: string, credentialVariable: string): Promise<Run> {
  const home = mkdtempSync(join(tmpdir(), 'zen-claude-code-home-'));
  const cwd = mkdtempSync(join(tmpdir(), 'zen-claude-code-cwd-'));
  // a clean environment: nothing of the caller's (an ANTHROPIC_* variable, a real key) reaches Claude Code
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    ANTHROPIC_BASE_URL: baseUrl,
    [credentialVariable]: PASS,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  };
  return new Promise((done, fail) => {
    const child = spawn(binary, ['-p', PROMPT], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('error', fail);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
      rmSync(cwd, { recursive: true, force: true });
      done({ exitCode, stdout, stderr });
    });
  });
}

/** Requests by method, path and status, with how often each was sent. */
function tally(requests: readonly Recorded[]): string {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const line = `${r.method} ${r.path} (${r.credential}) → ${r.status}`;
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  return [...counts].map(([line, count]) => (count > 1 ? `${line} (×${count})` : line)).join('<br>');
}

async function main(): Promise<void> {
  const binary = ensureInstalled();
  // the fake as `npm start` runs it: its own replies, for the models the default Anthropic model map names
  const fake = await startFakeGemini({ port: 0, chunkDelayMs: 40 });
  const prod = await synthesizeProd(16, 8, fake.url, PASS);
  const topology = await startTopology({ topology: prod.topology, port: 0, onLog: () => undefined });
  const recorder = await startRecorder(topology.url);
  const rows: string[][] = [];
  const details: string[] = [];
  try {
    for (const credential of CREDENTIALS) {
      recorder.requests.length = 0;
      fake.reset();
      const run = await runClaude(binary, recorder.url, credential);
      const answer = run.stdout.trim();
      const upstream = fake.calls.map((c) => `${c.path}${c.search}`).join(', ');
      rows.push([credential, String(run.exitCode), JSON.stringify(answer), tally(recorder.requests), upstream]);
      for (const r of recorder.requests.filter((r) => r.path.startsWith('/v1/messages')))
        details.push(`${r.method} ${r.path}: ${describeMessages(r.body)}`);
      if (run.exitCode !== 0 || answer !== FAKE_REPLY_TEXT) {
        process.stderr.write(`Claude Code failed with ${credential}. stderr:\n${run.stderr}\nrequests:\n`);
        for (const r of recorder.requests)
          process.stderr.write(`${r.method} ${r.path} ${r.status}\n${r.body.slice(0, 2000)}\n\n`);
        process.exitCode = 1;
      }
    }
  } finally {
    await recorder.close();
    await topology.dispose();
    prod.dispose();
    await fake.close();
  }
  process.stdout.write(
    `Claude Code ${CLAUDE_CODE_VERSION}, \`claude -p "${PROMPT}"\` through the emulated prod topology (fake Gemini)\n\n`,
  );
  printTable(
    ['password given as', 'exit', 'answer', 'requests to the gateway (credential header) → status', 'Gemini calls'],
    rows,
  );
  for (const line of details) process.stdout.write(`${line}\n`);
}

runBenchmark(main);
