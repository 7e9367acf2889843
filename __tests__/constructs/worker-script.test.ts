/**
 * What every worker script carries whatever its role (constructs/worker-script.ts): the observability block written in
 * full, so a plan after an apply is empty.
 */
import { Testing } from 'cdktf';
import { PreviewStack, ProdStack } from '../../constructs';
import { fixtureBundles } from '../fixtures/bundles';
import { LOCAL_STATE, scriptsByName, synthJson, type ScriptJson } from '../fixtures/synth';

interface Observability {
  readonly enabled: boolean;
  readonly head_sampling_rate?: number;
  readonly logs?: { readonly enabled: boolean; readonly invocation_logs: boolean; readonly head_sampling_rate?: number };
}

const prod = (props: { logSamplingRate?: number } = {}): Record<string, ScriptJson> =>
  scriptsByName(synthJson(new ProdStack(Testing.app(), 'prod', { keyCount: 20, bundles: fixtureBundles, state: LOCAL_STATE, ...props })));

const preview = (props: { logSamplingRate?: number } = {}): Record<string, ScriptJson> =>
  scriptsByName(
    synthJson(new PreviewStack(Testing.app(), 'preview-7', { prNumber: 7, keyCount: 20, bundle: fixtureBundles.src, state: LOCAL_STATE, ...props })),
  );

describe('observability', () => {
  test.each([
    ['default', undefined, 1],
    ['LOG_SAMPLING_RATE 0.25', 0.25, 0.25],
  ])('%s: every script sets the logs sampling rate explicitly, equal to the top-level one', (_, logSamplingRate, expected) => {
    const scripts = { ...prod({ logSamplingRate }), ...preview({ logSamplingRate }) };
    // 4 workers: 3 shards and the orchestrator; plus the preview worker
    expect(Object.keys(scripts)).toHaveLength(5);
    for (const [name, script] of Object.entries(scripts)) {
      const observability = script.observability as Observability;
      expect([name, observability]).toEqual([
        name,
        { enabled: true, head_sampling_rate: expected, logs: { enabled: true, invocation_logs: true, head_sampling_rate: expected } },
      ]);
    }
  });
});
