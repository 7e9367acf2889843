/**
 * Benchmark 7: capacity. Does a pool of rate-limited keys behave like one endpoint with their summed capacity?
 *
 * The prod stack as `cdktf synth` writes it runs against the fake Gemini, which allows each project `limit` calls per
 * model per fixed window and answers Google's quota 429 beyond (`dev/fake-gemini/rate-limit.ts`). Two kinds of pool:
 * - key sets (`--keys`, 20 keys = shards of 8, 8, 4; 9 keys = 8, 1), every key its own project, compared across
 *   routing configurations that differ only in bindings or shard code (`bench/capacity-topology.ts`);
 * - project layouts (`--projects`, e.g. `10+1x10`: one project of 10 keys and 10 of one key, issue 22's pool), where
 *   several keys share one project's quota, synthesized with `KEY_PROJECTS` (declared) and without (undeclared, the
 *   gateway's per-key behaviour from before projects), against the same fake that counts per project.
 * Open-loop Poisson arrivals from a seeded PRNG offer 50, 80, 95 and 110 % of the pooled limit (projects × limit);
 * every configuration of a cell sees the same arrival times, each in a fresh gateway (cooldowns start empty). Each
 * cell is judged against what a perfect global scheduler without waiting could serve (`perfectSchedulerSuccess`).
 *
 * A third part runs each shard as 1 and as n separate workers behind a random spreader, as Cloudflare runs many
 * isolates of one worker, each with its own cooldowns, and counts the extra 429s Google sees.
 *
 * `--clock virtual` runs the same synthesized workers in this process on a simulated clock (`./capacity-virtual`):
 * figures that do not depend on how busy the machine is.
 *
 * `npx tsx bench/capacity.ts [--seconds 3] [--loads 80,95] [--keys 20] [--projects 10+1x10] [--clock virtual] ...`;
 * every flag also reads a `CAPACITY_*` variable (see `parseCapacityOptions`). Progress goes to stderr, tables to
 * stdout.
 */
import { startFakeGemini } from '../dev/fake-gemini';
import { fakeProjects } from '../scripts/local/key-projects';
import { BENCH_PASS } from './bench-topology';
import { runVirtualCell, runWallCell, type CellPlan, type CellResult, type Upstream } from './capacity-cell';
import {
  CAPACITY_CONFIGS,
  cellSeed,
  parseCapacityOptions,
  projectLayoutLabels,
  type CapacityConfig,
  type CapacityOptions,
  type ProjectConfig,
} from './capacity-model';
import {
  defaultsText,
  percent,
  printIsolates,
  printPoolTables,
  shardLayoutText,
  type IsolateRow,
} from './capacity-report';
import {
  ROUND_ROBIN_WORKER,
  synthesizeProd,
  variantWorkers,
  type SynthesizedProd,
  type Variant,
} from './capacity-topology';
import { fmt, runBenchmark } from './stats';

function label(config: CapacityConfig, options: CapacityOptions): string {
  switch (config) {
    case 'defaults':
      return 'defaults';
    case 'uniform':
      return 'uniform';
    case 'uniform-reroute':
      return 'uniform + re-route';
    case 'round-robin':
      return 'old worker (round robin)';
    case 'defaults-wait':
      return `defaults + ${fmt(options.maxWaitMs / 1000, 0)} s wait`;
  }
}

const PROJECT_LABELS: Readonly<Record<ProjectConfig, string>> = {
  declared: 'KEY_PROJECTS set (defaults)',
  undeclared: 'no KEY_PROJECTS (per key, as before)',
};

/** What each configuration changes in the synthesized stack. */
function variantOf(config: CapacityConfig, prod: SynthesizedProd, options: CapacityOptions): Variant {
  // equal weights: the orchestrator picks shards uniformly, whatever keys they hold
  const uniform = prod.shardKeyCounts.map(() => '1').join(',');
  switch (config) {
    case 'defaults':
      return {};
    case 'uniform':
      return { orchestratorBindings: { SHARD_KEY_COUNTS: uniform, SHARD_ATTEMPTS: '1' } };
    case 'uniform-reroute':
      return { orchestratorBindings: { SHARD_KEY_COUNTS: uniform, SHARD_ATTEMPTS: '3' } };
    case 'round-robin':
      return {
        orchestratorBindings: { SHARD_KEY_COUNTS: uniform, SHARD_ATTEMPTS: '1' },
        shardCode: ROUND_ROBIN_WORKER,
      };
    case 'defaults-wait':
      return { shardBindings: { MAX_WAIT_MS: String(options.maxWaitMs) } };
  }
}

function progress(text: string): void {
  process.stderr.write(`capacity: ${text}\n`);
}

/** One column of a pool's tables: a synthesized stack, how it is varied, and the loads it runs at. */
interface Deployment {
  readonly id: string;
  readonly label: string;
  readonly prod: SynthesizedProd;
  readonly variant: Variant;
  readonly loads: readonly number[];
}

/** The cell on the clock the run asked for. */
function runCell(
  upstream: Upstream,
  prod: SynthesizedProd,
  variant: Variant,
  plan: CellPlan,
  options: CapacityOptions,
): Promise<CellResult> {
  return options.clock === 'virtual'
    ? runVirtualCell(upstream, prod, variant, plan, options)
    : runWallCell(upstream, prod, variantWorkers(prod.topology, variant), plan, options);
}

/** Whether a variant can run on this clock: the simulated clock runs no other shard code and cannot wait. */
function runsOn(variant: Variant, options: CapacityOptions): boolean {
  return (
    options.clock === 'wall' || (variant.shardCode === undefined && variant.shardBindings?.MAX_WAIT_MS === undefined)
  );
}

/** Every deployment of a pool at every load it runs at; cells keyed `<load>/<deployment id>`. */
async function runDeployments(
  upstream: Upstream,
  name: string,
  deployments: readonly Deployment[],
  plan: (load: number) => CellPlan,
  options: CapacityOptions,
): Promise<Map<string, CellResult>> {
  const cells = new Map<string, CellResult>();
  const loads = [...new Set(deployments.flatMap((d) => d.loads))].sort((a, b) => a - b);
  for (const load of loads) {
    for (const d of deployments.filter((d) => d.loads.includes(load) && runsOn(d.variant, options))) {
      const r = await runCell(upstream, d.prod, d.variant, plan(load), options);
      progress(`${name}, ${load} %, ${d.id}: ${percent(r.success)} (send lag p99 ${fmt(r.sendLagP99, 1)} ms)`);
      cells.set(`${load}/${d.id}`, r);
    }
  }
  return cells;
}

/** A key set, every key its own project, across the routing configurations; then, for the first, the isolates. */
async function measureKeySet(upstream: Upstream, keys: number, options: CapacityOptions, isolates: boolean) {
  progress(`synthesizing prod with ${keys} keys`);
  const prod = await synthesizeProd(keys, options.keysPerShard, upstream.fake.url, BENCH_PASS);
  upstream.projects = {};
  try {
    const deployments = CAPACITY_CONFIGS.filter((c) => options.configs.includes(c)).map((config) => ({
      id: config,
      label: label(config, options),
      prod,
      variant: variantOf(config, prod, options),
      loads: config === 'defaults-wait' ? options.waitLoads : options.loads,
    }));
    const capacityPerWindow = keys * options.limit;
    const plan = (load: number) => ({ loadPercent: load, capacityPerWindow, seed: cellSeed(options.seed, keys, load) });
    const cells = await runDeployments(upstream, `${keys} keys`, deployments, plan, options);
    const windowText = options.windowMs === 1000 ? 's' : `${options.windowMs} ms`;
    if (cells.size > 0) {
      printPoolTables({
        heading:
          `${keys} keys (shards of ${prod.shardKeyCounts.join(', ')}), ${options.limit} calls per key per ${windowText}, ` +
          `${options.seconds} s per cell, ${options.clock} clock`,
        notes: [`defaults as synthesized: ${defaultsText(prod)}`],
        columns: deployments,
        cells,
        windowMs: options.windowMs,
        offeredPerWindow: (load) => (load / 100) * capacityPerWindow,
      });
    }
    if (isolates) await measureIsolates(upstream, prod, options);
  } finally {
    prod.dispose();
  }
}

/** A pool of several projects, synthesized with and without `KEY_PROJECTS`, against a fake that counts per project. */
async function measureProjects(upstream: Upstream, spec: string, options: CapacityOptions): Promise<void> {
  const labels = projectLayoutLabels(spec) ?? [];
  const projects = new Set(labels).size;
  const name = `${labels.length} keys in ${projects} projects (${spec})`;
  const prods = new Map<ProjectConfig, SynthesizedProd>();
  try {
    for (const config of options.projectConfigs) {
      progress(`synthesizing prod with ${name}, ${config}`);
      const declared = config === 'declared' ? labels : undefined;
      prods.set(
        config,
        await synthesizeProd(labels.length, options.keysPerShard, upstream.fake.url, BENCH_PASS, declared),
      );
    }
    // the same key values in every synthesized stack: the fake counts them by the layout's projects either way
    upstream.projects = fakeProjects([...prods.values()][0]?.apiKeys ?? [], labels);
    const deployments = [...prods].map(([config, prod]) => ({
      id: config,
      label: PROJECT_LABELS[config],
      prod,
      variant: {},
      loads: options.loads,
    }));
    const capacityPerWindow = projects * options.limit;
    const seedKey = labels.length * 1000 + projects;
    const plan = (load: number) => ({
      loadPercent: load,
      capacityPerWindow,
      seed: cellSeed(options.seed, seedKey, load),
    });
    const cells = await runDeployments(upstream, name, deployments, plan, options);
    const windowText = options.windowMs === 1000 ? 's' : `${options.windowMs} ms`;
    if (cells.size === 0) return;
    printPoolTables({
      heading: `${name}, ${options.limit} calls per project per ${windowText}, ${options.seconds} s per cell, ${options.clock} clock`,
      notes: deployments.map((d) => `${d.label}: ${shardLayoutText(d.prod, labels)}; ${defaultsText(d.prod)}`),
      columns: deployments,
      cells,
      labels,
      windowMs: options.windowMs,
      offeredPerWindow: (load) => (load / 100) * capacityPerWindow,
    });
  } finally {
    for (const prod of prods.values()) prod.dispose();
  }
}

/** Each shard as 1 and as n separate workers: what per-isolate cooldowns cost in 429s Google answers. */
async function measureIsolates(upstream: Upstream, prod: SynthesizedProd, options: CapacityOptions): Promise<void> {
  const keys = prod.apiKeys.length;
  const rows: IsolateRow[] = [];
  for (const load of options.isolateLoads) {
    for (const copies of [1, ...options.copies]) {
      const plan = {
        loadPercent: load,
        capacityPerWindow: keys * options.limit,
        seed: cellSeed(options.seed, keys, load),
      };
      const result = await runCell(upstream, prod, { copiesPerShard: copies }, plan, options);
      progress(
        `isolates: ${keys} keys, ${load} %, ${copies} copies per shard: ${percent(result.success)} (send lag p99 ${fmt(result.sendLagP99, 1)} ms)`,
      );
      rows.push({ load, copies, result });
    }
  }
  printIsolates(keys, rows, options);
}

async function main(): Promise<void> {
  const options = parseCapacityOptions(process.argv.slice(2), process.env);
  const upstream: Upstream = {
    fake: await startFakeGemini({ port: 0, admission: (project, model) => upstream.limit?.admit(project, model) }),
    limit: undefined,
    projects: {},
  };
  try {
    process.stdout.write(
      `Capacity: open-loop Poisson load (seed ${options.seed}) against a fake Gemini that allows ${options.limit} calls ` +
        `per project per model per ${options.windowMs} ms fixed window (every key its own project unless a layout ` +
        `says otherwise; its 429s ${options.quotaValue === 'stated' ? 'state' : 'omit'} the limit), ${options.clock} clock. ` +
        `"perfect scheduler" is the physical limit without waiting: ` +
        `1 - E[(X - C)+] / L per window, X ~ Poisson(L).\n\n`,
    );
    for (const [i, keys] of options.keySets.entries()) {
      await measureKeySet(
        upstream,
        keys,
        options,
        i === 0 && options.copies.length > 0 && options.isolateLoads.length > 0,
      );
    }
    for (const spec of options.projects) await measureProjects(upstream, spec, options);
  } finally {
    await upstream.fake.close();
  }
}

runBenchmark(main);
