import type { PreviewStackProps } from '../../constructs';
import { previewStack, resolveScriptRef, scriptsByName, synthJson, type StackJson } from '../fixtures/synth';

function preview(props: Partial<PreviewStackProps> = {}): StackJson {
  return synthJson(previewStack(props));
}

const keyBindings = (json: StackJson): string[] =>
  (Object.values(scriptsByName(json))[0]?.bindings ?? [])
    .filter((b) => /^KEY\d+$/.test(b.name))
    .map((b) => `${b.name}=${b.text}`);
const firstKeys = (n: number): string[] => Array.from({ length: n }, (_, i) => `KEY${i + 1}=\${var.api_keys[${i}]}`);

describe('PreviewStack', () => {
  test('anthropicModelMap: bound after the fixed bindings, and one key fewer fits the worker', () => {
    const json = preview({ keyCount: 59, anthropicModelMap: { haiku: 'gemini-3.5-flash' } });
    const script = Object.values(scriptsByName(json))[0];
    expect(script?.bindings.slice(-3).map((b) => `${b.name}=${b.text ?? b.dataset}`)).toEqual([
      'CLIENT_TOKENS=${jsonencode(var.client_tokens)}',
      'ANTHROPIC_MODEL_MAP={"haiku":"gemini-3.5-flash"}',
      'USAGE=zen_ai_router_usage',
    ]);
    expect(keyBindings(json)).toEqual(firstKeys(58));
    expect(json.output.bound_key_count?.value).toBe(58);
    expect(keyBindings(preview({ keyCount: 59 }))).toEqual(firstKeys(59));
  });

  test('defaults: one public worker holding every key as KEY1..KEYN, no orchestrator, no SHARD_INDEX (it stands alone)', () => {
    const json = preview();
    const scripts = scriptsByName(json);
    expect(Object.keys(scripts)).toEqual(['zen-ai-router-worker-preview-7']);
    expect(scripts['zen-ai-router-worker-preview-7']?.bindings.map((b) => `${b.name}=${b.text ?? b.dataset}`)).toEqual([
      ...firstKeys(20),
      'PASS=${var.pass}',
      'GEMINI_BASE_URL=https://generativelanguage.googleapis.com',
      'UPSTREAM_TIMEOUT_MS=300000',
      'MAX_WAIT_MS=0',
      'CLIENT_TOKENS=${jsonencode(var.client_tokens)}',
      'USAGE=zen_ai_router_usage',
    ]);
    expect(Object.values(json.resource.cloudflare_workers_script_subdomain)).toEqual([
      { account_id: '${var.account_id}', script_name: expect.any(String), enabled: true, previews_enabled: false },
    ]);
    expect(resolveScriptRef(json, json.output.public_worker_name?.value ?? '')).toBe('zen-ai-router-worker-preview-7');
    expect(json.output.bound_key_count).toEqual({
      value: 20,
      description: 'how many keys the preview worker holds: the first ones of the 20 in api_keys',
    });
  });

  test('defaults: its own local state file, named after the stack', () => {
    expect(preview().terraform.backend).toEqual({ local: { path: '/state/preview-7.tfstate' } });
  });

  test('overrides: namePrefix, plan, upstream settings, wait', () => {
    const json = preview({
      namePrefix: 'gw',
      prNumber: 123,
      workersPlan: 'paid',
      keyCount: 123,
      geminiBaseUrl: 'https://proxy.example.com/gemini',
      upstreamTimeoutMs: 9_000,
      maxWaitMs: 2_000,
    });
    const script = scriptsByName(json)['gw-worker-preview-123'];
    // 128 environment variables, and the dataset binding, which is none
    expect(script?.bindings).toHaveLength(129);
    expect(script?.bindings.slice(-5, -2).map((b) => b.text)).toEqual([
      'https://proxy.example.com/gemini',
      '9000',
      '2000',
    ]);
  });

  test.each([
    ['free', 60, 59],
    ['paid', 1000, 123],
  ] as const)(
    'on the %s plan a preview of %p keys binds the first %p, and api_keys must still hold them all',
    (plan, keyCount, bound) => {
      const json = preview({ workersPlan: plan, keyCount });
      expect(keyBindings(json)).toEqual(firstKeys(bound));
      // the five fixed bindings, and the dataset
      expect(Object.values(scriptsByName(json))[0]?.bindings).toHaveLength(bound + 6);
      expect(json.output.bound_key_count?.value).toBe(bound);
      expect(JSON.stringify(json.variable.api_keys?.validation)).toContain(`length(var.api_keys) == ${keyCount}`);
    },
  );

  test('keyLimit lowers the keys the preview binds, never raises them', () => {
    const limited = preview({ keyCount: 20, keyLimit: 5 });
    expect(keyBindings(limited)).toEqual(firstKeys(5));
    expect(limited.output.bound_key_count?.value).toBe(5);
    expect(keyBindings(preview({ keyCount: 3, keyLimit: 5 }))).toEqual(firstKeys(3));
    expect(keyBindings(preview({ keyCount: 100, keyLimit: 70 }))).toEqual(firstKeys(59));
  });
});
