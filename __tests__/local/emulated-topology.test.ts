import { createHash } from 'node:crypto';
import {
  backendScripts,
  buildTopology,
  requiredApiKeyCount,
  type TopologyOptions,
} from '../../scripts/local/emulated-topology';
import { STAND_IN_SCRIPT, supportWorkers } from '../../scripts/local/analytics-engine';
import { defined } from '../helpers/guards';

const STACK_DIR = '/fixture/cdktf.out/stacks/prod';
const SRC_CODE = 'export default { fetch() { return new Response("src"); } };';
const ORCH_CODE = 'export default { fetch() { return new Response("orchestrator"); } };';
const sha = (code: string): string => createHash('sha256').update(code).digest('hex');
const FILES: Record<string, string> = {
  [`${STACK_DIR}/assets/src/src.js`]: SRC_CODE,
  [`${STACK_DIR}/assets/orch/orchestrator.js`]: ORCH_CODE,
};

/** The parts of a synthesized stack the emulation reads; optional where a test deletes or adds them. */
type Binding = {
  name: string;
  type: string;
  text?: string;
  service?: string;
  environment?: string;
  namespace_id?: string;
  entrypoint?: string;
};
type Script = {
  '//'?: unknown;
  account_id?: string;
  script_name: string;
  content_file: string;
  content_sha256: string;
  main_module?: string;
  compatibility_date?: string;
  compatibility_flags?: string[];
  observability?: { enabled: boolean };
  assets?: { directory: string };
  bindings: Binding[];
};
type Subdomain = { enabled: boolean; script_name: string };
type Stack = {
  variable: Record<string, { sensitive: boolean; type: string }>;
  resource: {
    cloudflare_workers_script: { Shards_0: Script; Shards_1: Script; Orchestrator: Script };
    cloudflare_workers_script_subdomain: {
      Shards_0_Subdomain: Subdomain;
      Shards_1_Subdomain: Subdomain;
      Orchestrator_Subdomain: Subdomain;
    };
  };
};

/** The `i`-th binding of a script, which the fixture below is known to declare. */
const bindingAt = (script: Script, i: number): Binding =>
  defined(script.bindings[i], `binding ${i} of ${script.script_name}`);

function shard(i: number, keys: number[]): Script {
  return {
    '//': { metadata: { path: `prod/Shards/${i}/Resource` } },
    account_id: '${var.account_id}',
    script_name: `zen-ai-router-worker-${i}`,
    content_file: 'assets/src/src.js',
    content_sha256: sha(SRC_CODE),
    main_module: 'src.js',
    compatibility_date: '2026-04-20',
    observability: { enabled: true },
    bindings: [
      ...keys.map((k, j) => ({ name: `KEY${j + 1}`, type: 'secret_text', text: `\${var.api_keys[${k}]}` })),
      { name: 'PASS', type: 'secret_text', text: '${var.pass}' },
      { name: 'GEMINI_BASE_URL', type: 'plain_text', text: 'https://generativelanguage.googleapis.com' },
    ],
  };
}

/** The shape INFRA's ProdStack synthesizes (see /tmp contracts): two shards of two keys and an orchestrator. */
function prodStack(): Stack {
  return {
    variable: { api_keys: { sensitive: true, type: 'list(string)' }, pass: { sensitive: true, type: 'string' } },
    resource: {
      cloudflare_workers_script: {
        Shards_0: shard(0, [0, 1]),
        Shards_1: shard(1, [2, 3]),
        Orchestrator: {
          script_name: 'zen-ai-router-orchestrator',
          content_file: 'assets/orch/orchestrator.js',
          content_sha256: sha(ORCH_CODE),
          main_module: 'orchestrator.js',
          compatibility_date: '2026-04-20',
          compatibility_flags: ['nodejs_compat'],
          bindings: [
            {
              name: 'BACKEND_SERVICE_0',
              type: 'service',
              service: '${cloudflare_workers_script.Shards_0.script_name}',
              environment: 'production',
            },
            {
              name: 'BACKEND_SERVICE_1',
              type: 'service',
              service: '${cloudflare_workers_script.Shards_1.script_name}',
              environment: 'production',
            },
            { name: 'SHARD_ATTEMPTS', type: 'plain_text', text: '1' },
          ],
        },
      },
      cloudflare_workers_script_subdomain: {
        Shards_0_Subdomain: { enabled: false, script_name: '${cloudflare_workers_script.Shards_0.script_name}' },
        Shards_1_Subdomain: { enabled: false, script_name: '${cloudflare_workers_script.Shards_1.script_name}' },
        Orchestrator_Subdomain: { enabled: true, script_name: '${cloudflare_workers_script.Orchestrator.script_name}' },
      },
    },
  };
}

const SECRETS = { apiKeys: ['canary-k0', 'canary-k1', 'canary-k2', 'canary-k3'], pass: 'canary-pass' };

function options(overrides: Partial<TopologyOptions> = {}): TopologyOptions {
  return {
    stackDir: STACK_DIR,
    secrets: SECRETS,
    readFile: (path) => {
      const code = FILES[path];
      if (code === undefined) throw new Error(`ENOENT: ${path}`);
      return new TextEncoder().encode(code);
    },
    ...overrides,
  };
}

describe('buildTopology', () => {
  it('emulates every script, public worker first, with secrets indexed as Terraform would', () => {
    const topology = buildTopology(prodStack(), options());
    expect(topology.workers.map((w) => w.scriptName)).toEqual([
      'zen-ai-router-orchestrator',
      'zen-ai-router-worker-0',
      'zen-ai-router-worker-1',
    ]);
    expect(topology.publicWorker.scriptName).toBe('zen-ai-router-orchestrator');
    const shard1 = defined(topology.workers[2], 'the worker of shard 1');
    expect(shard1.isPublic).toBe(false);
    expect(shard1.options.bindings).toEqual({
      KEY1: 'canary-k2',
      KEY2: 'canary-k3',
      PASS: 'canary-pass',
      GEMINI_BASE_URL: 'https://generativelanguage.googleapis.com',
    });
    expect(shard1.apiKeyIndexes).toEqual({ KEY1: 2, KEY2: 3 });
    expect(shard1.options.compatibilityDate).toBe('2026-04-20');
    expect(shard1.options.modules).toEqual([{ type: 'ESModule', path: `${STACK_DIR}/src.js`, contents: SRC_CODE }]);
    expect(shard1.options.modulesRoot).toBe(STACK_DIR);
  });

  it('wires service bindings to the sibling worker named by the reference', () => {
    const topology = buildTopology(prodStack(), options());
    expect(topology.publicWorker.options.serviceBindings).toEqual({
      BACKEND_SERVICE_0: 'zen-ai-router-worker-0',
      BACKEND_SERVICE_1: 'zen-ai-router-worker-1',
    });
    expect(topology.publicWorker.options.bindings).toEqual({ SHARD_ATTEMPTS: '1' });
    expect(topology.publicWorker.options.compatibilityFlags).toEqual(['nodejs_compat']);
    expect([...backendScripts(topology)]).toEqual([
      [0, 'zen-ai-router-worker-0'],
      [1, 'zen-ai-router-worker-1'],
    ]);
  });

  it('serves a preview-style stack (one public worker, no service bindings) directly', () => {
    const stack = {
      ...prodStack(),
      resource: {
        cloudflare_workers_script: { Worker: shard(0, [0, 1, 2, 3]) },
        cloudflare_workers_script_subdomain: {
          Worker_Subdomain: { enabled: true, script_name: '${cloudflare_workers_script.Worker.script_name}' },
        },
      },
    };
    const topology = buildTopology(stack, options());
    expect(topology.workers).toHaveLength(1);
    expect(topology.publicWorker.apiKeyIndexes).toEqual({ KEY1: 0, KEY2: 1, KEY3: 2, KEY4: 3 });
    expect(backendScripts(topology).size).toBe(0);
  });

  it('replaces an existing plain_text binding from plainTextOverrides but never adds one', () => {
    const topology = buildTopology(
      prodStack(),
      options({ plainTextOverrides: { GEMINI_BASE_URL: 'http://127.0.0.1:9', NEW: 'x' } }),
    );
    const shard0 = defined(topology.workers[1], 'the worker of shard 0');
    expect(shard0.options.bindings).toMatchObject({ GEMINI_BASE_URL: 'http://127.0.0.1:9' });
    expect(shard0.options.bindings).not.toHaveProperty('NEW');
    expect(topology.publicWorker.options.bindings).toEqual({ SHARD_ATTEMPTS: '1' });
  });

  it('unescapes Terraform $${ literals in plain text', () => {
    const stack = prodStack();
    bindingAt(stack.resource.cloudflare_workers_script.Orchestrator, 2).text = 'cost $${5}';
    expect(buildTopology(stack, options()).publicWorker.options.bindings).toEqual({ SHARD_ATTEMPTS: 'cost ${5}' });
  });

  it('uses the service-worker format when main_module is absent', () => {
    const stack = prodStack();
    delete stack.resource.cloudflare_workers_script.Shards_0.main_module;
    const worker = defined(buildTopology(stack, options()).workers[1], 'the worker of shard 0');
    expect(worker.options.modules).toBeUndefined();
    expect(worker.options.script).toBe(SRC_CODE);
  });

  describe('throws, naming resource and attribute', () => {
    const fails = (
      mutate: (stack: Stack) => void,
      message: string | RegExp,
      opts: Partial<TopologyOptions> = {},
    ): void => {
      const stack = prodStack();
      mutate(stack);
      expect(() => buildTopology(stack, options(opts))).toThrow(message);
    };
    const scripts = (stack: Stack): Stack['resource']['cloudflare_workers_script'] =>
      stack.resource.cloudflare_workers_script;

    it('when a binding type cannot be emulated', () => {
      fails(
        (s) => scripts(s).Shards_1.bindings.push({ name: 'CACHE', type: 'kv_namespace', namespace_id: 'abc' }),
        'cloudflare_workers_script.Shards_1.bindings[4].type is "kv_namespace", which the local emulation does not support (supported: secret_text, plain_text, service)',
      );
    });

    it('when a binding carries an attribute it would drop', () => {
      fails(
        (s) => (bindingAt(scripts(s).Orchestrator, 0).entrypoint = 'Admin'),
        'cloudflare_workers_script.Orchestrator.bindings[0].entrypoint is not supported for a service binding by the local emulation',
      );
    });

    it('when a text is an expression other than var.api_keys[i] or var.pass', () => {
      fails(
        (s) => (bindingAt(scripts(s).Shards_0, 3).text = '${var.gemini_url}'),
        'cloudflare_workers_script.Shards_0.bindings[3].text is the Terraform expression "${var.gemini_url}", which cannot be emulated',
      );
    });

    it('when TF_VAR_api_keys is shorter than the keys the stack reads', () => {
      fails(
        () => undefined,
        'cloudflare_workers_script.Shards_1.bindings[1].text reads var.api_keys[3], but TF_VAR_api_keys holds 3 keys',
        { secrets: { apiKeys: ['a', 'b', 'c'], pass: 'p' } },
      );
    });

    it('when a service reference names a script outside the stack', () => {
      fails(
        (s) => (bindingAt(scripts(s).Orchestrator, 1).service = '${cloudflare_workers_script.Gone.script_name}'),
        'cloudflare_workers_script.Orchestrator.bindings[1].service references cloudflare_workers_script.Gone, which is not in this stack',
      );
      fails(
        (s) => (bindingAt(scripts(s).Orchestrator, 1).service = 'some-other-worker'),
        'cloudflare_workers_script.Orchestrator.bindings[1].service names the worker "some-other-worker", which is not in this stack and cannot be emulated',
      );
    });

    it('when the bundle does not match content_sha256', () => {
      fails(
        (s) => (scripts(s).Shards_0.content_sha256 = 'f'.repeat(64)),
        `cloudflare_workers_script.Shards_0.content_sha256 is ${'f'.repeat(64)} but the bundle's SHA-256 is ${sha(SRC_CODE)}: synth again`,
      );
    });

    it('when content_file cannot be read', () => {
      fails(
        (s) => (scripts(s).Shards_0.content_file = 'assets/missing.js'),
        /^cloudflare_workers_script\.Shards_0\.content_file: cannot read \/fixture\/cdktf\.out\/stacks\/prod\/assets\/missing\.js/,
      );
    });

    it('when a script attribute changes runtime behaviour the emulation lacks', () => {
      fails(
        (s) => (scripts(s).Orchestrator.assets = { directory: 'public' }),
        'cloudflare_workers_script.Orchestrator.assets is not supported by the local emulation',
      );
    });

    it('when compatibility_date is missing', () => {
      fails(
        (s) => delete scripts(s).Shards_0.compatibility_date,
        'cloudflare_workers_script.Shards_0.compatibility_date is missing; workerd needs one to pick runtime behaviour',
      );
    });

    it('when no worker, or more than one, is public', () => {
      fails(
        (s) => (s.resource.cloudflare_workers_script_subdomain.Orchestrator_Subdomain.enabled = false),
        'expected exactly one cloudflare_workers_script_subdomain with enabled = true to pick the worker served locally, found 0',
      );
      fails((s) => (s.resource.cloudflare_workers_script_subdomain.Shards_0_Subdomain.enabled = true), /found 2$/);
    });

    it('when the stack has no worker at all', () => {
      expect(() => buildTopology({ resource: {} }, options())).toThrow(
        'the stack declares no cloudflare_workers_script',
      );
    });
  });
});

describe('requiredApiKeyCount', () => {
  it('is the highest var.api_keys index read, plus one', () => {
    expect(requiredApiKeyCount(prodStack())).toBe(4);
    expect(requiredApiKeyCount({ resource: {} })).toBe(0);
  });
});

describe('client tokens', () => {
  const withTokens = (): Stack => {
    const stack = prodStack();
    for (const id of ['Shards_0', 'Shards_1'] as const) {
      stack.resource.cloudflare_workers_script[id].bindings.push({
        name: 'CLIENT_TOKENS',
        type: 'secret_text',
        text: '${jsonencode(var.client_tokens)}',
      });
    }
    return stack;
  };

  it('binds ${jsonencode(var.client_tokens)} as Terraform encodes TF_VAR_client_tokens: sorted, <>& escaped', () => {
    const topology = buildTopology(
      withTokens(),
      options({ secrets: { ...SECRETS, clientTokens: { zed: 'canary-z<>&', alice: 'canary-a' } } }),
    );
    expect(topology.workers[1]?.options.bindings).toMatchObject({
      CLIENT_TOKENS: '{"alice":"canary-a","zed":"canary-z\\u003c\\u003e\\u0026"}',
    });
    expect(topology.workers[1]?.apiKeyIndexes).toEqual({ KEY1: 0, KEY2: 1 });
  });

  it("binds the variable's default, an empty map, without TF_VAR_client_tokens", () => {
    expect(buildTopology(withTokens(), options()).workers[2]?.options.bindings).toMatchObject({ CLIENT_TOKENS: '{}' });
  });

  it('still refuses any other expression over client_tokens', () => {
    const stack = withTokens();
    defined(stack.resource.cloudflare_workers_script.Shards_0.bindings.at(-1), 'the CLIENT_TOKENS binding').text =
      '${jsonencode(var.client_tokens)}x';
    expect(() => buildTopology(stack, options())).toThrow(
      'cloudflare_workers_script.Shards_0.bindings[4].text is the Terraform expression "${jsonencode(var.client_tokens)}x", which cannot be emulated',
    );
  });
});

describe('Analytics Engine datasets', () => {
  const metered = (): Stack => {
    const stack = prodStack();
    for (const script of [
      stack.resource.cloudflare_workers_script.Shards_0,
      stack.resource.cloudflare_workers_script.Shards_1,
    ]) {
      script.bindings.push({ name: 'USAGE', type: 'analytics_engine', dataset: 'zen_ai_router_usage' } as never);
    }
    return stack;
  };

  it('binds each to the in-memory stand-in, which the emulation adds as a worker of its own', () => {
    const topology = buildTopology(metered(), options());
    const shard0 = defined(topology.workers[1], 'the worker of shard 0');
    expect(shard0.options.wrappedBindings).toEqual({
      USAGE: { scriptName: STAND_IN_SCRIPT, bindings: { dataset: 'zen_ai_router_usage' } },
    });
    expect(shard0.options.bindings).not.toHaveProperty('USAGE');
    expect(topology.publicWorker.options.wrappedBindings).toBeUndefined();
    const support = supportWorkers(topology.workers.map((w) => w.options));
    expect(support.map((w) => w.name)).toEqual([STAND_IN_SCRIPT]);
    // the stand-in's module, bundled: a function of the binding's settings returning the dataset
    const [module] = (support[0]?.modules ?? []) as { contents: string }[];
    expect(module?.contents).toMatch(/export\s*\{[^}]*as default/);
  });

  it('adds no stand-in to a stack that binds no dataset', () => {
    expect(supportWorkers(buildTopology(prodStack(), options()).workers.map((w) => w.options))).toEqual([]);
  });

  it('throws on an attribute of the binding it would drop', () => {
    const stack = metered();
    const usage = defined(stack.resource.cloudflare_workers_script.Shards_0.bindings.at(-1), 'the dataset binding');
    (usage as Binding).namespace_id = 'x';
    expect(() => buildTopology(stack, options())).toThrow(
      'cloudflare_workers_script.Shards_0.bindings[4].namespace_id is not supported for a analytics_engine binding by the local emulation',
    );
  });
});
