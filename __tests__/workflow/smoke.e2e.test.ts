/**
 * The smoke test against the emulated prod topology: what `cdktf synth` really produces (here with Smart Placement on,
 * which the emulation ignores the way it ignores observability), run in workerd by `npm start`'s own modules, with the
 * fake Gemini behind it. `/v1/models` must pass through orchestrator, shard and a pool key; `/zen/status` is checked
 * the same way and its result reported whatever it is.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeGemini, type FakeGemini } from '../../dev/fake-gemini';
import { runSmoke, smokeDetail, renderSmokeSummary } from '../../scripts/ci/smoke';
import { synthEnv } from '../../scripts/local/cli';
import { startTopology, type RunningTopology } from '../../scripts/local/start';
import { runSynth } from '../../scripts/local/synth';
import { buildTopology } from '../../scripts/local/topology';

const API_KEYS = ['canary-key-smoke-0', 'canary-key-smoke-1', 'canary-key-smoke-2', 'canary-key-smoke-3'];
const PASS = 'canary-pass-smoke-e2e';

jest.setTimeout(90_000);

let outDir: string;
let fake: FakeGemini;
let running: RunningTopology;
let stack: { resource: { cloudflare_workers_script: Record<string, { script_name: string; placement?: unknown }> } };
const logs: string[] = [];

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'zen-smoke-'));
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    KEY_COUNT: '4',
    KEYS_PER_SHARD: '2',
    SMART_PLACEMENT: 'true',
  };
  await runSynth({ outDir, env: synthEnv(env, 'prod', undefined) });
  fake = await startFakeGemini({ port: 0 });
  const stackDir = join(outDir, 'stacks', 'prod');
  stack = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as typeof stack;
  const topology = buildTopology(stack as unknown as Record<string, unknown>, {
    stackDir,
    secrets: { apiKeys: API_KEYS, pass: PASS },
    plainTextOverrides: { GEMINI_BASE_URL: fake.url },
  });
  running = await startTopology({ topology, port: 0, onLog: (message) => logs.push(message) });
});

afterAll(async () => {
  await running?.dispose();
  await fake?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

it('the synthesized shards carry placement "smart" and the emulation runs them anyway', () => {
  const placements = Object.values(stack.resource.cloudflare_workers_script)
    .map((s) => [s.script_name, s.placement ?? null])
    .sort();
  expect(placements).toEqual([
    ['zen-ai-router-orchestrator', null],
    ['zen-ai-router-worker-0', { mode: 'smart' }],
    ['zen-ai-router-worker-1', { mode: 'smart' }],
  ]);
});

it('GET /v1/models passes through orchestrator, shard and a pool key; every result is reported, the password nowhere', async () => {
  const result = await runSmoke({ baseUrl: running.url, pass: PASS, sleep: async () => undefined, retryDelaysMs: [0] });
  expect(result.checks[0]).toEqual({ path: '/v1/models', status: 200, ok: true, detail: '200', attempts: 1 });
  // Google (the fake) was asked for the model list with one of the pool keys, never with the password
  const modelCalls = fake.calls.filter((c) => /\/models\/?$/.test(c.path));
  expect(modelCalls.length).toBeGreaterThanOrEqual(1);
  for (const call of modelCalls) expect(API_KEYS).toContain(call.apiKey);

  // /zen/status: required by the smoke test; whatever the gateway answers today, the verdict follows the status
  const status = result.checks[1];
  expect(status?.path).toBe('/zen/status');
  expect(status?.ok).toBe(status?.status === 200);
  expect(result.ok).toBe(result.checks.every((c) => c.ok));

  const text = [smokeDetail(result), renderSmokeSummary('prod', running.url, result)].join('\n');
  expect(text).not.toContain(PASS);
  expect(text).not.toMatch(/canary-key/);
});

it("the wrong password fails both checks with the gateway's 401, and no key is spent", async () => {
  const before = fake.calls.length;
  const result = await runSmoke({
    baseUrl: running.url,
    pass: 'wrong-password',
    sleep: async () => undefined,
    retryDelaysMs: [],
  });
  expect(result.ok).toBe(false);
  expect(result.checks[0]).toMatchObject({ status: 401, detail: 'answered 401 (invalid_api_key)' });
  expect(fake.calls.length).toBe(before);
});
