/** Worker script names: one place, so config validation and the stacks can never disagree. */
import { keyLayout } from '../workers/shared/key-layout';

export const DEFAULT_NAME_PREFIX = 'zen-ai-router';

export function shardScriptName(prefix: string, index: number): string {
  return `${prefix}-worker-${index}`;
}

export function orchestratorScriptName(prefix: string): string {
  return `${prefix}-orchestrator`;
}

export function previewScriptName(prefix: string, prNumber: number): string {
  return `${prefix}-worker-preview-${prNumber}`;
}

/**
 * N = ceil(keys / keysPerShard): every shard but the last is full, so appending keys only touches the tail. With
 * `keyProjects` (one label per key), the layout's shard count: projects kept whole may leave room in a shard.
 */
export function shardCount(keyCount: number, keysPerShard: number, keyProjects?: readonly string[]): number {
  if (keyProjects === undefined) return Math.ceil(keyCount / keysPerShard);
  return keyLayout(keyProjects, keyCount, keysPerShard).shards.length;
}
