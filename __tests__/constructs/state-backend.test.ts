import { TerraformStack, Testing } from 'cdktf';
import { addStateBackend } from '../../constructs';
import { expectedR2Backend } from '../fixtures/synth';

function backendOf(stackName: string, state: Parameters<typeof addStateBackend>[1]) {
  const stack = new TerraformStack(Testing.app(), stackName);
  addStateBackend(stack, state);
  return (JSON.parse(Testing.synth(stack)) as { terraform: Record<string, unknown> }).terraform;
}

describe('addStateBackend', () => {
  test('R2: Cloudflare documented S3 settings, a per-stack key, a lock file and no credentials', () => {
    const terraform = backendOf('preview-12', {
      kind: 's3',
      bucket: 'tf-state',
      endpoint: 'https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com',
      keyPrefix: 'zen-ai-router',
      region: 'auto',
    });
    expect(terraform.backend).toEqual(
      expectedR2Backend('tf-state', 'zen-ai-router/preview-12.tfstate', '0123456789abcdef0123456789abcdef'),
    );
    expect(terraform.required_version).toBe('>= 1.11.0');
  });

  test('local: <dir>/<stack>.tfstate', () => {
    expect(backendOf('prod', { kind: 'local', dir: '/srv/state' }).backend).toEqual({
      local: { path: '/srv/state/prod.tfstate' },
    });
  });
});
