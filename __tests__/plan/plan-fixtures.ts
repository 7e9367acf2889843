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

/** Synthesized JSON opened up for a test's edits: any attribute at any depth. */
// biome-ignore lint/suspicious/noExplicitAny: tests edit synthesized JSON freely, the way any tool could have written it
export type LooseJson = any;

/** A copy of `json` with `change` applied to it (a deep copy first, so fixtures never share state). */
export function edited(json: StackJson, change: (copy: Record<string, LooseJson>) => void): StackJson {
  const copy = JSON.parse(JSON.stringify(json)) as Record<string, LooseJson>;
  change(copy);
  return copy as StackJson;
}

/** Every bundle is 2 KiB after gzip. */
export const twoKiB = (): number => 2048;
