/**
 * What every worker script carries whatever its role (constructs/worker-script.ts): the observability block written in
 * full, so a plan after an apply is empty, and the optional Smart Placement of the shard workers.
 */
import { Testing } from 'cdktf';
import { ShardWorker } from '../../constructs';
import { fixtureBundles } from '../fixtures/bundles';
import { defined } from '../helpers/guards';
import { previewStack, prodStack, scriptsByName, secretInputs, synthJson, type ScriptJson } from '../fixtures/synth';

interface Observability {
  readonly enabled: boolean;
  readonly head_sampling_rate?: number;
  readonly logs?: {
    readonly enabled: boolean;
    readonly invocation_logs: boolean;
    readonly head_sampling_rate?: number;
  };
}

const prod = (props: { logSamplingRate?: number; smartPlacement?: boolean } = {}): Record<string, ScriptJson> =>
  scriptsByName(synthJson(prodStack(props)));

const preview = (props: { logSamplingRate?: number; smartPlacement?: boolean } = {}): Record<string, ScriptJson> =>
  scriptsByName(synthJson(previewStack(props)));

describe('observability', () => {
  test.each([
    ['default', undefined, 1],
    ['LOG_SAMPLING_RATE 0.25', 0.25, 0.25],
  ])(
    '%s: every script sets the logs sampling rate explicitly, equal to the top-level one',
    (_, logSamplingRate, expected) => {
      const scripts = { ...prod({ logSamplingRate }), ...preview({ logSamplingRate }) };
      // 4 workers: 3 shards and the orchestrator; plus the preview worker
      expect(Object.keys(scripts)).toHaveLength(5);
      for (const [name, script] of Object.entries(scripts)) {
        const observability = script.observability as Observability;
        expect([name, observability]).toEqual([
          name,
          {
            enabled: true,
            head_sampling_rate: expected,
            logs: { enabled: true, invocation_logs: true, head_sampling_rate: expected },
          },
        ]);
      }
    },
  );
});

describe('smartPlacement', () => {
  test('off by default: no script has a placement block at all (not even an empty one)', () => {
    for (const [name, script] of Object.entries({ ...prod(), ...preview() })) {
      expect([name, 'placement' in script]).toEqual([name, false]);
    }
  });

  test('prod: every shard runs with placement mode "smart", the orchestrator stays where the client is', () => {
    const scripts = prod({ smartPlacement: true });
    const shards = Object.keys(scripts).filter((name) => /^zen-ai-router-worker-\d+$/.test(name));
    expect(shards).toEqual(['zen-ai-router-worker-0', 'zen-ai-router-worker-1', 'zen-ai-router-worker-2']);
    for (const name of shards) expect([name, scripts[name]?.placement]).toEqual([name, { mode: 'smart' }]);
    expect('placement' in defined(scripts['zen-ai-router-orchestrator'], 'the orchestrator script')).toBe(false);
  });

  test('preview: the one worker gets it too', () => {
    expect(preview({ smartPlacement: true })['zen-ai-router-worker-preview-7']?.placement).toEqual({ mode: 'smart' });
  });

  test('an explicit false is the same as leaving it out', () => {
    expect(prod({ smartPlacement: false })).toEqual(prod());
  });

  test('a single ShardWorker takes the prop directly', () => {
    const json = JSON.parse(
      Testing.synthScope((scope) => {
        const { apiKeys, pass, clientTokens } = secretInputs(scope);
        new ShardWorker(scope, 'Shard', {
          accountId: '0123456789abcdef0123456789abcdef',
          scriptName: 'zen-ai-router-worker-0',
          bundle: fixtureBundles.shard,
          apiKeys,
          firstKeyIndex: 0,
          keyCount: 2,
          pass,
          clientTokens,
          smartPlacement: true,
        });
      }),
    ) as { resource: { cloudflare_workers_script: Record<string, ScriptJson> } };
    expect(Object.values(json.resource.cloudflare_workers_script).map((s) => s.placement)).toEqual([{ mode: 'smart' }]);
  });
});
