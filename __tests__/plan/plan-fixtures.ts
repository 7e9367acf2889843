/**
 * Synthesized stacks for the deploy summary's tests: the real constructs with the fixture bundles (prod of 20 keys,
 * the preview of pull request 7), as `npm run plan` reads them from `cdktf.out`.
 */
import type { ProdStackProps, PreviewStackProps } from '../../constructs';
import type { StackJson, SynthesizedStack } from '../../scripts/plan/stack-json';
import { previewStack, prodStack, synthJson } from '../fixtures/synth';

export const R2_STATE = {
  kind: 's3',
  bucket: 'zen-state',
  endpoint: 'https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com',
  keyPrefix: 'zen-ai-router',
  region: 'auto',
} as const;

export function synthesized(name: string, json: unknown, dir = '/stacks/none'): SynthesizedStack {
  return { name, dir, json: json as StackJson };
}

/** The prod stack of 20 keys (shards of 8, 8, 4) as synth writes it, unless `props` says otherwise. */
export function prodJson(props: Partial<ProdStackProps> = {}): StackJson {
  return synthJson(prodStack(props)) as unknown as StackJson;
}

export function previewJson(props: Partial<PreviewStackProps> = {}): StackJson {
  return synthJson(previewStack(props)) as unknown as StackJson;
}

/** A copy of `json` with `change` applied to it (a deep copy first, so fixtures never share state). */
export function edited(json: StackJson, change: (copy: Record<string, any>) => void): StackJson {
  const copy = JSON.parse(JSON.stringify(json)) as Record<string, any>;
  change(copy);
  return copy as StackJson;
}

/** Every bundle is 2 KiB after gzip. */
export const twoKiB = (): number => 2048;
