/**
 * The smoke test against the emulated topologies: what `cdktf synth` really produces (here with Smart Placement on,
 * which the emulation ignores the way it ignores observability), run in workerd by `npm start`'s own modules, with the
 * fake Gemini behind it. Both checks must pass on the prod orchestrator and on the preview worker: `/v1/models`
 * through orchestrator, shard and a pool key, `/zen/status` through every shard. A shard that refuses its part of the
 * status view (here one still holding an old password, as in a half-applied rotation) fails prod's check, by name.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeGemini, type FakeGemini } from '../../dev/fake-gemini';
import { runSmoke, smokeDetail, renderSmokeSummary } from '../../scripts/ci/smoke';
import { startTopology, type RunningTopology } from '../../scripts/local/start';
import { buildTopology } from '../../scripts/local/emulated-topology';
import { defined } from '../helpers/guards';
import { synthesizeToTempDir } from '../helpers/emulated-topology';

const API_KEYS = ['canary-key-smoke-0', 'canary-key-smoke-1', 'canary-key-smoke-2', 'canary-key-smoke-3'];
const PASS = 'canary-pass-smoke-e2e';

jest.setTimeout(90_000);

let outDir: string;
let fake: FakeGemini;
let running: RunningTopology;
let preview: RunningTopology;
let stale: RunningTopology | undefined;
let stack: { resource: { cloudflare_workers_script: Record<string, { script_name: string; placement?: unknown }> } };
const logs: string[] = [];

beforeAll(async () => {
  outDir = await synthesizeToTempDir('zen-smoke-', 'prod', {
    KEY_COUNT: '4',
    KEYS_PER_SHARD: '2',
    SMART_PLACEMENT: 'true',
  });
  fake = await startFakeGemini({ port: 0 });
  const stackDir = join(outDir, 'stacks', 'prod');
  stack = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as typeof stack;
  const topology = buildTopology(stack as unknown as Record<string, unknown>, {
    stackDir,
    secrets: { apiKeys: API_KEYS, pass: PASS },
    plainTextOverrides: { GEMINI_BASE_URL: fake.url },
  });
  running = await startTopology({ topology, port: 0, onLog: (message) => logs.push(message) });
  // synthEnv sets PR_NUMBER=1, so the same synth wrote the preview stack
  const previewDir = join(outDir, 'stacks', 'preview-1');
  const previewTopology = buildTopology(JSON.parse(readFileSync(join(previewDir, 'cdk.tf.json'), 'utf8')), {
    stackDir: previewDir,
    secrets: { apiKeys: API_KEYS, pass: PASS },
    plainTextOverrides: { GEMINI_BASE_URL: fake.url },
  });
  preview = await startTopology({ topology: previewTopology, port: 0, onLog: (message) => logs.push(message) });
});

afterAll(async () => {
  await running?.dispose();
  await preview?.dispose();
  await stale?.dispose();
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

it.each([
  ['prod', () => running],
  ['preview-1', () => preview],
])(
  '%s passes both checks at once: /v1/models through a pool key, /zen/status from every shard',
  async (name, target) => {
    const before = fake.calls.length;
    const result = await runSmoke({
      baseUrl: target().url,
      pass: PASS,
      sleep: async () => undefined,
      retryDelaysMs: [],
      // as the workflow step runs it: prod's public worker is the orchestrator, and must list its shards
      requireShards: name === 'prod',
    });
    expect(result).toEqual({
      ok: true,
      checks: [
        { path: '/v1/models', status: 200, ok: true, detail: '200', attempts: 1 },
        { path: '/zen/status', status: 200, ok: true, detail: '200', attempts: 1 },
      ],
    });
    // Google (the fake) was asked for the model list once, with one of the pool keys, never with the password; the
    // status view asked Google nothing
    const calls = fake.calls.slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.path).toMatch(/\/models\/?$/);
    expect(API_KEYS).toContain(calls[0]?.apiKey);

    const text = [smokeDetail(result), renderSmokeSummary(name, target().url, result)].join('\n');
    expect(text).toContain('GET /zen/status 200');
    expect(text).not.toContain(PASS);
    expect(text).not.toMatch(/canary-key/);
  },
);

it('the status the smoke test accepts names every key of every shard, by index only', async () => {
  const res = await fetch(`${running.url}/zen/status`, { headers: { authorization: `Bearer ${PASS}` } });
  const text = await res.text();
  const body = JSON.parse(text) as { answered: number; shards: { status: { keys: unknown[] } }[] };
  expect(body.answered).toBe(2);
  expect(body.shards.map((s) => s.status.keys.length)).toEqual([2, 2]);
  expect(text).not.toMatch(/canary-(key|pass)/);
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
  // every shard refused the password, so the orchestrator passes their 401 on
  expect(result.checks[1]).toMatchObject({ status: 401, detail: 'answered 401 (invalid_api_key)' });
  expect(fake.calls.length).toBe(before);
});

it('fails prod when a shard does not answer its part of the status, naming that shard', async () => {
  // the same stack, except that worker-1 holds another password, as it would half-way through a PASS change
  const stackDir = join(outDir, 'stacks', 'prod');
  const edited = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as {
    resource: {
      cloudflare_workers_script: Record<string, { script_name: string; bindings: { name: string; text?: string }[] }>;
    };
  };
  const shard1 = defined(
    Object.values(edited.resource.cloudflare_workers_script).find((s) => s.script_name === 'zen-ai-router-worker-1'),
    'the worker-1 script',
  );
  const passBinding = defined(
    shard1.bindings.find((b) => b.name === 'PASS'),
    "worker-1's PASS binding",
  );
  passBinding.text = 'canary-pass-smoke-old';
  stale = await startTopology({
    topology: buildTopology(edited as unknown as Record<string, unknown>, {
      stackDir,
      secrets: { apiKeys: API_KEYS, pass: PASS },
      plainTextOverrides: { GEMINI_BASE_URL: fake.url },
    }),
    port: 0,
    onLog: (message) => logs.push(message),
  });
  const result = await runSmoke({
    baseUrl: stale.url,
    pass: PASS,
    sleep: async () => undefined,
    retryDelaysMs: [],
    requireShards: true,
  });
  expect(result.ok).toBe(false);
  expect(result.checks[1]).toEqual({
    path: '/zen/status',
    status: 200,
    ok: false,
    detail: 'answered 200, but 1 of 2 shards did not answer: shard 1 (status 401)',
    attempts: 1,
  });
  expect(smokeDetail(result)).not.toMatch(/canary-(key|pass)/);
});
