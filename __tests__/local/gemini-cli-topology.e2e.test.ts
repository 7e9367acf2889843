/**
 * Gemini CLI itself (`@google/gemini-cli`, the exact devDependency) run headless (`gemini -p`) against the prod stack
 * `cdktf synth` produces, emulated in workerd, configured as docs/clients.md tells a user to: the gateway as
 * `GOOGLE_GEMINI_BASE_URL`, the password as `GEMINI_API_KEY`, API-key auth selected in `~/.gemini/settings.json`
 * (with usage statistics off, so it sends nothing to Google's telemetry). In its default `auto` model it first asks a
 * Flash-Lite model, in JSON mode, how complex the prompt is (`__tests__/fixtures/gemini-cli/routing-request.json`,
 * recorded from 0.61.0 against the bare fake, temporary paths and date replaced), then streams the answer from a
 * Flash model or, for a complex prompt, from 3.1 Pro's custom-tools variant.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FAKE_REPLY_TEXT, type NativeReply } from '../../dev/fake-gemini';
import { defined } from '../helpers/guards';
import { awaitRequestLines, type ProdTopology, runCli, withProdTopology } from '../helpers/prod-topology-clients';

const PASS = 'canary-pass-gemini-cli';
const GEMINI = resolve(__dirname, '../../node_modules/.bin/gemini');
const ROUTER_MODEL = 'gemini-3.5-flash-lite';
const FLASH_MODEL = 'gemini-3.8-flash';
const PRO_MODEL = 'gemini-3.1-pro-preview-customtools';
/**
 * A bound on one headless run through both hops, the one Codex CLI's test holds to: about 2 s alone, several times
 * that while other suites share the two cores.
 */
const RUN_MS = 15_000;

interface Recorded {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: { systemInstruction: unknown; generationConfig: unknown };
}
const RECORDED = JSON.parse(
  readFileSync(join(__dirname, '../fixtures/gemini-cli/routing-request.json'), 'utf8'),
) as Recorded;

jest.setTimeout(120_000);

let gateway: ProdTopology;
/** the router's answer for the test that sets it; undefined leaves every call to the fake */
let routerAnswer: string | undefined;

/** The router's JSON-mode call answered with `routerAnswer`, as Google would answer it. */
const scriptedRouter: NativeReply = (_model, action, body) => {
  const config = body.generationConfig as { responseMimeType?: string } | undefined;
  if (routerAnswer === undefined || action !== 'generateContent' || config?.responseMimeType !== 'application/json')
    return undefined;
  return {
    candidates: [{ content: { role: 'model', parts: [{ text: routerAnswer }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 10, totalTokenCount: 20 },
  };
};

function gemini(prompt: string, settings: Record<string, unknown> = {}) {
  return runCli(
    GEMINI,
    ['-p', prompt],
    { GEMINI_API_KEY: PASS, GOOGLE_GEMINI_BASE_URL: gateway.url, GEMINI_CLI_TRUST_WORKSPACE: 'true' },
    (home) => {
      mkdirSync(join(home, '.gemini'));
      const file = {
        security: { auth: { selectedType: 'gemini-api-key' } },
        privacy: { usageStatisticsEnabled: false },
        ...settings,
      };
      writeFileSync(join(home, '.gemini', 'settings.json'), JSON.stringify(file));
    },
  );
}

/** Every upstream call went out on a pool key, and the password appears in none of them. */
function expectPoolKeysOnly(): void {
  for (const call of gateway.fake.calls) expect(gateway.apiKeys).toContain(call.headers['x-goog-api-key']);
  expect(JSON.stringify(gateway.fake.calls)).not.toContain(PASS);
}

withProdTopology(
  (started) => {
    gateway = started;
  },
  'gemini-cli',
  PASS,
  12,
  { nativeReply: scriptedRouter },
);
beforeEach(() => {
  routerAnswer = undefined;
});

describe('Gemini CLI through the prod topology', () => {
  it('routes a prompt on Flash-Lite as recorded, then streams the answer from Flash, and exits 0 with it', async () => {
    const run = await gemini('Say hi');
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout.trim()).toBe(FAKE_REPLY_TEXT);
    expect(run.ms).toBeLessThan(RUN_MS);
    expect(gateway.fake.calls.map((c) => `${c.path}${c.search}`)).toEqual([
      `/v1beta/models/${ROUTER_MODEL}:generateContent`,
      `/v1beta/models/${FLASH_MODEL}:streamGenerateContent?alt=sse`,
    ]);
    // what the CLI sent the gateway: the password as its API key, on the same two paths
    expect(gateway.requests.map((r) => `${r.method} ${r.path} ${r.headers['x-goog-api-key']} ${r.status}`)).toEqual([
      `POST /v1beta/models/${ROUTER_MODEL}:generateContent ${PASS} 200`,
      `POST /v1beta/models/${FLASH_MODEL}:streamGenerateContent?alt=sse ${PASS} 200`,
    ]);
    expectPoolKeysOnly();
    expect(await awaitRequestLines(gateway.logs, 2)).toEqual([
      { route: 'native.generateContent', status: 200, model: ROUTER_MODEL },
      { route: 'native.streamGenerateContent', status: 200, model: FLASH_MODEL },
    ]);
    // the routing request is the one recorded, passed on unchanged
    const routing = defined(gateway.fake.calls[0], 'the routing call');
    expect(routing.path).toBe(RECORDED.url);
    const body = JSON.parse(routing.body) as Recorded['body'] & { contents: { parts: { text: string }[] }[] };
    expect(body.generationConfig).toEqual(RECORDED.body.generationConfig);
    expect(body.systemInstruction).toEqual(RECORDED.body.systemInstruction);
    expect(body.contents.at(-1)?.parts[0]?.text).toBe('Say hi');
    // the client and SDK versions, not the platform and Node version the recording ran on
    const product = (header: string | undefined) => header?.split(' ')[0];
    expect(product(routing.headers['user-agent'])).toBe(product(RECORDED.headers['user-agent']));
    expect(product(routing.headers['x-goog-api-client'])).toBe(product(RECORDED.headers['x-goog-api-client']));
  });

  it('streams a prompt the router rates complex from the Pro model it picks', async () => {
    routerAnswer = JSON.stringify({ complexity_reasoning: 'Architecture.', complexity_score: 90 });
    const run = await gemini('Design a microservices backend for this app.');
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout.trim()).toBe(FAKE_REPLY_TEXT);
    expect(gateway.fake.calls.map((c) => c.path)).toEqual([
      `/v1beta/models/${ROUTER_MODEL}:generateContent`,
      `/v1beta/models/${PRO_MODEL}:streamGenerateContent`,
    ]);
    expectPoolKeysOnly();
  });

  it('asks only the model settings.json names, without routing', async () => {
    const run = await gemini('Say hi', { model: { name: FLASH_MODEL } });
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout.trim()).toBe(FAKE_REPLY_TEXT);
    expect(gateway.fake.calls.map((c) => c.path)).toEqual([`/v1beta/models/${FLASH_MODEL}:streamGenerateContent`]);
    expectPoolKeysOnly();
  });
});
