/**
 * Benchmark 7: capacity. Does a pool of rate-limited keys behave like one endpoint with their summed capacity?
 *
 * The prod stack as `cdktf synth` writes it (20 keys = shards of 8, 8, 4; 9 keys = 8, 1) runs in workerd against the
 * fake Gemini, which allows each key `limit` calls per model per fixed window and answers Google's quota 429 beyond
 * (`dev/fake-gemini/rate-limit.ts`). Open-loop Poisson arrivals from a seeded PRNG offer 50, 80, 95 and 110 % of the
 * pooled limit; every configuration of a cell sees the same arrival times, each in a fresh workerd (cooldowns start
 * empty). Configurations differ only in bindings or shard code (`bench/capacity-topology.ts`), so the same run
 * measures whatever the synthesized stack binds. Each cell is judged against what a perfect global scheduler without
 * waiting could serve (`perfectSchedulerSuccess`).
 *
 * A second part runs each shard as 1 and as n separate workers behind a random spreader, as Cloudflare runs many
 * isolates of one worker, each with its own cooldowns, and counts the extra 429s Google sees.
 *
 * `npx tsx bench/capacity.ts [--seconds 3] [--loads 80,95] [--keys 20] [--configs defaults,uniform] ...`; every flag
 * also reads a `CAPACITY_*` variable (see `parseCapacityOptions`). Progress goes to stderr, tables to stdout.
 */
import { Miniflare, type WorkerOptions } from 'miniflare';
import { Agent } from 'node:http';
import { startFakeGemini, type FakeGemini } from '../dev/fake-gemini';
import { WindowedRateLimit } from '../dev/fake-gemini/rate-limit';
import {
  CAPACITY_CONFIGS,
  cellSeed,
  loadSpread,
  parseCapacityOptions,
  perfectSchedulerSuccess,
  poissonArrivals,
  realizedPerfectSuccess,
  seededRandom,
  type CapacityConfig,
  type CapacityOptions,
  type LoadSpread,
} from './capacity-model';
import {
  ROUND_ROBIN_WORKER,
  synthesizeProd,
  variantWorkers,
  type SynthesizedProd,
  type Variant,
} from './capacity-topology';
import { fmt, printTable, runBenchmark, summarize } from './stats';
import { BENCH_PASS, QUIET, timedRequest } from './bench-topology';

const CHAT = JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'ping' }] });

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

interface CellResult {
  readonly requests: number;
  readonly success: number;
  /** the perfect scheduler's expected share at this load */
  readonly perfect: number;
  /** the perfect scheduler's share for the arrivals this cell sent */
  readonly perfectHere: number;
  readonly callsPerRequest: number;
  readonly spread: LoadSpread;
  /** 429s the fake answered (what Google would see) */
  readonly google429: number;
  /** (key, window) pairs that ran out */
  readonly exhaustions: number;
  /** client-visible failures by status; 0 = the request itself failed */
  readonly failures: ReadonlyMap<number, number>;
  readonly p50: number;
  readonly p99: number;
  /** how late the load generator sent its requests, in ms; a busy machine sends late, and the load stops being Poisson */
  readonly sendLagP99: number;
}

/** The fake, and the rate limit its admission hook consults (none while warming up). */
interface Upstream {
  readonly fake: FakeGemini;
  limit: WindowedRateLimit | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function runCell(
  upstream: Upstream,
  prod: SynthesizedProd,
  workers: WorkerOptions[],
  loadPercent: number,
  options: CapacityOptions,
): Promise<CellResult> {
  const keys = prod.apiKeys.length;
  const mf = new Miniflare({ ...QUIET, host: '127.0.0.1', port: 0, workers });
  const port = Number((await mf.ready).port);
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  const send = () => timedRequest(agent, port, 'orchestrator.bench', '/v1/chat/completions', CHAT);
  try {
    // warm-up outside the quota, so the first measured requests do not also pay for compiling the workers
    upstream.limit = undefined;
    for (let i = 0; i < 4 * prod.shardKeyCounts.length; i++) await send();
    upstream.fake.reset();

    const limit = new WindowedRateLimit({ limit: options.limit, windowMs: options.windowMs });
    const capacityPerWindow = keys * options.limit;
    const ratePerSecond = ((loadPercent / 100) * capacityPerWindow * 1000) / options.windowMs;
    const arrivals = poissonArrivals(
      ratePerSecond,
      options.seconds * 1000,
      seededRandom(cellSeed(options.seed, keys, loadPercent)),
    );
    // start on a window boundary, so the cell covers whole windows as the physical limit assumes
    await sleep(options.windowMs - (Date.now() % options.windowMs));
    upstream.limit = limit;
    const started = performance.now();
    const pending: Promise<{ status: number; ms: number }>[] = [];
    const lags: number[] = [];
    const windows: number[] = [];
    for (const at of arrivals) {
      const wait = started + at - performance.now();
      if (wait >= 1) await sleep(wait);
      lags.push(performance.now() - started - at);
      windows.push(Math.floor(Date.now() / options.windowMs));
      // open loop: sent on time whether or not earlier requests have been answered
      pending.push(
        send().then(
          (r) => ({ status: r.status, ms: r.totalMs }),
          () => ({ status: 0, ms: Number.NaN }),
        ),
      );
    }
    const results = await Promise.all(pending);
    upstream.limit = undefined;

    const callsPerKey = new Map(prod.apiKeys.map((k) => [k, 0]));
    for (const call of upstream.fake.calls) {
      if (call.apiKey !== undefined && callsPerKey.has(call.apiKey))
        callsPerKey.set(call.apiKey, (callsPerKey.get(call.apiKey) as number) + 1);
    }
    const failures = new Map<number, number>();
    for (const r of results) if (r.status !== 200) failures.set(r.status, (failures.get(r.status) ?? 0) + 1);
    const latency = summarize(results.filter((r) => Number.isFinite(r.ms)).map((r) => r.ms));
    const totals = limit.totals();
    return {
      requests: results.length,
      success: results.filter((r) => r.status === 200).length / results.length,
      perfect: perfectSchedulerSuccess((loadPercent / 100) * capacityPerWindow, capacityPerWindow),
      perfectHere: realizedPerfectSuccess(windows, capacityPerWindow),
      callsPerRequest: upstream.fake.calls.length / results.length,
      spread: loadSpread([...callsPerKey.values()]),
      google429: totals.refused,
      exhaustions: totals.exhaustions,
      failures,
      p50: latency.p50,
      p99: latency.p99,
      sendLagP99: summarize(lags).p99,
    };
  } finally {
    agent.destroy();
    await mf.dispose();
  }
}

const percent = (x: number): string => `${fmt(x * 100, 1)}%`;

function failureText(failures: ReadonlyMap<number, number>): string {
  if (failures.size === 0) return '-';
  return [...failures]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${n} × ${status === 0 ? 'no answer' : status}`)
    .join(', ');
}

/** The plain-text bindings that decide routing, as synthesized: what "defaults" means in this run. */
function defaultsText(prod: SynthesizedProd): string {
  const orchestrator = (prod.topology.publicWorker.options.bindings ?? {}) as Record<string, unknown>;
  const shard = prod.topology.workers.find((w) => w !== prod.topology.publicWorker)?.options.bindings as
    | Record<string, unknown>
    | undefined;
  const show = (bindings: Record<string, unknown> | undefined, name: string): string =>
    `${name}=${bindings?.[name] === undefined ? '(not bound)' : String(bindings[name])}`;
  return `orchestrator ${show(orchestrator, 'SHARD_KEY_COUNTS')}, ${show(orchestrator, 'SHARD_ATTEMPTS')}; shards ${show(shard, 'MAX_WAIT_MS')}`;
}

function progress(text: string): void {
  process.stderr.write(`capacity: ${text}\n`);
}

/** The configurations side by side, one row per load, then one row per cell. */
function printComparison(
  prod: SynthesizedProd,
  configs: readonly CapacityConfig[],
  cells: ReadonlyMap<string, CellResult>,
  options: CapacityOptions,
): void {
  const keys = prod.apiKeys.length;
  const loads = [...new Set([...cells.keys()].map((id) => Number(id.split('/')[0])))].sort((a, b) => a - b);
  const windowText = options.windowMs === 1000 ? 's' : `${options.windowMs} ms`;
  process.stdout.write(
    `### ${keys} keys (shards of ${prod.shardKeyCounts.join(', ')}), ${options.limit} calls per key per ${windowText}, ` +
      `${options.seconds} s per cell\n\ndefaults as synthesized: ${defaultsText(prod)}\n\n`,
  );
  const offered = (load: number): string => fmt((load / 100) * keys * options.limit * (1000 / options.windowMs), 1);
  printTable(
    ['load', 'offered req/s', 'perfect scheduler', 'perfect, these arrivals', ...configs.map((c) => label(c, options))],
    loads.map((load) => {
      const first = [...cells].find(([id]) => id.startsWith(`${load}/`))?.[1] as CellResult;
      const success = (c: CapacityConfig): string => {
        const cell = cells.get(`${load}/${c}`);
        return cell ? percent(cell.success) : '-';
      };
      return [`${load} %`, offered(load), percent(first.perfect), percent(first.perfectHere), ...configs.map(success)];
    }),
  );
  printTable(
    [
      'load',
      'configuration',
      'requests',
      'success',
      'perfect, these arrivals',
      'upstream calls / request',
      'per-key load max / mean',
      'Google 429s',
      'client failures',
      'p50 ms',
      'p99 ms',
    ],
    [...cells].map(([id, r]) => {
      const [load, config] = id.split('/') as [string, CapacityConfig];
      return [
        `${load} %`,
        label(config, options),
        r.requests,
        percent(r.success),
        percent(r.perfectHere),
        fmt(r.callsPerRequest, 3),
        fmt(r.spread.maxOverMean, 2),
        r.google429,
        failureText(r.failures),
        fmt(r.p50, 1),
        fmt(r.p99, 1),
      ];
    }),
  );
}

async function measureKeySet(
  upstream: Upstream,
  keys: number,
  options: CapacityOptions,
  isolates: boolean,
): Promise<void> {
  progress(`synthesizing prod with ${keys} keys`);
  const prod = await synthesizeProd(keys, options.keysPerShard, upstream.fake.url, BENCH_PASS);
  try {
    const configs = CAPACITY_CONFIGS.filter((c) => options.configs.includes(c));
    const loads = [...new Set([...options.loads, ...options.waitLoads])].sort((a, b) => a - b);
    const cells = new Map<string, CellResult>();
    for (const load of loads) {
      for (const config of configs.filter((c) =>
        (c === 'defaults-wait' ? options.waitLoads : options.loads).includes(load),
      )) {
        const r = await runCell(
          upstream,
          prod,
          variantWorkers(prod.topology, variantOf(config, prod, options)),
          load,
          options,
        );
        progress(`${keys} keys, ${load} %, ${config}: ${percent(r.success)} (send lag p99 ${fmt(r.sendLagP99, 1)} ms)`);
        cells.set(`${load}/${config}`, r);
      }
    }
    if (cells.size > 0) printComparison(prod, configs, cells, options);
    if (isolates) await measureIsolates(upstream, prod, options);
  } finally {
    prod.dispose();
  }
}

/** Each shard as 1 and as n separate workers: what per-isolate cooldowns cost in 429s Google answers. */
async function measureIsolates(upstream: Upstream, prod: SynthesizedProd, options: CapacityOptions): Promise<void> {
  const keys = prod.apiKeys.length;
  const rows: (string | number)[][] = [];
  const extra: string[] = [];
  for (const load of options.isolateLoads) {
    let one: CellResult | undefined;
    for (const copies of [1, ...options.copies]) {
      const r = await runCell(upstream, prod, variantWorkers(prod.topology, { copiesPerShard: copies }), load, options);
      progress(
        `isolates: ${keys} keys, ${load} %, ${copies} copies per shard: ${percent(r.success)} (send lag p99 ${fmt(r.sendLagP99, 1)} ms)`,
      );
      rows.push([
        `${load} %`,
        copies,
        r.requests,
        percent(r.success),
        percent(r.perfectHere),
        fmt(r.callsPerRequest, 3),
        r.google429,
        fmt(r.google429 / keys, 1),
        r.exhaustions,
        fmt(r.google429 / r.exhaustions, 2),
      ]);
      if (one === undefined) {
        one = r;
        continue;
      }
      extra.push(
        `at ${load} %, ${copies} copies: Google answers ${r.google429 - one.google429} more 429s than with 1 ` +
          `(${fmt((r.google429 - one.google429) / keys, 1)} per key, ` +
          `${fmt(r.google429 / r.exhaustions - one.google429 / one.exhaustions, 2)} more per key-window that ran out); ` +
          `success ${percent(one.success)} → ${percent(r.success)}`,
      );
    }
  }
  process.stdout.write(
    `### Isolates: ${keys} keys, defaults, each shard as 1 or ${options.copies.join(' or ')} workers with separate memory\n\n`,
  );
  printTable(
    [
      'load',
      'copies per shard',
      'requests',
      'success',
      'perfect, these arrivals',
      'upstream calls / request',
      'Google 429s',
      '429s per key',
      'key-windows run out',
      '429s per run-out',
    ],
    rows,
  );
  process.stdout.write(`${extra.map((line) => `- ${line}`).join('\n')}\n\n`);
}

async function main(): Promise<void> {
  const options = parseCapacityOptions(process.argv.slice(2), process.env);
  const upstream: Upstream = {
    fake: await startFakeGemini({ port: 0, admission: (key, model) => upstream.limit?.admit(key, model) }),
    limit: undefined,
  };
  try {
    process.stdout.write(
      `Capacity: open-loop Poisson load (seed ${options.seed}) against a fake Gemini that allows ${options.limit} calls ` +
        `per key per model per ${options.windowMs} ms fixed window. "perfect scheduler" is the physical limit without ` +
        `waiting: 1 - E[(X - C)+] / L per window, X ~ Poisson(L).\n\n`,
    );
    for (const [i, keys] of options.keySets.entries()) {
      await measureKeySet(
        upstream,
        keys,
        options,
        i === 0 && options.copies.length > 0 && options.isolateLoads.length > 0,
      );
    }
  } finally {
    await upstream.fake.close();
  }
}

runBenchmark(main);
