import { Testing } from 'cdktf';
import { PreviewStack, ProdStack } from '../../constructs';
import { fixtureBundles } from '../fixtures/bundles';
import { LOCAL_STATE, synthJson, type StackJson } from '../fixtures/synth';

/** One line per binding keeps the change detector short enough to review. */
function compact(json: StackJson): unknown {
  const scripts = Object.fromEntries(
    Object.entries(json.resource.cloudflare_workers_script).map(([id, script]) => [
      id,
      {
        ...script,
        bindings: script.bindings.map((b) =>
          [b.name, b.type, b.text ?? b.service, b.environment].filter((part) => part !== undefined).join(' '),
        ),
      },
    ]),
  );
  return { ...json, resource: { ...json.resource, cloudflare_workers_script: scripts } };
}

describe('synthesized stacks (change detectors, built from fixture bundles)', () => {
  test('prod with 20 keys', () => {
    const app = Testing.stubVersion(Testing.app());
    expect(
      compact(synthJson(new ProdStack(app, 'prod', { keyCount: 20, bundles: fixtureBundles, state: LOCAL_STATE }))),
    ).toMatchSnapshot();
  });

  test('preview-7 with 20 keys', () => {
    const app = Testing.stubVersion(Testing.app());
    const stack = new PreviewStack(app, 'preview-7', {
      prNumber: 7,
      keyCount: 20,
      bundle: fixtureBundles.shard,
      state: LOCAL_STATE,
    });
    expect(compact(synthJson(stack))).toMatchSnapshot();
  });
});
