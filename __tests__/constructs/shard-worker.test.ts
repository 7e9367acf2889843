import { TerraformStack, Testing } from 'cdktf';
import { WorkersScript } from '@cdktf/provider-cloudflare/lib/workers-script';
import { WorkersScriptSubdomain } from '@cdktf/provider-cloudflare/lib/workers-script-subdomain';
import { ShardWorker, type ShardWorkerProps } from '../../constructs';
import { fixtureBundles } from '../fixtures/bundles';
import { resolveScriptRef, secretInputs, synthJson, type StackJson } from '../fixtures/synth';

function synthShard(overrides: Partial<Omit<ShardWorkerProps, 'apiKeys' | 'pass' | 'clientTokens'>> = {}): string {
  return Testing.synthScope((scope) => {
    const { apiKeys, pass, clientTokens } = secretInputs(scope);
    new ShardWorker(scope, 'Shard', {
      accountId: '0123456789abcdef0123456789abcdef',
      scriptName: 'zen-ai-router-worker-1',
      bundle: fixtureBundles.shard,
      apiKeys,
      firstKeyIndex: 8,
      keyCount: 3,
      pass,
      clientTokens,
      ...overrides,
    });
  });
}

describe('ShardWorker', () => {
  test('defaults: its keys by index as KEY1..KEYk, then PASS, the Google base URL, a 300 s timeout, no wait and the client tokens', () => {
    const synth = synthShard();
    expect(synth).toHaveResourceWithProperties(WorkersScript, {
      script_name: 'zen-ai-router-worker-1',
      account_id: '0123456789abcdef0123456789abcdef',
      main_module: 'shard.js',
      content_sha256: fixtureBundles.shard.sha256,
      compatibility_date: '2026-04-20',
      bindings: [
        { name: 'KEY1', type: 'secret_text', text: '${var.api_keys[8]}' },
        { name: 'KEY2', type: 'secret_text', text: '${var.api_keys[9]}' },
        { name: 'KEY3', type: 'secret_text', text: '${var.api_keys[10]}' },
        { name: 'PASS', type: 'secret_text', text: '${var.pass}' },
        { name: 'GEMINI_BASE_URL', type: 'plain_text', text: 'https://generativelanguage.googleapis.com' },
        { name: 'UPSTREAM_TIMEOUT_MS', type: 'plain_text', text: '300000' },
        { name: 'MAX_WAIT_MS', type: 'plain_text', text: '0' },
        { name: 'CLIENT_TOKENS', type: 'secret_text', text: '${jsonencode(var.client_tokens)}' },
        { name: 'USAGE', type: 'analytics_engine', dataset: 'zen_ai_router_usage' },
      ],
      observability: {
        enabled: true,
        head_sampling_rate: 1,
        logs: { enabled: true, invocation_logs: true, head_sampling_rate: 1 },
      },
    });
  });

  test('anthropicModelMap: bound as plain-text JSON ANTHROPIC_MODEL_MAP after every fixed binding', () => {
    const json = JSON.parse(
      synthShard({ anthropicModelMap: { opus: 'gemini-3.5-pro', saga: 'gemini-3.5-flash' } }),
    ) as StackJson;
    const [script] = Object.values(json.resource.cloudflare_workers_script) as { bindings: { name: string }[] }[];
    const bindings = script?.bindings ?? [];
    expect(bindings.map((b) => b.name)).toEqual([
      'KEY1',
      'KEY2',
      'KEY3',
      'PASS',
      'GEMINI_BASE_URL',
      'UPSTREAM_TIMEOUT_MS',
      'MAX_WAIT_MS',
      'CLIENT_TOKENS',
      'ANTHROPIC_MODEL_MAP',
      'USAGE',
    ]);
    expect(bindings.at(-2)).toEqual({
      name: 'ANTHROPIC_MODEL_MAP',
      type: 'plain_text',
      text: '{"opus":"gemini-3.5-pro","saga":"gemini-3.5-flash"}',
    });
  });

  test('defaults: private on workers.dev, preview URLs off, for this script', () => {
    const json = JSON.parse(synthShard()) as StackJson;
    const [subdomain] = Object.values(json.resource.cloudflare_workers_script_subdomain);
    expect(subdomain).toEqual({
      account_id: '0123456789abcdef0123456789abcdef',
      enabled: false,
      previews_enabled: false,
      script_name: expect.any(String),
    });
    expect(resolveScriptRef(json, subdomain?.script_name ?? '')).toBe('zen-ai-router-worker-1');
  });

  test('uploads the bundle by file: a path under the stack assets and no inline content', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'test');
    const props = {
      ...secretInputs(stack),
      accountId: 'a',
      bundle: fixtureBundles.shard,
      firstKeyIndex: 0,
      keyCount: 1,
    };
    new ShardWorker(stack, 'A', { ...props, scriptName: 'a' });
    new ShardWorker(stack, 'B', { ...props, scriptName: 'b' });
    const scripts = Object.values(synthJson(stack).resource.cloudflare_workers_script);
    expect(scripts.map((s) => s.content_file)).toEqual([
      expect.stringMatching(/^assets\/[^/]+\/[0-9A-F]+\/shard\.js$/),
      scripts[0]?.content_file, // both shards share one copy of the bundle
    ]);
    expect(scripts.every((s) => !('content' in s))).toBe(true);
  });

  test.each([
    [
      'geminiBaseUrl',
      { geminiBaseUrl: 'https://gateway.ai.cloudflare.com/v1/acc/gw/google-ai-studio' },
      {
        name: 'GEMINI_BASE_URL',
        type: 'plain_text',
        text: 'https://gateway.ai.cloudflare.com/v1/acc/gw/google-ai-studio',
      },
    ],
    [
      'upstreamTimeoutMs',
      { upstreamTimeoutMs: 30_000 },
      { name: 'UPSTREAM_TIMEOUT_MS', type: 'plain_text', text: '30000' },
    ],
    ['maxWaitMs', { maxWaitMs: 2_000 }, { name: 'MAX_WAIT_MS', type: 'plain_text', text: '2000' }],
  ])('override %s is bound', (_name, override, binding) => {
    const script = Object.values(JSON.parse(synthShard(override)).resource.cloudflare_workers_script)[0] as {
      bindings: unknown[];
    };
    expect(script.bindings).toContainEqual(binding);
  });

  test('override publicOnWorkersDev enables the workers.dev route but never preview URLs', () => {
    expect(synthShard({ publicOnWorkersDev: true })).toHaveResourceWithProperties(WorkersScriptSubdomain, {
      enabled: true,
      previews_enabled: false,
    });
  });

  test('override logSamplingRate sets the Workers Logs head sampling rate', () => {
    expect(synthShard({ logSamplingRate: 0.25 })).toHaveResourceWithProperties(WorkersScript, {
      observability: {
        enabled: true,
        head_sampling_rate: 0.25,
        logs: { enabled: true, invocation_logs: true, head_sampling_rate: 0.25 },
      },
    });
  });

  test('override compatibilityDate', () => {
    expect(synthShard({ compatibilityDate: '2025-09-01' })).toHaveResourceWithProperties(WorkersScript, {
      compatibility_date: '2025-09-01',
    });
  });

  test('override workersPlan paid allows up to 123 keys in one worker: 128 environment variables with the five fixed ones', () => {
    const synth = synthShard({ workersPlan: 'paid', firstKeyIndex: 0, keyCount: 123 });
    const script = Object.values(JSON.parse(synth).resource.cloudflare_workers_script)[0] as {
      bindings: { name: string }[];
    };
    // 128 environment variables, and the dataset binding, which is none
    expect(script.bindings).toHaveLength(129);
    expect(script.bindings[122]).toEqual({ name: 'KEY123', type: 'secret_text', text: '${var.api_keys[122]}' });
    expect(script.bindings.slice(123).map((b) => b.name)).toEqual([
      'PASS',
      'GEMINI_BASE_URL',
      'UPSTREAM_TIMEOUT_MS',
      'MAX_WAIT_MS',
      'CLIENT_TOKENS',
      'USAGE',
    ]);
  });

  test('exposes its key count, the weight the orchestrator draws it with', () => {
    const stack = new TerraformStack(Testing.app(), 'test');
    const shard = new ShardWorker(stack, 'Shard', {
      ...secretInputs(stack),
      accountId: 'acc',
      scriptName: 'w-0',
      bundle: fixtureBundles.shard,
      firstKeyIndex: 0,
      keyCount: 5,
    });
    expect(shard.keyCount).toBe(5);
  });
});
