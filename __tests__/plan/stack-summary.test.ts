import { layoutProjects, summarizeStack } from '../../scripts/plan/stack-summary';
import { keyNumbersOf } from '../../scripts/plan/worker-summary';
import { R2_STATE, edited, previewJson, prodJson, synthesized, twoKiB, type LooseJson } from './plan-fixtures';

describe('summarizeStack: prod with 20 keys', () => {
  const summary = summarizeStack(
    synthesized('prod', prodJson({ state: R2_STATE, workersDevSubdomain: 'acme' })),
    twoKiB,
  );

  test('one public orchestrator first, then three private shards by index', () => {
    expect(summary.workers.map((w) => [w.scriptName, w.role, w.shardIndex, w.workersDev])).toEqual([
      ['zen-ai-router-orchestrator', 'orchestrator', undefined, { enabled: true, previews: false }],
      ['zen-ai-router-worker-0', 'shard', 0, { enabled: false, previews: false }],
      ['zen-ai-router-worker-1', 'shard', 1, { enabled: false, previews: false }],
      ['zen-ai-router-worker-2', 'shard', 2, { enabled: false, previews: false }],
    ]);
    expect(summary.workers.map((w) => w.url)).toEqual([
      'https://zen-ai-router-orchestrator.acme.workers.dev',
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('each shard holds its global key numbers, read from the key references', () => {
    const shards = summary.workers.filter((w) => w.role === 'shard');
    expect(shards.map((w) => w.keys)).toEqual([
      [1, 2, 3, 4, 5, 6, 7, 8],
      [9, 10, 11, 12, 13, 14, 15, 16],
      [17, 18, 19, 20],
    ]);
    expect(shards.every((w) => w.projects === undefined)).toBe(true);
  });

  test('bindings by name and type only: a secret is `secret`, a service names the worker it calls', () => {
    const [orchestrator, shard0] = summary.workers;
    expect(orchestrator?.bindings).toEqual([
      { name: 'BACKEND_SERVICE_0', type: 'service', calls: 'zen-ai-router-worker-0' },
      { name: 'BACKEND_SERVICE_1', type: 'service', calls: 'zen-ai-router-worker-1' },
      { name: 'BACKEND_SERVICE_2', type: 'service', calls: 'zen-ai-router-worker-2' },
      { name: 'SHARD_ATTEMPTS', type: 'plain_text' },
      { name: 'SHARD_TIMEOUT_MS', type: 'plain_text' },
      { name: 'SHARD_KEY_COUNTS', type: 'plain_text' },
    ]);
    expect(orchestrator?.shardAttempts).toBe(3);
    expect(orchestrator?.envVars).toBe(3);
    expect(shard0?.bindings.slice(0, 2)).toEqual([
      { name: 'KEY1', type: 'secret' },
      { name: 'KEY2', type: 'secret' },
    ]);
    expect(shard0?.bindings.find((b) => b.name === 'PASS')).toEqual({ name: 'PASS', type: 'secret' });
    // every binding is an environment variable but the usage dataset
    expect(shard0?.bindings.at(-1)).toEqual({ name: 'USAGE', type: 'analytics_engine' });
    expect(shard0?.envVars).toBe((shard0?.bindings.length ?? 0) - 1);
    expect(JSON.stringify(summary)).not.toMatch(/var\.api_keys|var\.pass|client_tokens\)/);
  });

  test('code: main module, content hash and gzip size of each bundle', () => {
    const [orchestrator, shard0] = summary.workers;
    expect(orchestrator?.code).toMatchObject({ mainModule: 'orchestrator.js', gzipBytes: 2048 });
    expect(shard0?.code.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(shard0?.code.file).toMatch(/shard\.js$/);
  });

  test('outputs as synth knows them, the R2 backend without credentials, the required versions', () => {
    expect(summary.outputs).toEqual([
      { name: 'public_worker_name', description: 'the worker clients call', value: 'zen-ai-router-orchestrator' },
      {
        name: 'public_worker_url',
        description: 'workers.dev URL of the public worker; empty until workers_dev_subdomain is set',
        value: '(computed at apply)',
      },
    ]);
    expect(summary.backend).toEqual({
      kind: 's3',
      bucket: 'zen-state',
      key: 'zen-ai-router/prod.tfstate',
      region: 'auto',
      endpoint: R2_STATE.endpoint,
    });
    expect(summary.requires).toEqual({ terraform: '>= 1.11.0', cloudflareProvider: '5.14.0' });
    expect([summary.routes, summary.policies, summary.otherResources]).toEqual([[], [], []]);
  });

  test('local state names its path', () => {
    expect(summarizeStack(synthesized('prod', prodJson())).backend).toEqual({
      kind: 'local',
      path: '/state/prod.tfstate',
    });
  });
});

describe('summarizeStack: the preview', () => {
  test('one public worker holding the first keys, and its bound_key_count', () => {
    const summary = summarizeStack(synthesized('preview-7', previewJson({ keyLimit: 5 })));
    expect(summary.workers).toHaveLength(1);
    expect(summary.workers[0]).toMatchObject({
      scriptName: 'zen-ai-router-worker-preview-7',
      role: 'preview',
      workersDev: { enabled: true, previews: false },
      url: 'https://zen-ai-router-worker-preview-7.<subdomain>.workers.dev',
      keys: [1, 2, 3, 4, 5],
    });
    expect(summary.outputs.find((o) => o.name === 'bound_key_count')?.value).toBe('5');
  });
});

describe('projects', () => {
  const labels = ['a', 'a', 'a', 'b', 'b', 'c', 'c', 'c', 'c', 'c', 'd', 'd', 'd', 'd', 'd', 'd', 'e', 'e', 'e', 'e'];

  test("from a KEY_PROJECTS binding (the pool in key order): each shard lists its keys' projects once", () => {
    const json = edited(prodJson(), (copy) => {
      for (const script of Object.values<Record<string, LooseJson>>(copy.resource.cloudflare_workers_script))
        script.bindings.push({ name: 'KEY_PROJECTS', type: 'plain_text', text: labels.join(',') });
    });
    const shards = summarizeStack(synthesized('prod', json)).workers.filter((w) => w.role === 'shard');
    expect(shards.map((w) => w.projects)).toEqual([['a', 'b', 'c'], ['c', 'd'], ['e']]);
  });

  test('from a literal shard_layout output, which wins over the binding', () => {
    const layout = [
      { shard: 0, keys: [1, 2, 3, 4, 5, 6, 7, 8], projects: ['p', 'p', 'p', 'p', 'q', 'q', 'q', 'q'] },
      { shard: 1, keys: [9, 10, 11, 12, 13, 14, 15, 16], projects: Array(8).fill('r') },
      { shard: 2, keys: [17, 18, 19, 20], projects: ['s', 's', 't', 't'] },
    ];
    const json = edited(prodJson(), (copy) => {
      copy.output.shard_layout = { value: JSON.stringify(layout) };
    });
    const summary = summarizeStack(synthesized('prod', json));
    expect(summary.workers.filter((w) => w.role === 'shard').map((w) => w.projects)).toEqual([
      ['p', 'q'],
      ['r'],
      ['s', 't'],
    ]);
  });

  test('layoutProjects reads the shapes a layout may take, and nothing from others', () => {
    expect([...layoutProjects([{ keys: [1, 2], labels: ['x', 'y'] }])]).toEqual([
      [1, 'x'],
      [2, 'y'],
    ]);
    expect([...layoutProjects({ shards: [[{ globalKey: 3, project: 'z' }]] })]).toEqual([[3, 'z']]);
    expect(layoutProjects('${local.layout}').size).toBe(0);
    expect(layoutProjects([{ keys: [1, 2], projects: ['only one'] }]).size).toBe(0);
  });
});

describe('everything else a deploy creates', () => {
  const json = edited(prodJson(), (copy) => {
    copy.resource.cloudflare_workers_route = {
      Route: { pattern: 'ai.example.com/*', script: '${cloudflare_workers_script.Orchestrator_6EF1216F.script_name}' },
    };
    copy.resource.cloudflare_workers_custom_domain = {
      Domain: { hostname: 'gw.example.com', service: 'zen-ai-router-orchestrator' },
    };
    copy.resource.cloudflare_r2_bucket = { Logs: { name: 'logs' } };
  });
  const summary = summarizeStack(synthesized('prod', json));

  test('routes and custom domains name their worker; other resources are listed by address', () => {
    expect(summary.routes).toEqual([
      { kind: 'route', pattern: 'ai.example.com/*', worker: expect.any(String) },
      { kind: 'custom domain', pattern: 'gw.example.com', worker: 'zen-ai-router-orchestrator' },
    ]);
    expect(summary.otherResources).toEqual(['cloudflare_r2_bucket.Logs']);
  });

  test('a usage alert: its type and filters, and how many destinations, never their addresses', () => {
    const alerted = summarizeStack(
      synthesized(
        'prod',
        prodJson({ workersPlan: 'paid', usageAlert: { emails: ['ops@example.com', 'b@example.com'], webhookIds: [] } }),
      ),
    );
    expect(alerted.policies).toEqual([
      {
        address: expect.stringMatching(/^cloudflare_notification_policy\./),
        name: 'zen-ai-router: Workers requests over 10,000,000',
        alertType: 'billing_usage_alert',
        enabled: true,
        filters: { product: ['worker_requests'], limit: ['10000000'] },
        destinations: { email: 2 },
      },
    ]);
    expect(JSON.stringify(alerted)).not.toContain('example.com');
  });
});

test('keyNumbersOf reads only KEY<n> secrets holding a key reference', () => {
  expect(
    keyNumbersOf([
      { name: 'KEY1', type: 'secret_text', text: '${var.api_keys[12]}' },
      { name: 'KEY2', type: 'plain_text', text: '${var.api_keys[13]}' },
      { name: 'PASS', type: 'secret_text', text: '${var.api_keys[0]}' },
      { name: 'KEY3', type: 'secret_text', text: 'literal' },
    ]),
  ).toEqual([13]);
});
