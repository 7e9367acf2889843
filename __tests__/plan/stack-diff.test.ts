import { diffStacks, isEmptyDiff } from '../../scripts/plan/stack-diff';
import { summarizeStack } from '../../scripts/plan/stack-summary';
import { edited, prodJson, synthesized, type LooseJson } from './plan-fixtures';

const summary = (json: ReturnType<typeof prodJson>, name = 'prod') => summarizeStack(synthesized(name, json));
const before = prodJson();

test('the same synth twice: no difference', () => {
  const diff = diffStacks(summary(before), summary(prodJson()));
  expect(isEmptyDiff(diff)).toBe(true);
});

test('20 → 28 keys: a shard is added, the last one takes more keys, the orchestrator a binding', () => {
  const diff = diffStacks(summary(before), summary(prodJson({ keyCount: 28 })));
  expect(diff.workersAdded).toEqual(['zen-ai-router-worker-3']);
  expect(diff.workersRemoved).toEqual([]);
  expect(diff.workersChanged).toEqual([
    {
      scriptName: 'zen-ai-router-orchestrator',
      bindingsAdded: ['BACKEND_SERVICE_3 (service)'],
      bindingsRemoved: [],
      bindingsRetyped: [],
      // 8,8,4 → 8,8,8,4
      bindingsChanged: ['SHARD_KEY_COUNTS (plain_text)'],
      codeChanged: false,
      keys: undefined,
      workersDevChanged: false,
      settingsChanged: [],
    },
    {
      scriptName: 'zen-ai-router-worker-2',
      bindingsAdded: ['KEY5 (secret)', 'KEY6 (secret)', 'KEY7 (secret)', 'KEY8 (secret)'],
      bindingsRemoved: [],
      bindingsRetyped: [],
      bindingsChanged: [],
      codeChanged: false,
      keys: { before: [17, 18, 19, 20], after: [17, 18, 19, 20, 21, 22, 23, 24] },
      workersDevChanged: false,
      settingsChanged: [],
    },
  ]);
});

test('20 → 12 keys: the third shard is removed', () => {
  const diff = diffStacks(summary(before), summary(prodJson({ keyCount: 12 })));
  expect(diff.workersRemoved).toEqual(['zen-ai-router-worker-2']);
  expect(diff.workersChanged.map((c) => c.scriptName)).toEqual([
    'zen-ai-router-orchestrator',
    'zen-ai-router-worker-1',
  ]);
});

test('new code, a retyped binding, a workers.dev switch and other settings show by name, without values', () => {
  const after = edited(before, (copy) => {
    const scripts = copy.resource.cloudflare_workers_script;
    const shard = Object.values<Record<string, LooseJson>>(scripts).find(
      (s) => s.script_name === 'zen-ai-router-worker-0',
    );
    if (shard === undefined) throw new Error('no shard 0');
    shard.content_sha256 = 'f'.repeat(64);
    shard.compatibility_date = '2026-05-01';
    shard.observability.head_sampling_rate = 0.5;
    const timeout = shard.bindings.find((b: { name: string }) => b.name === 'UPSTREAM_TIMEOUT_MS');
    timeout.text = '1234';
    const gemini = shard.bindings.find((b: { name: string }) => b.name === 'GEMINI_BASE_URL');
    gemini.type = 'secret_text';
    const subdomain = Object.values<Record<string, LooseJson>>(copy.resource.cloudflare_workers_script_subdomain).find(
      (s) => String(s.script_name).includes('Shards_0'),
    );
    if (subdomain === undefined) throw new Error('no subdomain of shard 0');
    subdomain.enabled = true;
  });
  const [change] = diffStacks(summary(before), summary(after)).workersChanged;
  expect(change).toEqual({
    scriptName: 'zen-ai-router-worker-0',
    bindingsAdded: [],
    bindingsRemoved: [],
    bindingsRetyped: ['GEMINI_BASE_URL: plain_text → secret'],
    bindingsChanged: ['UPSTREAM_TIMEOUT_MS (plain_text)'],
    codeChanged: true,
    keys: undefined,
    workersDevChanged: true,
    settingsChanged: ['compatibility_date', 'observability'],
  });
  expect(JSON.stringify(change)).not.toMatch(/2026-05-01|1234/);
});

test('outputs, resources and the backend', () => {
  const after = edited(before, (copy) => {
    copy.output.shard_layout = { value: '[]' };
    delete copy.output.public_worker_url;
    copy.resource.cloudflare_r2_bucket = { Logs: { name: 'logs' } };
    copy.terraform.backend = { s3: { bucket: 'b', key: 'k' } };
  });
  const diff = diffStacks(summary(before), summary(after));
  expect(diff).toMatchObject({
    outputsAdded: ['shard_layout'],
    outputsRemoved: ['public_worker_url'],
    resourcesAdded: ['cloudflare_r2_bucket.Logs'],
    resourcesRemoved: [],
    backendChanged: true,
  });
  expect(isEmptyDiff(diff)).toBe(false);
});
