import type { ProdStackProps } from '../../constructs';
import { prodStack, resolveScriptRef, scriptsByName, synthJson, type StackJson } from '../fixtures/synth';

function prod(props: Partial<ProdStackProps> = {}): StackJson {
  return synthJson(prodStack(props));
}

describe('ProdStack', () => {
  test('defaults: ceil(20 / 8) = 3 private shards of 8, 8 and 4 keys plus a public orchestrator', () => {
    const json = prod();
    const scripts = scriptsByName(json);
    expect(Object.keys(scripts).sort()).toEqual([
      'zen-ai-router-orchestrator',
      'zen-ai-router-worker-0',
      'zen-ai-router-worker-1',
      'zen-ai-router-worker-2',
    ]);
    const keyRefs = (name: string) =>
      scripts[name]?.bindings.filter((b) => b.name.startsWith('KEY')).map((b) => `${b.name}=${b.text}`);
    expect(keyRefs('zen-ai-router-worker-1')).toEqual(
      [8, 9, 10, 11, 12, 13, 14, 15].map((index, j) => `KEY${j + 1}=\${var.api_keys[${index}]}`),
    );
    expect(keyRefs('zen-ai-router-worker-2')).toEqual(
      [16, 17, 18, 19].map((index, j) => `KEY${j + 1}=\${var.api_keys[${index}]}`),
    );
    const exposure = Object.fromEntries(
      Object.values(json.resource.cloudflare_workers_script_subdomain).map((s) => [
        resolveScriptRef(json, s.script_name),
        s.enabled,
      ]),
    );
    expect(exposure).toEqual({
      'zen-ai-router-worker-0': false,
      'zen-ai-router-worker-1': false,
      'zen-ai-router-worker-2': false,
      'zen-ai-router-orchestrator': true,
    });
  });

  test('defaults: account id, keys and password are Terraform variables; only the key count is known at synth', () => {
    const json = prod();
    expect(json.variable.api_keys).toMatchObject({ type: 'list(string)', sensitive: true });
    expect(json.variable.pass).toMatchObject({ type: 'string', sensitive: true });
    expect(json.variable.account_id).toMatchObject({ type: 'string', default: '' });
    expect(JSON.stringify(json.variable.api_keys?.validation)).toContain('length(var.api_keys) == 20');
    expect(Object.values(json.resource.cloudflare_workers_script).map((s) => s.account_id)).toEqual(
      Array(4).fill('${var.account_id}'),
    );
  });

  test('plan-time validations: exactly keyCount non-empty keys, a non-empty pass, an account id naming its variables', () => {
    const json = prod({ keyCount: 12 });
    expect(json.variable.api_keys?.validation).toEqual([
      {
        condition: '${length(var.api_keys) == 12}',
        error_message:
          'api_keys must hold exactly 12 keys (KEY_COUNT at synth): set TF_VAR_api_keys to a JSON array of 12 strings, or synth again with KEY_COUNT set to the number of keys.',
      },
      {
        condition: '${alltrue([for k in var.api_keys : trimspace(k) != ""])}',
        error_message:
          'api_keys must not contain empty or blank strings: every element of TF_VAR_api_keys must be a Gemini API key.',
      },
    ]);
    expect(json.variable.pass?.validation).toEqual([
      {
        condition: '${trimspace(var.pass) != ""}',
        error_message: 'pass must be a non-empty password: set TF_VAR_pass.',
      },
      {
        condition: '${length(var.pass) >= 16}',
        error_message:
          'pass must be at least 16 characters: the gateway blanks the password out of every answer, so a short one would also blank out ordinary text; set TF_VAR_pass to a longer password.',
      },
    ]);
    expect(json.variable.account_id?.validation).toEqual([
      {
        condition: '${can(regex("^[0-9a-f]{32}$", var.account_id))}',
        error_message:
          'account_id must be a Cloudflare account id (32 hex characters): set CLOUDFLARE_ACCOUNT_ID before synth or TF_VAR_account_id before plan.',
      },
    ]);
  });

  test('defaults: outputs the orchestrator name and an empty URL until the workers.dev subdomain is known', () => {
    const json = prod();
    expect(resolveScriptRef(json, json.output.public_worker_name?.value ?? '')).toBe('zen-ai-router-orchestrator');
    expect(json.output.public_worker_url?.value).toMatch(
      /^\$\{var\.workers_dev_subdomain == "" \? "" : "https:\/\/\$\{cloudflare_workers_script\.Orchestrator_[0-9A-F]+\.script_name\}\.\$\{var\.workers_dev_subdomain\}\.workers\.dev"\}$/,
    );
    expect(json.variable.workers_dev_subdomain).toMatchObject({ default: '' });
  });

  test('overrides: keysPerShard, accountId, namePrefix, shardAttempts, shardTimeoutMs, upstream settings, wait, subdomain', () => {
    const json = prod({
      keyCount: 5,
      keysPerShard: 2,
      accountId: '0123456789abcdef0123456789abcdef',
      namePrefix: 'gw',
      shardAttempts: 2,
      shardTimeoutMs: 6_000,
      geminiBaseUrl: 'https://proxy.example.com',
      upstreamTimeoutMs: 5_000,
      maxWaitMs: 500,
      logSamplingRate: 0.1,
      compatibilityDate: '2025-06-01',
      workersDevSubdomain: 'acme',
    });
    const scripts = scriptsByName(json);
    expect(Object.keys(scripts).sort()).toEqual(['gw-orchestrator', 'gw-worker-0', 'gw-worker-1', 'gw-worker-2']);
    expect(scripts['gw-worker-2']?.bindings.map((b) => `${b.name}=${b.text ?? b.dataset}`)).toEqual([
      'KEY1=${var.api_keys[4]}',
      'PASS=${var.pass}',
      'GEMINI_BASE_URL=https://proxy.example.com',
      'UPSTREAM_TIMEOUT_MS=5000',
      'MAX_WAIT_MS=500',
      'CLIENT_TOKENS=${jsonencode(var.client_tokens)}',
      'SHARD_INDEX=2',
      'USAGE=zen_ai_router_usage',
    ]);
    expect(scripts['gw-orchestrator']?.bindings.slice(-3)).toEqual([
      { name: 'SHARD_ATTEMPTS', type: 'plain_text', text: '2' },
      { name: 'SHARD_TIMEOUT_MS', type: 'plain_text', text: '6000' },
      { name: 'SHARD_KEY_COUNTS', type: 'plain_text', text: '2,2,1' },
    ]);
    for (const script of Object.values(scripts)) {
      expect(script).toMatchObject({ compatibility_date: '2025-06-01', observability: { head_sampling_rate: 0.1 } });
    }
    expect(json.variable.account_id?.default).toBe('0123456789abcdef0123456789abcdef');
    expect(json.variable.workers_dev_subdomain?.default).toBe('acme');
  });

  test('workersPlan paid allows more shards than the free plan', () => {
    expect(() => prod({ keyCount: 100, keysPerShard: 1 })).toThrow(
      /at most 100 workers \(the free Workers plan's limit per account/,
    );
    expect(Object.keys(scriptsByName(prod({ keyCount: 100, keysPerShard: 1, workersPlan: 'paid' })))).toHaveLength(101);
  });

  test('the orchestrator weighs each shard by its keys: SHARD_KEY_COUNTS matches the KEY bindings, shard by shard', () => {
    const json = prod({ keyCount: 20 });
    const scripts = scriptsByName(json);
    const orchestrator = scripts['zen-ai-router-orchestrator']?.bindings ?? [];
    const counts = orchestrator
      .find((b) => b.name === 'SHARD_KEY_COUNTS')
      ?.text?.split(',')
      .map(Number);
    const bound = orchestrator
      .filter((b) => b.type === 'service')
      .map(
        (b) =>
          scripts[resolveScriptRef(json, b.service ?? '') ?? '']?.bindings.filter((k) => /^KEY\d+$/.test(k.name))
            .length,
      );
    expect(counts).toEqual([8, 8, 4]);
    expect(bound).toEqual(counts);
  });

  test("each shard's SHARD_INDEX is the n of the orchestrator's BACKEND_SERVICE_<n> that reaches it", () => {
    const json = prod({ keyCount: 20, keysPerShard: 4 });
    const scripts = scriptsByName(json);
    const services = (scripts['zen-ai-router-orchestrator']?.bindings ?? []).filter((b) => b.type === 'service');
    expect(services).toHaveLength(5);
    for (const service of services) {
      const n = /^BACKEND_SERVICE_([0-9]+)$/.exec(service.name)?.[1];
      const shard = scripts[resolveScriptRef(json, service.service ?? '') ?? ''];
      const shardIndex = shard?.bindings.filter((b) => b.name === 'SHARD_INDEX');
      expect({ binding: service.name, shardIndex }).toEqual({
        binding: service.name,
        shardIndex: [{ name: 'SHARD_INDEX', type: 'plain_text', text: n }],
      });
    }
  });

  test("appending a key changes the last shard and the orchestrator's key counts; filling it adds one shard and one orchestrator binding", () => {
    const diff = (before: StackJson, after: StackJson) => {
      const flatten = (json: StackJson) =>
        Object.fromEntries(
          Object.entries(json.resource).flatMap(([type, byId]) =>
            Object.entries(byId as Record<string, unknown>).map(([id, value]) => [
              `${type}.${id}`,
              JSON.stringify(value),
            ]),
          ),
        );
      const [a, b] = [flatten(before), flatten(after)];
      const name = (json: StackJson, address: string) =>
        address.startsWith('cloudflare_workers_script.')
          ? json.resource.cloudflare_workers_script[address.split('.')[1] ?? '']?.script_name
          : address;
      return {
        changed: Object.keys(a)
          .filter((k) => k in b && a[k] !== b[k])
          .map((k) => name(after, k)),
        added: Object.keys(b)
          .filter((k) => !(k in a))
          .map((k) => name(after, k)),
        removed: Object.keys(a).filter((k) => !(k in b)),
      };
    };
    expect(diff(prod({ keyCount: 20 }), prod({ keyCount: 21 }))).toEqual({
      changed: ['zen-ai-router-orchestrator', 'zen-ai-router-worker-2'],
      added: [],
      removed: [],
    });
    const orchestratorOf = (json: StackJson) => scriptsByName(json)['zen-ai-router-orchestrator'];
    const [before, after] = [orchestratorOf(prod({ keyCount: 20 })), orchestratorOf(prod({ keyCount: 21 }))];
    // only the weights change: the same bindings, and nothing else of the script
    expect({ ...after, bindings: after?.bindings.filter((b) => b.name !== 'SHARD_KEY_COUNTS') }).toEqual({
      ...before,
      bindings: before?.bindings.filter((b) => b.name !== 'SHARD_KEY_COUNTS'),
    });
    expect(after?.bindings.at(-1)).toEqual({ name: 'SHARD_KEY_COUNTS', type: 'plain_text', text: '8,8,5' });
    expect(diff(prod({ keyCount: 24 }), prod({ keyCount: 25 }))).toEqual({
      changed: ['zen-ai-router-orchestrator'],
      added: [
        'zen-ai-router-worker-3',
        expect.stringMatching(/^cloudflare_workers_script_subdomain\.Shards_3_Subdomain_/),
      ],
      removed: [],
    });
  });
});
