import { Testing } from 'cdktf';
import { WorkersScript } from '@cdktf/provider-cloudflare/lib/workers-script';
import { Orchestrator, ShardWorker, type OrchestratorProps } from '../../constructs';
import { fixtureBundles } from '../fixtures/bundles';
import { resolveScriptRef, secretInputs, type StackJson } from '../fixtures/synth';

/** An orchestrator over three shards of 8, 8 and 4 keys. */
function synthOrchestrator(overrides: Partial<Omit<OrchestratorProps, 'backends'>> = {}): string {
  return Testing.synthScope((scope) => {
    const { apiKeys, pass, clientTokens } = secretInputs(scope);
    const shards = [8, 8, 4].map(
      (keyCount, i) =>
        new ShardWorker(scope, `Shard${i}`, {
          accountId: 'acc',
          scriptName: `w-${i}`,
          bundle: fixtureBundles.shard,
          apiKeys,
          pass,
          clientTokens,
          firstKeyIndex: i * 8,
          keyCount,
        }),
    );
    new Orchestrator(scope, 'Orchestrator', {
      accountId: 'acc',
      scriptName: 'zen-ai-router-orchestrator',
      bundle: fixtureBundles.orchestrator,
      backends: shards,
      ...overrides,
    });
  });
}

describe('Orchestrator', () => {
  test('defaults: one production service binding per shard, by reference and in order, then SHARD_ATTEMPTS=3, SHARD_TIMEOUT_MS=310000 and the key counts', () => {
    const synth = synthOrchestrator();
    expect(synth).toHaveResourceWithProperties(WorkersScript, {
      script_name: 'zen-ai-router-orchestrator',
      main_module: 'orchestrator.js',
      content_sha256: fixtureBundles.orchestrator.sha256,
      compatibility_date: '2026-04-20',
      observability: {
        enabled: true,
        head_sampling_rate: 1,
        logs: { enabled: true, invocation_logs: true, head_sampling_rate: 1 },
      },
    });
    const json = JSON.parse(synth) as StackJson;
    const orchestrator = Object.values(json.resource.cloudflare_workers_script).find(
      (s) => s.script_name === 'zen-ai-router-orchestrator',
    );
    expect(
      orchestrator?.bindings.map((b) => ({ ...b, service: b.service && resolveScriptRef(json, b.service) })),
    ).toEqual([
      { name: 'BACKEND_SERVICE_0', type: 'service', environment: 'production', service: 'w-0' },
      { name: 'BACKEND_SERVICE_1', type: 'service', environment: 'production', service: 'w-1' },
      { name: 'BACKEND_SERVICE_2', type: 'service', environment: 'production', service: 'w-2' },
      { name: 'SHARD_ATTEMPTS', type: 'plain_text', text: '3', service: undefined },
      { name: 'SHARD_TIMEOUT_MS', type: 'plain_text', text: '310000', service: undefined },
      { name: 'SHARD_KEY_COUNTS', type: 'plain_text', text: '8,8,4', service: undefined },
    ]);
  });

  test('defaults: public on workers.dev without preview URLs', () => {
    const json = JSON.parse(synthOrchestrator()) as StackJson;
    const subdomains = Object.values(json.resource.cloudflare_workers_script_subdomain);
    expect(subdomains.find((s) => resolveScriptRef(json, s.script_name) === 'zen-ai-router-orchestrator')).toEqual({
      account_id: 'acc',
      script_name: expect.any(String),
      enabled: true,
      previews_enabled: false,
    });
  });

  test('override shardAttempts and shardTimeoutMs', () => {
    const json = JSON.parse(synthOrchestrator({ shardAttempts: 1, shardTimeoutMs: 45_000 })) as StackJson;
    const script = Object.values(json.resource.cloudflare_workers_script).find((s) =>
      s.script_name.includes('orchestrator'),
    );
    expect(script?.bindings.slice(-3, -1)).toEqual([
      { name: 'SHARD_ATTEMPTS', type: 'plain_text', text: '1' },
      { name: 'SHARD_TIMEOUT_MS', type: 'plain_text', text: '45000' },
    ]);
  });

  test('SHARD_KEY_COUNTS follows the backends, any worker with a keyCount, zero included', () => {
    const json = JSON.parse(
      Testing.synthScope((scope) => {
        new Orchestrator(scope, 'Orchestrator', {
          accountId: 'acc',
          scriptName: 'o',
          bundle: fixtureBundles.orchestrator,
          backends: [
            { scriptName: 'a', keyCount: 3 },
            { scriptName: 'b', keyCount: 0 },
            { scriptName: 'c', keyCount: 61 },
          ],
        });
      }),
    ) as StackJson;
    const [script] = Object.values(json.resource.cloudflare_workers_script);
    expect(script?.bindings.at(-1)).toEqual({ name: 'SHARD_KEY_COUNTS', type: 'plain_text', text: '3,0,61' });
  });

  test('override publicOnWorkersDev false', () => {
    const json = JSON.parse(synthOrchestrator({ publicOnWorkersDev: false })) as StackJson;
    const subdomains = Object.values(json.resource.cloudflare_workers_script_subdomain);
    expect(subdomains.map((s) => s.enabled)).toEqual([false, false, false, false]);
  });

  test('override logSamplingRate and compatibilityDate', () => {
    expect(synthOrchestrator({ logSamplingRate: 0.5, compatibilityDate: '2025-01-02' })).toHaveResourceWithProperties(
      WorkersScript,
      {
        script_name: 'zen-ai-router-orchestrator',
        compatibility_date: '2025-01-02',
        observability: {
          enabled: true,
          head_sampling_rate: 0.5,
          logs: { enabled: true, invocation_logs: true, head_sampling_rate: 0.5 },
        },
      },
    );
  });
});
