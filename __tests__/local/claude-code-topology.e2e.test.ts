/**
 * Claude Code itself (`@anthropic-ai/claude-code`, the exact devDependency) run headless (`claude -p`) against the
 * prod stack `cdktf synth` produces, emulated in workerd, configured as docs/clients.md tells a user to:
 * `ANTHROPIC_BASE_URL` the gateway, the password in `ANTHROPIC_API_KEY` (sent as `x-api-key`) or
 * `ANTHROPIC_AUTH_TOKEN` (`Authorization: Bearer`), and `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`, so it talks to
 * nothing but the gateway. The binary is the platform package's, as `bench/claude-code.ts` runs it: the wrapper's
 * postinstall, which would link it into `bin/`, is denied by `allowScripts`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FAKE_REPLY_TEXT } from '../../dev/fake-gemini';
import { awaitRequestLines, type ProdTopology, runCli, withProdTopology } from '../helpers/prod-topology-clients';

const PASS = 'canary-pass-claude-code';
/**
 * A bound on one headless run through both hops, the one Codex CLI's test holds to: about 0.6 s alone, several times
 * that while other suites share the two cores.
 */
const RUN_MS = 15_000;

/** The native binary of this platform's package (glibc, else musl); the test fails naming the platform without one. */
function claudeBinary(): string {
  const modules = resolve(__dirname, '../../node_modules/@anthropic-ai');
  const platform = `${process.platform}-${process.arch}`;
  const name = process.platform === 'win32' ? 'claude.exe' : 'claude';
  const found = [`claude-code-${platform}`, `claude-code-${platform}-musl`]
    .map((pkg) => join(modules, pkg, name))
    .find((path) => existsSync(path));
  if (found === undefined) throw new Error(`no @anthropic-ai/claude-code binary for ${platform} in node_modules`);
  return found;
}

jest.setTimeout(120_000);

let gateway: ProdTopology;

function claude(args: readonly string[], credential: Record<string, string>) {
  return runCli(claudeBinary(), args, {
    ANTHROPIC_BASE_URL: gateway.url,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    ...credential,
  });
}

withProdTopology(
  (started) => {
    gateway = started;
  },
  'claude-code',
  PASS,
);

describe('Claude Code through the prod topology', () => {
  it.each([
    ['ANTHROPIC_API_KEY', { 'x-api-key': PASS, authorization: undefined }],
    ['ANTHROPIC_AUTH_TOKEN', { 'x-api-key': undefined, authorization: `Bearer ${PASS}` }],
  ])(
    'answers claude -p with the password in %s: its default model streams from the opus line',
    async (variable, sent) => {
      const run = await claude(['-p', 'Say hello'], { [variable]: PASS });
      expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
      expect(run.stdout.trim()).toBe(FAKE_REPLY_TEXT);
      expect(run.ms).toBeLessThan(RUN_MS);
      const messages = gateway.requests.filter((r) => r.path.startsWith('/v1/messages'));
      expect(messages.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['POST /v1/messages?beta=true 200']);
      const headers = messages[0]?.headers;
      expect({ 'x-api-key': headers?.['x-api-key'], authorization: headers?.authorization }).toEqual(sent);
      const [call, ...more] = gateway.fake.calls;
      expect(more).toHaveLength(0);
      expect(`${call?.path}${call?.search}`).toBe('/v1beta/models/gemini-3.8-flash:streamGenerateContent?alt=sse');
      expect(gateway.apiKeys).toContain(call?.headers['x-goog-api-key']);
      expect(JSON.stringify(gateway.fake.calls)).not.toContain(PASS);
      // Claude Code's system prompt and its tools went over as Gemini's
      expect(call?.body).toContain('"systemInstruction"');
      expect(call?.body).toContain('"functionDeclarations"');
      expect(await awaitRequestLines(gateway.logs, 1)).toEqual([
        { route: 'anthropic.messages', status: 200, model: 'gemini-3.8-flash' },
      ]);
    },
  );

  it('maps --model haiku to the haiku line', async () => {
    const run = await claude(['-p', 'Say hello', '--model', 'haiku'], { ANTHROPIC_API_KEY: PASS });
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout.trim()).toBe(FAKE_REPLY_TEXT);
    expect(gateway.fake.calls.map((c) => c.path)).toEqual([
      '/v1beta/models/gemini-3.5-flash-lite:streamGenerateContent',
    ]);
  });

  it("prints the gateway's 401 for a wrong password and exits 1, with nothing sent to Google", async () => {
    // Claude Code retries a 401 for minutes with growing pauses; without retries it reports the first at once
    const run = await claude(['-p', 'Say hello'], {
      ANTHROPIC_API_KEY: 'not-the-password',
      CLAUDE_CODE_MAX_RETRIES: '0',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('API Error: 401 Incorrect password');
    expect(gateway.fake.calls).toHaveLength(0);
    expect(await awaitRequestLines(gateway.logs, 1)).toEqual([{ route: 'anthropic.messages', status: 401 }]);
  });
});
