/**
 * Each shard's weight: its share of the pool's quota. Google counts rate limits per project, so with `KEY_PROJECTS`
 * bound a shard weighs the projects it holds (a project split over shards in parts, see `keyLayout`); without it
 * every key is its own project and a shard weighs its key count (`SHARD_KEY_COUNTS`), as before projects.
 *
 * @module
 */
import { type KeyLayout, layoutFromBindings } from '../shared/key-layout';
import { type BoundBackend, type ShardWeights, shardWeights } from './backends';

/** The bindings the weights come from, as bound. */
export interface WeightSettings {
  /** `SHARD_KEY_COUNTS` */
  readonly shardKeyCounts?: unknown;
  /** `KEY_PROJECTS`, bound only when the user set it */
  readonly keyProjects?: unknown;
  /** `KEYS_PER_SHARD`, bound beside `KEY_PROJECTS` */
  readonly keysPerShard?: unknown;
}

/** The weights aligned with the bound backends, and the layout they came from when there is one. */
export interface PoolWeights extends ShardWeights {
  readonly layout?: KeyLayout;
  /** set when `KEY_PROJECTS` is bound but unusable (or names other shards than bound): key counts are used instead */
  readonly layoutFallback?: 'malformed';
}

/**
 * The weights of `backends`: the layout's quota shares when `KEY_PROJECTS` and `KEYS_PER_SHARD` are bound and place
 * exactly the bound shards, else {@link shardWeights} of the key counts, with the reason noted. Never a failed
 * request: a routing skew is better than an outage.
 */
export function poolWeights(settings: WeightSettings, backends: readonly BoundBackend[]): PoolWeights {
  const { keyProjects } = settings;
  if (keyProjects === undefined || keyProjects === null || keyProjects === '') {
    return shardWeights(settings.shardKeyCounts, backends);
  }
  const layout = layoutFromBindings(keyProjects, settings.keysPerShard);
  const highest = backends.reduce((max, b) => Math.max(max, b.index), -1);
  if (layout === undefined || layout.shards.length !== highest + 1) {
    return { ...shardWeights(settings.shardKeyCounts, backends), layoutFallback: 'malformed' };
  }
  return { weights: backends.map((b) => layout.shards[b.index]?.weight ?? 0), layout };
}
