/**
 * One cell of the capacity benchmark: one gateway configuration under one open-loop Poisson load, against the fake
 * Gemini whose admission hook enforces a windowed quota per project. The load is sent to the emulated prod topology
 * in workerd on the wall clock ({@link runWallCell}) or to the same workers' code in this process on a simulated clock
 * ({@link runVirtualCell}, see `./capacity-virtual`); both count what reached the fake the same way.
 */
import { Miniflare, type WorkerOptions } from 'miniflare';
import { Agent } from 'node:http';
import type { FakeGemini } from '../dev/fake-gemini';
import { WindowedRateLimit, type WindowedRateLimitOptions } from '../dev/fake-gemini/rate-limit';
import { BENCH_PASS, QUIET, timedRequest } from './bench-topology';
import {
  perfectSchedulerSuccess,
  poissonArrivals,
  realizedPerfectSuccess,
  seededRandom,
  type CapacityOptions,
} from './capacity-model';
import type { SynthesizedProd, Variant } from './capacity-topology';
import { inProcessGateway } from './capacity-virtual';
import { summarize } from './stats';

export const CHAT = JSON.stringify({ model: 'gemini-3.8-flash', messages: [{ role: 'user', content: 'ping' }] });
/** The fake's per-project windows as the run's options set them. */
function rateLimitOptions(options: CapacityOptions): WindowedRateLimitOptions {
  return { limit: options.limit, windowMs: options.windowMs, statesLimit: options.quotaValue === 'stated' };
}

/** {@link CHAT}'s length in bytes, as an HTTP client sends it in `content-length` */
const CHAT_BYTES = String(new TextEncoder().encode(CHAT).byteLength);

/** The fake, the rate limit its admission hook consults (none while warming up), and its key → project map. */
export interface Upstream {
  readonly fake: FakeGemini;
  limit: WindowedRateLimit | undefined;
  /** the fake's `projects` for the pool being measured: set again after every reset */
  projects: Readonly<Record<string, string>>;
}

/** What one cell is: its load, the pool's capacity per window, and the seed of its arrivals. */
export interface CellPlan {
  readonly loadPercent: number;
  /** calls per window the whole pool may make: projects × limit */
  readonly capacityPerWindow: number;
  readonly seed: number;
}

export interface CellResult {
  readonly requests: number;
  readonly success: number;
  /** the perfect scheduler's expected share at this load */
  readonly perfect: number;
  /** the perfect scheduler's share for the arrivals this cell sent */
  readonly perfectHere: number;
  readonly callsPerRequest: number;
  /** calls the fake received per key (429s included), aligned with the pool's keys */
  readonly callsPerKey: readonly number[];
  /** 429s the fake answered (what Google would see) */
  readonly google429: number;
  /** (project, window) pairs that ran out */
  readonly exhaustions: number;
  /** client-visible failures by status; 0 = the request itself failed */
  readonly failures: ReadonlyMap<number, number>;
  /** NaN on the virtual clock, which does not measure time */
  readonly p50: number;
  readonly p99: number;
  /** how late the load generator sent its requests, in ms; a busy machine sends late, and the load stops being Poisson */
  readonly sendLagP99: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function arrivalsOf(plan: CellPlan, options: CapacityOptions): number[] {
  const ratePerSecond = ((plan.loadPercent / 100) * plan.capacityPerWindow * 1000) / options.windowMs;
  return poissonArrivals(ratePerSecond, options.seconds * 1000, seededRandom(plan.seed));
}

/** What a client got for one request. */
interface Answer {
  readonly status: number;
  readonly ms: number;
}

/** The cell's figures from the answers, the windows they were sent in, and what the fake and its limit counted. */
function cellResult(
  upstream: Upstream,
  prod: SynthesizedProd,
  plan: CellPlan,
  sent: { readonly answers: readonly Answer[]; readonly windows: readonly number[]; readonly lags: readonly number[] },
  limit: WindowedRateLimit,
): CellResult {
  const { answers } = sent;
  const position = new Map(prod.apiKeys.map((k, i) => [k, i]));
  const callsPerKey = prod.apiKeys.map(() => 0);
  for (const call of upstream.fake.calls) {
    const at = call.apiKey === undefined ? undefined : position.get(call.apiKey);
    if (at !== undefined) callsPerKey[at] = (callsPerKey[at] ?? 0) + 1;
  }
  const failures = new Map<number, number>();
  for (const r of answers) if (r.status !== 200) failures.set(r.status, (failures.get(r.status) ?? 0) + 1);
  const latency = summarize(answers.filter((r) => Number.isFinite(r.ms)).map((r) => r.ms));
  const totals = limit.totals();
  return {
    requests: answers.length,
    success: answers.filter((r) => r.status === 200).length / answers.length,
    perfect: perfectSchedulerSuccess((plan.loadPercent / 100) * plan.capacityPerWindow, plan.capacityPerWindow),
    perfectHere: realizedPerfectSuccess(sent.windows, plan.capacityPerWindow),
    callsPerRequest: upstream.fake.calls.length / answers.length,
    callsPerKey,
    google429: totals.refused,
    exhaustions: totals.exhaustions,
    failures,
    p50: latency.p50,
    p99: latency.p99,
    sendLagP99: summarize(sent.lags).p99,
  };
}

/** Clears the fake for a cell: calls, resources and its implicit cache, keeping the pool's projects. */
function resetUpstream(upstream: Upstream): void {
  upstream.fake.reset();
  upstream.fake.configure({ projects: upstream.projects });
}

/** The cell in workerd, on the wall clock: open-loop arrivals sent on time whether or not earlier ones were answered. */
export async function runWallCell(
  upstream: Upstream,
  prod: SynthesizedProd,
  workers: WorkerOptions[],
  plan: CellPlan,
  options: CapacityOptions,
): Promise<CellResult> {
  const mf = new Miniflare({ ...QUIET, host: '127.0.0.1', port: 0, workers });
  const port = Number((await mf.ready).port);
  const agent = new Agent({ keepAlive: true, maxSockets: 1024 });
  const send = () => timedRequest(agent, port, 'orchestrator.bench', '/v1/chat/completions', CHAT);
  try {
    // warm-up outside the quota, so the first measured requests do not also pay for compiling the workers
    upstream.limit = undefined;
    for (let i = 0; i < 4 * prod.shardKeyCounts.length; i++) await send();
    resetUpstream(upstream);

    const limit = new WindowedRateLimit(rateLimitOptions(options));
    const arrivals = arrivalsOf(plan, options);
    // start on a window boundary, so the cell covers whole windows as the physical limit assumes
    await sleep(options.windowMs - (Date.now() % options.windowMs));
    upstream.limit = limit;
    const started = performance.now();
    const pending: Promise<Answer>[] = [];
    const lags: number[] = [];
    const windows: number[] = [];
    for (const at of arrivals) {
      const wait = started + at - performance.now();
      if (wait >= 1) await sleep(wait);
      lags.push(performance.now() - started - at);
      windows.push(Math.floor(Date.now() / options.windowMs));
      pending.push(
        send().then(
          (r) => ({ status: r.status, ms: r.totalMs }),
          () => ({ status: 0, ms: Number.NaN }),
        ),
      );
    }
    const answers = await Promise.all(pending);
    upstream.limit = undefined;
    return cellResult(upstream, prod, plan, { answers, windows, lags }, limit);
  } finally {
    agent.destroy();
    await mf.dispose();
  }
}

/**
 * The cell in this process, on a simulated clock that starts on a window boundary and jumps to each arrival; every
 * request is handled whole (orchestrator, shard, fake) before the clock moves on, as if the gateway took no time.
 */
export async function runVirtualCell(
  upstream: Upstream,
  prod: SynthesizedProd,
  variant: Variant,
  plan: CellPlan,
  options: CapacityOptions,
): Promise<CellResult> {
  resetUpstream(upstream);
  // any whole window; the same for every cell, so runs repeat exactly
  const start = Math.ceil(Date.parse('2026-12-01T00:00:00Z') / options.windowMs) * options.windowMs;
  let now = start;
  const gateway = inProcessGateway(prod.topology, variant, { now: () => now, seed: plan.seed });
  const limit = new WindowedRateLimit({ ...rateLimitOptions(options), now: () => now });
  upstream.limit = limit;
  const answers: Answer[] = [];
  const windows: number[] = [];
  try {
    for (const at of arrivalsOf(plan, options)) {
      now = start + at;
      windows.push(Math.floor(now / options.windowMs));
      const response = await gateway.send(
        new Request('http://orchestrator.bench/v1/chat/completions', {
          method: 'POST',
          // the length an HTTP client sends with its body (Node's Request adds none): the orchestrator reads it
          headers: {
            authorization: `Bearer ${BENCH_PASS}`,
            'content-type': 'application/json',
            'content-length': CHAT_BYTES,
          },
          body: CHAT,
        }),
      );
      await response.arrayBuffer();
      answers.push({ status: response.status, ms: Number.NaN });
    }
  } finally {
    upstream.limit = undefined;
  }
  return cellResult(upstream, prod, plan, { answers, windows, lags: [] }, limit);
}
