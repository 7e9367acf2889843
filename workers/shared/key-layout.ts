/**
 * The pool's layout: which keys each shard holds, which Google project each key belongs to, and each shard's share of
 * the pool's quota. Google counts rate limits per project, not per key, so a shard's weight in the orchestrator's
 * draw is the share of the projects it holds, and a project's keys stay in one shard where they fit, so one shard
 * sees (and cools) a project whole.
 *
 * One pure function, {@link keyLayout}, is the single source of truth: synth places keys by it, and every worker
 * recomputes it from the `KEY_PROJECTS` and `KEYS_PER_SHARD` bindings (see {@link layoutFromBindings}). Plain
 * TypeScript with neither Workers nor Node.js types, so both tsconfigs compile it.
 *
 * @module
 */
import { PROJECT_LABEL_PATTERN } from './contract';

/** One shard of the layout. */
export interface LayoutShard {
  /** The global key numbers it holds, 1-based (`KEY13` in logs is the 13th of `TF_VAR_api_keys`), ascending. */
  readonly keys: readonly number[];
  /** The project label of each of `keys`, aligned with it. */
  readonly projects: readonly string[];
  /** Its share of the pool's quota: over the projects it holds, their keys here over their keys in the pool. */
  readonly weight: number;
}

/** The whole pool's layout. */
export interface KeyLayout {
  /** In shard order: entry i is the shard bound as `BACKEND_SERVICE_<i>` (with `SHARD_INDEX` i). */
  readonly shards: readonly LayoutShard[];
  /** Every key's project label in global key order; {@link implicitLabel}s when the user declared none. */
  readonly labels: readonly string[];
  /** Whether the labels are the user's (`KEY_PROJECTS`) rather than one implicit project per key. */
  readonly declared: boolean;
  /** How many distinct projects the pool holds: the sum of the shards' weights. */
  readonly projectCount: number;
}

/** One project's part in one shard: the unit a shard ranks and cools. */
export interface ShardProject {
  readonly label: string;
  /** Its global key numbers in this shard, ascending. */
  readonly keys: readonly number[];
  /** Its share of the pool's quota held here: its keys here over its keys in the pool (1 unless it is split). */
  readonly weight: number;
}

/** The label of key n (1-based) when the user declared no projects: every key is its own project. */
export function implicitLabel(keyNumber: number): string {
  return `key${keyNumber}`;
}

const LABEL = new RegExp(PROJECT_LABEL_PATTERN);

/** Whether `label` is a valid project label. */
export function isProjectLabel(label: string): boolean {
  return LABEL.test(label);
}

export type KeyProjectsParse =
  | { readonly ok: true; readonly labels: readonly string[] | undefined }
  | { readonly ok: false; readonly problem: string };

/** `KEY_PROJECTS` text as its labels, trimmed, in key order. */
export function splitKeyProjects(text: string): string[] {
  return text.split(',').map((label) => label.trim());
}

/**
 * Why `labels` are not valid project labels, naming the setting, the rule and the first bad label (quoted only when
 * it is short and printable); undefined when every label is valid.
 */
export function projectLabelsProblem(setting: string, labels: readonly string[]): string | undefined {
  const bad = labels.findIndex((label) => !isProjectLabel(label));
  if (bad < 0) return undefined;
  const label = labels[bad] ?? '';
  const shown = /^[!-~]{1,40}$/.test(label) ? JSON.stringify(label) : `a label of ${label.length} characters`;
  return (
    `${setting} label ${bad + 1} is ${label === '' ? 'empty' : shown}; labels are 1 to 32 lowercase letters, ` +
    `digits, "_" or "-", starting with a letter or digit (${PROJECT_LABEL_PATTERN}), comma-separated, one per key`
  );
}

/** Why `labels` do not give one label per key of a pool of `keyCount`; undefined when they do. */
export function projectCountProblem(
  fields: { readonly keyProjects: string; readonly keyCount: string },
  labels: readonly string[],
  keyCount: number,
): string | undefined {
  if (labels.length === keyCount) return undefined;
  return `${fields.keyProjects} has ${labels.length} labels for ${fields.keyCount}=${keyCount}; give one project label per key, in key order`;
}

/**
 * Reads `KEY_PROJECTS` ("a,a,b": one label per key, in key order) for a pool of `keyCount` keys. Empty or absent
 * means undefined (every key its own project). The problem names the setting, the rule and the value received.
 */
export function parseKeyProjects(
  text: string | undefined,
  keyCount: number,
  fields = { keyProjects: 'KEY_PROJECTS', keyCount: 'KEY_COUNT' },
): KeyProjectsParse {
  if (text === undefined || text.trim() === '') return { ok: true, labels: undefined };
  const labels = splitKeyProjects(text);
  const problem = projectLabelsProblem(fields.keyProjects, labels) ?? projectCountProblem(fields, labels, keyCount);
  return problem === undefined ? { ok: true, labels } : { ok: false, problem };
}

/** Each project's global key numbers, ascending, in the order projects first appear. */
function projectKeys(labels: readonly string[]): Map<string, number[]> {
  const keys = new Map<string, number[]>();
  labels.forEach((label, i) => {
    const list = keys.get(label);
    if (list === undefined) keys.set(label, [i + 1]);
    else list.push(i + 1);
  });
  return keys;
}

/**
 * Bins of key numbers: a project larger than a shard fills whole shards first, then every project (or remainder) is
 * placed whole, largest first (ties in key order), in the first shard with room. With one key per project this is
 * exactly the sequential layout. The shards are then ordered by their first key, so shard 0 holds key 1.
 */
function packKeys(groups: Map<string, number[]>, keysPerShard: number): number[][] {
  const bins: number[][] = [];
  const pieces: number[][] = [];
  for (const keys of groups.values()) {
    let rest = keys;
    while (rest.length > keysPerShard) {
      bins.push(rest.slice(0, keysPerShard));
      rest = rest.slice(keysPerShard);
    }
    pieces.push(rest);
  }
  // a stable sort: equal sizes keep the order of their first keys
  pieces.sort((a, b) => b.length - a.length);
  for (const piece of pieces) {
    const bin = bins.find((b) => b.length + piece.length <= keysPerShard);
    if (bin === undefined) bins.push([...piece]);
    else bin.push(...piece);
  }
  for (const bin of bins) bin.sort((a, b) => a - b);
  return bins.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
}

function assertLayoutInput(labels: readonly string[] | undefined, keyCount: number, keysPerShard: number): void {
  if (!Number.isInteger(keyCount) || keyCount < 0)
    throw new RangeError(`keyCount must be an integer >= 0, got ${keyCount}`);
  if (!Number.isInteger(keysPerShard) || keysPerShard < 1) {
    throw new RangeError(`keysPerShard must be an integer >= 1, got ${keysPerShard}`);
  }
  if (labels !== undefined && labels.length !== keyCount) {
    throw new RangeError(`labels has ${labels.length} entries for ${keyCount} keys`);
  }
}

/**
 * The layout of `keyCount` keys over shards of at most `keysPerShard` keys. `labels` (one per key, in key order) name
 * each key's project; undefined means every key is its own project, and the layout is the sequential one (shard i =
 * keys i*k+1 .. i*k+k). A project of at most `keysPerShard` keys sits in one shard; a larger one fills whole shards
 * and its remainder is placed like a smaller project. Deterministic: the same input gives the same layout.
 *
 * @throws RangeError when the counts are not positive integers or `labels` does not hold one label per key
 */
export function keyLayout(labels: readonly string[] | undefined, keyCount: number, keysPerShard: number): KeyLayout {
  assertLayoutInput(labels, keyCount, keysPerShard);
  const named = labels ?? Array.from({ length: keyCount }, (_, i) => implicitLabel(i + 1));
  const groups = projectKeys(named);
  const shards = packKeys(groups, keysPerShard).map((keys): LayoutShard => {
    const projects = keys.map((n) => named[n - 1] ?? '');
    const weight = shardProjectsOf(keys, projects, groups).reduce((sum, p) => sum + p.weight, 0);
    return { keys, projects, weight };
  });
  return { shards, labels: named, declared: labels !== undefined, projectCount: groups.size };
}

function shardProjectsOf(
  keys: readonly number[],
  projects: readonly string[],
  groups: ReadonlyMap<string, readonly number[]>,
): ShardProject[] {
  const held = new Map<string, number[]>();
  keys.forEach((n, i) => {
    const label = projects[i] ?? '';
    const list = held.get(label);
    if (list === undefined) held.set(label, [n]);
    else list.push(n);
  });
  return [...held].map(([label, here]) => ({
    label,
    keys: here,
    weight: here.length / (groups.get(label)?.length ?? here.length),
  }));
}

/**
 * The projects of `shard` in the order of their first key, each with its keys here and its share of the pool's
 * quota held here. `layout` is the layout the shard belongs to (it knows each project's keys in the whole pool).
 */
export function shardProjects(layout: KeyLayout, shard: LayoutShard): ShardProject[] {
  return shardProjectsOf(shard.keys, shard.projects, projectKeys(layout.labels));
}

/**
 * The layout a worker reads from its `KEY_PROJECTS` and `KEYS_PER_SHARD` bindings (both as bound, plain text), or
 * undefined when they are absent or unusable (the worker then keeps its one-project-per-key behaviour). An isolate
 * serves many requests with the same bindings, so the last layout is kept and returned while they stay the same.
 */
export function layoutFromBindings(keyProjects: unknown, keysPerShard: unknown): KeyLayout | undefined {
  if (typeof keyProjects !== 'string' || typeof keysPerShard !== 'string') return undefined;
  if (cached !== undefined && cached.keyProjects === keyProjects && cached.keysPerShard === keysPerShard) {
    return cached.layout;
  }
  const layout = computedLayout(keyProjects, keysPerShard);
  cached = { keyProjects, keysPerShard, layout };
  return layout;
}

let cached: { readonly keyProjects: string; readonly keysPerShard: string; readonly layout?: KeyLayout } | undefined;

function computedLayout(keyProjects: string, keysPerShard: string): KeyLayout | undefined {
  if (!/^[1-9][0-9]{0,5}$/.test(keysPerShard.trim())) return undefined;
  const parsed = parseKeyProjects(keyProjects, splitKeyProjects(keyProjects).length);
  if (!parsed.ok || parsed.labels === undefined) return undefined;
  return keyLayout(parsed.labels, parsed.labels.length, Number(keysPerShard.trim()));
}
