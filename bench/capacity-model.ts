/**
 * The pure parts of the capacity benchmark (`bench/capacity.ts`): its seeded open-loop load, the physical limit its
 * figures are judged against, its per-key statistics and its options. Nothing here touches a clock or a socket.
 */

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * mulberry32, a small seeded PRNG: the same seed gives every configuration of a cell the same arrival times, so the
 * configurations differ only in how the gateway treats the load.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One seed per (run seed, key count, load), so adding a cell does not change the arrivals of another. */
export function cellSeed(seed: number, keys: number, loadPercent: number): number {
  let h = 2166136261;
  for (const n of [seed, keys, loadPercent]) {
    h = Math.imul(h ^ (n >>> 0), 16777619) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
  }
  return h;
}

/**
 * Arrival times, in ms from the start, of a Poisson process of `ratePerSecond` over `durationMs`: independent
 * exponential gaps. Open loop: when a request is sent never depends on how earlier ones fared.
 */
export function poissonArrivals(ratePerSecond: number, durationMs: number, random: Random): number[] {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond))
    throw new RangeError(`ratePerSecond must be positive, got ${ratePerSecond}`);
  const meanGapMs = 1000 / ratePerSecond;
  const arrivals: number[] = [];
  for (let t = -Math.log(1 - random()) * meanGapMs; t < durationMs; t += -Math.log(1 - random()) * meanGapMs) {
    arrivals.push(t);
  }
  return arrivals;
}

/**
 * The share of requests a perfect global scheduler could serve without making any request wait, when Poisson
 * arrivals of mean `offered` per window meet a hard pooled capacity of `capacity` calls per fixed window: whatever it
 * does, the X - C requests beyond the capacity of a window are lost, so it serves E[min(X, C)] / L = 1 - E[(X - C)+] / L
 * with X ~ Poisson(L). Summed exactly over the Poisson pmf, in log space so a large L does not underflow e^-L.
 */
export function perfectSchedulerSuccess(offered: number, capacity: number): number {
  if (!(offered > 0) || !Number.isFinite(offered))
    throw new RangeError(`offered must be a positive number, got ${offered}`);
  if (!Number.isSafeInteger(capacity) || capacity < 0)
    throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
  // E[min(X, C)] = sum_{k<C} k p(k) + C P(X >= C)
  let logP = -offered;
  let below = 0;
  let servedBelow = 0;
  for (let k = 0; k < capacity; k++) {
    if (k > 0) logP += Math.log(offered) - Math.log(k);
    const p = Math.exp(logP);
    below += p;
    servedBelow += k * p;
  }
  return (servedBelow + capacity * Math.max(0, 1 - below)) / offered;
}

/**
 * The same bound for the arrivals a cell actually sent: a perfect scheduler serves min(n_w, C) of the n_w requests
 * sent in window w. A short run's windows can be luckier or unluckier than the expectation, so this, not
 * {@link perfectSchedulerSuccess}, is the ceiling a configuration could have reached in that cell.
 *
 * @param windows - the window index each request was sent in
 */
export function realizedPerfectSuccess(windows: readonly number[], capacity: number): number {
  if (windows.length === 0) throw new RangeError('windows must hold one entry per request, got none');
  const perWindow = new Map<number, number>();
  for (const w of windows) perWindow.set(w, (perWindow.get(w) ?? 0) + 1);
  let served = 0;
  for (const n of perWindow.values()) served += Math.min(n, capacity);
  return served / windows.length;
}

export interface LoadSpread {
  readonly max: number;
  readonly mean: number;
  /** the busiest key's load over the mean; 1 when every key is offered the same */
  readonly maxOverMean: number;
}

/** How evenly the calls were spread; `callsPerKey` holds one entry per key of the pool, zeros included. */
export function loadSpread(callsPerKey: readonly number[]): LoadSpread {
  if (callsPerKey.length === 0) throw new RangeError('callsPerKey must hold one entry per key, got none');
  const max = Math.max(...callsPerKey);
  const mean = callsPerKey.reduce((sum, n) => sum + n, 0) / callsPerKey.length;
  return { max, mean, maxOverMean: mean === 0 ? Number.NaN : max / mean };
}

// ---------------------------------------------------------------------------------------------------------------
// projects

/** The largest pool a project layout may describe: what synth places on the paid plan in a few seconds. */
const MAX_LAYOUT_KEYS = 200;
const LAYOUT_TERM = /^([1-9][0-9]{0,2})(?:x([1-9][0-9]{0,2}))?$/;

/**
 * One project label per key (`p1`, `p2`, ... in key order) for a layout written as terms joined by `+`, each
 * `<keys>x<projects>` or `<keys>` for one project: `10+1x10` is one project of 10 keys and then 10 projects of one key
 * (issue 22's pool, 20 keys in 11 projects), `2x10` ten projects of 2 keys. Undefined when `spec` is not such a layout
 * or describes more than 200 keys.
 */
export function projectLayoutLabels(spec: string): string[] | undefined {
  const labels: string[] = [];
  let projects = 0;
  for (const term of spec.trim().split('+')) {
    const match = LAYOUT_TERM.exec(term.trim());
    if (match === null) return undefined;
    const size = Number(match[1]);
    const count = Number(match[2] ?? '1');
    if (labels.length + size * count > MAX_LAYOUT_KEYS) return undefined;
    for (let project = 0; project < count; project++) {
      projects++;
      for (let key = 0; key < size; key++) labels.push(`p${projects}`);
    }
  }
  return labels;
}

/** How many calls each project of the pool received, in the order projects first appear; `labels` as for keys. */
export function callsPerProject(labels: readonly string[], callsPerKey: readonly number[]): number[] {
  const projects = new Map<string, number>();
  for (const [i, label] of labels.entries()) projects.set(label, (projects.get(label) ?? 0) + (callsPerKey[i] ?? 0));
  return [...projects.values()];
}

// ---------------------------------------------------------------------------------------------------------------
// options

/** The gateway configurations compared side by side (see docs/benchmarks.md, "Capacity"). */
export const CAPACITY_CONFIGS = ['defaults', 'uniform', 'uniform-reroute', 'round-robin', 'defaults-wait'] as const;
export type CapacityConfig = (typeof CAPACITY_CONFIGS)[number];

/**
 * How a pool of several projects is deployed: with `KEY_PROJECTS` declared (the defaults for such a pool), or without
 * (every key its own project, the gateway's behaviour before projects), against the same fake Google that counts per
 * project.
 */
export const PROJECT_CONFIGS = ['declared', 'undeclared'] as const;
export type ProjectConfig = (typeof PROJECT_CONFIGS)[number];

/**
 * `wall`: the emulated prod topology in workerd, on the wall clock. `virtual`: the same synthesized workers' code and
 * bindings in this process, each request handled whole at its arrival time on a simulated clock (the fake's quota
 * windows read it too), so the figures do not depend on how busy the machine is; latency is not measured then.
 */
export const CAPACITY_CLOCKS = ['wall', 'virtual'] as const;
export type CapacityClock = (typeof CAPACITY_CLOCKS)[number];

/**
 * Whether the fake's 429 states the quota's limit (`quotaValue`): Google's per-minute 429s sometimes do and sometimes
 * do not, and a shard presumes projects spent from it when it does (`workers/shard/core/spent-projects.ts`).
 */
export const QUOTA_VALUES = ['stated', 'omitted'] as const;
export type QuotaValue = (typeof QUOTA_VALUES)[number];

export interface CapacityOptions {
  /** arrivals per cell, in seconds */
  readonly seconds: number;
  /** calls per key, per model, per window the fake allows */
  readonly limit: number;
  readonly windowMs: number;
  /** offered load in % of the pooled limit */
  readonly loads: readonly number[];
  /** pool sizes, every key its own project, each split into shards of {@link CapacityOptions.keysPerShard}; empty skips them */
  readonly keySets: readonly number[];
  readonly keysPerShard: number;
  /** empty runs only the isolate measurement */
  readonly configs: readonly CapacityConfig[];
  /** the loads `defaults-wait` runs at */
  readonly waitLoads: readonly number[];
  /** MAX_WAIT_MS bound on the shards by `defaults-wait` */
  readonly maxWaitMs: number;
  /** copies per shard the isolate measurement compares with 1 copy; empty skips it */
  readonly copies: readonly number[];
  /** the loads of the isolate measurement (first key set only); empty skips it */
  readonly isolateLoads: readonly number[];
  readonly seed: number;
  /** pools of several projects (see {@link projectLayoutLabels}); empty skips them */
  readonly projects: readonly string[];
  /** how each project pool is deployed */
  readonly projectConfigs: readonly ProjectConfig[];
  readonly clock: CapacityClock;
  /** whether the fake's 429s state the limit */
  readonly quotaValue: QuotaValue;
}

export const DEFAULT_CAPACITY_OPTIONS: CapacityOptions = {
  seconds: 15,
  limit: 4,
  windowMs: 1000,
  loads: [50, 80, 95, 110],
  keySets: [20, 9],
  keysPerShard: 8,
  configs: CAPACITY_CONFIGS,
  waitLoads: [95],
  maxWaitMs: 2000,
  copies: [4],
  isolateLoads: [80, 95],
  seed: 1,
  projects: ['10+1x10', '2x10'],
  projectConfigs: PROJECT_CONFIGS,
  clock: 'wall',
  quotaValue: 'stated',
};

export class CapacityOptionError extends Error {
  override readonly name = 'CapacityOptionError';
}

function integerIn(raw: string, min: number, max: number): number | undefined {
  const n = Number(raw.trim());
  return raw.trim() !== '' && Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

function integer(where: string, raw: string, min: number, max: number): number {
  const n = integerIn(raw, min, max);
  if (n === undefined)
    throw new CapacityOptionError(`${where} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

function integerList(where: string, raw: string, min: number, max: number, allowEmpty: boolean): number[] {
  if (raw.trim() === '' && allowEmpty) return [];
  const list = raw.split(',').map((part) => integerIn(part, min, max));
  if (list.some((n) => n === undefined)) {
    throw new CapacityOptionError(
      `${where} must be a comma-separated list of integers from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return list as number[];
}

function configList(where: string, raw: string): CapacityConfig[] {
  if (raw.trim() === '') return [];
  const configs = raw.split(',').map((c) => c.trim());
  if (configs.some((c) => !(CAPACITY_CONFIGS as readonly string[]).includes(c))) {
    throw new CapacityOptionError(
      `${where} must be a comma-separated list of ${CAPACITY_CONFIGS.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  }
  return configs as CapacityConfig[];
}

function oneOf<T extends string>(allowed: readonly T[]): (where: string, raw: string) => T {
  return (where, raw) => {
    const value = raw.trim();
    if (!(allowed as readonly string[]).includes(value))
      throw new CapacityOptionError(`${where} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
    return value as T;
  };
}

function listOf<T extends string>(allowed: readonly T[]): (where: string, raw: string) => T[] {
  return (where, raw) => {
    if (raw.trim() === '') return [];
    const values = raw.split(',').map((v) => v.trim());
    if (values.some((v) => !(allowed as readonly string[]).includes(v))) {
      throw new CapacityOptionError(
        `${where} must be a comma-separated list of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`,
      );
    }
    return values as T[];
  };
}

function layoutList(where: string, raw: string): string[] {
  if (raw.trim() === '') return [];
  const specs = raw.split(',').map((spec) => spec.trim());
  if (specs.some((spec) => projectLayoutLabels(spec) === undefined)) {
    throw new CapacityOptionError(
      `${where} must be a comma-separated list of layouts such as 10+1x10 (one project of 10 keys, then 10 projects ` +
        `of one key; at most ${MAX_LAYOUT_KEYS} keys each), got ${JSON.stringify(raw)}`,
    );
  }
  return specs;
}

interface OptionSpec<T> {
  readonly env: string;
  /** `--seconds 3` or `--seconds=3` */
  readonly flag: string;
  /** an empty environment variable means this value rather than unset */
  readonly empty?: T;
  readonly parse: (where: string, raw: string) => T;
}

const OPTIONS: { readonly [K in keyof CapacityOptions]: OptionSpec<CapacityOptions[K]> } = {
  seconds: { env: 'CAPACITY_SECONDS', flag: '--seconds', parse: (w, r) => integer(w, r, 1, 3600) },
  limit: { env: 'CAPACITY_LIMIT', flag: '--limit', parse: (w, r) => integer(w, r, 1, 1000) },
  windowMs: { env: 'CAPACITY_WINDOW_MS', flag: '--window-ms', parse: (w, r) => integer(w, r, 100, 600_000) },
  loads: { env: 'CAPACITY_LOADS', flag: '--loads', parse: (w, r) => integerList(w, r, 1, 500, false) },
  keySets: { env: 'CAPACITY_KEYS', flag: '--keys', empty: [], parse: (w, r) => integerList(w, r, 1, 200, true) },
  keysPerShard: { env: 'CAPACITY_KEYS_PER_SHARD', flag: '--keys-per-shard', parse: (w, r) => integer(w, r, 1, 60) },
  configs: { env: 'CAPACITY_CONFIGS', flag: '--configs', empty: [], parse: configList },
  waitLoads: {
    env: 'CAPACITY_WAIT_LOADS',
    flag: '--wait-loads',
    empty: [],
    parse: (w, r) => integerList(w, r, 1, 500, true),
  },
  maxWaitMs: { env: 'CAPACITY_MAX_WAIT_MS', flag: '--max-wait-ms', parse: (w, r) => integer(w, r, 0, 60_000) },
  copies: { env: 'CAPACITY_COPIES', flag: '--copies', empty: [], parse: (w, r) => integerList(w, r, 2, 32, true) },
  isolateLoads: {
    env: 'CAPACITY_ISOLATE_LOADS',
    flag: '--isolate-loads',
    empty: [],
    parse: (w, r) => integerList(w, r, 1, 500, true),
  },
  seed: { env: 'CAPACITY_SEED', flag: '--seed', parse: (w, r) => integer(w, r, 0, 2 ** 32 - 1) },
  projects: { env: 'CAPACITY_PROJECTS', flag: '--projects', empty: [], parse: layoutList },
  projectConfigs: {
    env: 'CAPACITY_PROJECT_CONFIGS',
    flag: '--project-configs',
    empty: [],
    parse: listOf(PROJECT_CONFIGS),
  },
  clock: { env: 'CAPACITY_CLOCK', flag: '--clock', parse: oneOf(CAPACITY_CLOCKS) },
  quotaValue: { env: 'CAPACITY_QUOTA_VALUE', flag: '--quota-value', parse: oneOf(QUOTA_VALUES) },
};

/**
 * The options of one run: defaults, then `CAPACITY_*` environment variables, then flags. An empty variable counts as
 * unset, except that an empty list of key sets, configurations, wait loads, copies, isolate loads, project layouts or
 * project configurations turns that part off.
 *
 * @throws CapacityOptionError naming the variable or flag, the allowed values and the value received
 */
export function parseCapacityOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CapacityOptions {
  const out: Record<string, unknown> = { ...DEFAULT_CAPACITY_OPTIONS };
  const specs = Object.entries(OPTIONS) as [keyof CapacityOptions, OptionSpec<unknown>][];
  for (const [name, spec] of specs) {
    const raw = env[spec.env];
    if (raw === undefined) continue;
    if (raw.trim() === '') {
      if (spec.empty !== undefined) out[name] = spec.empty;
      continue;
    }
    out[name] = spec.parse(spec.env, raw);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const entry = specs.find(([, spec]) => spec.flag === flag);
    if (entry === undefined) {
      throw new CapacityOptionError(
        `unknown argument ${JSON.stringify(arg)}; flags: ${specs.map(([, spec]) => spec.flag).join(', ')}`,
      );
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new CapacityOptionError(`${flag} needs a value`);
    out[entry[0]] = entry[1].parse(flag as string, value);
  }
  return out as unknown as CapacityOptions;
}
