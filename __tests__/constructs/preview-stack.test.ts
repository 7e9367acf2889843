import { Testing } from 'cdktf';
import { PreviewStack, type PreviewStackProps } from '../../constructs';
import { fixtureBundles } from '../fixtures/bundles';
import { LOCAL_STATE, resolveScriptRef, scriptsByName, synthJson, type StackJson } from '../fixtures/synth';

function preview(props: Partial<PreviewStackProps> = {}): StackJson {
  const stack = new PreviewStack(Testing.app(), 'preview-7', {
    prNumber: 7,
    keyCount: 20,
    bundle: fixtureBundles.src,
    state: LOCAL_STATE,
    ...props,
  });
  return synthJson(stack);
}

describe('PreviewStack', () => {
  test('defaults: one public worker holding every key as KEY1..KEYN, no orchestrator', () => {
    const json = preview();
    const scripts = scriptsByName(json);
    expect(Object.keys(scripts)).toEqual(['zen-ai-router-worker-preview-7']);
    expect(scripts['zen-ai-router-worker-preview-7']?.bindings.map(b => `${b.name}=${b.text}`)).toEqual([
      ...Array.from({ length: 20 }, (_, i) => `KEY${i + 1}=\${var.api_keys[${i}]}`),
      'PASS=${var.pass}',
      'GEMINI_BASE_URL=https://generativelanguage.googleapis.com',
      'UPSTREAM_TIMEOUT_MS=120000',
    ]);
    expect(Object.values(json.resource.cloudflare_workers_script_subdomain)).toEqual([
      { account_id: '${var.account_id}', script_name: expect.any(String), enabled: true, previews_enabled: false },
    ]);
    expect(resolveScriptRef(json, json.output.public_worker_name?.value ?? '')).toBe('zen-ai-router-worker-preview-7');
  });

  test('defaults: its own local state file, named after the stack', () => {
    expect(preview().terraform.backend).toEqual({ local: { path: '/state/preview-7.tfstate' } });
  });

  test('overrides: namePrefix, plan, upstream settings', () => {
    const json = preview({
      namePrefix: 'gw',
      prNumber: 123,
      workersPlan: 'paid',
      keyCount: 125,
      geminiBaseUrl: 'https://proxy.example.com/gemini',
      upstreamTimeoutMs: 9_000,
    });
    const script = scriptsByName(json)['gw-worker-preview-123'];
    expect(script?.bindings).toHaveLength(128);
    expect(script?.bindings.slice(-2).map(b => b.text)).toEqual(['https://proxy.example.com/gemini', '9000']);
  });

  test('the free plan caps a preview at 61 keys: the one worker holds all of them', () => {
    expect(Object.values(scriptsByName(preview({ keyCount: 61 })))[0]?.bindings).toHaveLength(64);
    expect(() => preview({ keyCount: 62 })).toThrow(
      'keyCount must be an integer from 1 to 61 (the preview worker holds every key; the free Workers plan allows 64 environment variables per worker, 3 of them taken by PASS, GEMINI_BASE_URL, UPSTREAM_TIMEOUT_MS), got 62',
    );
  });
});
