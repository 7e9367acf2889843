import { deployedOutputsOf, diffOutputs } from '../../scripts/plan/outputs-diff';
import { summarizeStack } from '../../scripts/plan/stack-summary';
import { edited, previewJson, prodJson, synthesized } from './plan-fixtures';

describe('deployedOutputsOf', () => {
  test('a cdktf --outputs-file, nested by stack', () => {
    const file = {
      prod: { public_worker_name: 'a', public_worker_url: 'https://a.acme.workers.dev' },
      'preview-7': {},
    };
    expect([...(deployedOutputsOf(file, 'prod') ?? [])]).toEqual([
      ['public_worker_name', 'a'],
      ['public_worker_url', 'https://a.acme.workers.dev'],
    ]);
    expect(deployedOutputsOf(file, 'preview-9')).toBeUndefined();
  });

  test('terraform output -json of one stack; a sensitive output is never read', () => {
    const file = {
      public_worker_name: { sensitive: false, type: 'string', value: 'a' },
      secret: { sensitive: true, type: 'string', value: 'CANARY-never' },
    };
    expect([...(deployedOutputsOf(file, 'prod') ?? [])]).toEqual([['public_worker_name', 'a']]);
    expect(deployedOutputsOf(['x'], 'prod')).toBeUndefined();
  });
});

describe('diffOutputs', () => {
  test('a renamed public worker, a new output, one gone, and the outputs known only at apply', () => {
    const summary = summarizeStack(synthesized('prod', prodJson({ namePrefix: 'gw' })));
    const deployed = new Map<string, unknown>([
      ['public_worker_name', 'zen-ai-router-orchestrator'],
      ['public_worker_url', 'https://zen-ai-router-orchestrator.acme.workers.dev'],
      ['old_output', 1],
    ]);
    expect(diffOutputs(summary, deployed)).toEqual({
      stack: 'prod',
      added: [],
      removed: ['old_output'],
      changed: [{ name: 'public_worker_name', before: 'zen-ai-router-orchestrator', after: 'gw-orchestrator' }],
      notCompared: ['public_worker_url'],
      shards: undefined,
    });
  });

  test("the preview's key count, and the shard count of a shard_layout, as JSON text or as the structure", () => {
    const preview = summarizeStack(synthesized('preview-7', previewJson({ keyLimit: 4 })));
    expect(diffOutputs(preview, new Map([['bound_key_count', 20]])).changed).toEqual([
      { name: 'bound_key_count', before: '20', after: '4' },
    ]);
    const layout = [{ keys: [1] }, { keys: [2] }, { keys: [3] }];
    const prod = summarizeStack(
      synthesized(
        'prod',
        edited(prodJson(), (copy) => {
          copy.output.shard_layout = { value: JSON.stringify(layout) };
        }),
      ),
    );
    expect(diffOutputs(prod, new Map<string, unknown>([['shard_layout', layout]]))).toMatchObject({
      changed: [],
      shards: { before: 3, after: 3 },
    });
    const diff = diffOutputs(prod, new Map<string, unknown>([['shard_layout', layout.slice(0, 2)]]));
    expect(diff.shards).toEqual({ before: 2, after: 3 });
    expect(diff.added).toEqual(['public_worker_name', 'public_worker_url']);
  });
});
