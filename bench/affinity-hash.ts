/**
 * Benchmark 9: the orchestrator's extra work for conversation affinity (issue 22), which must stay under 0.1 ms per
 * request at the median. It times, in this process's V8 (the engine workerd runs), the parts of the orchestrator's
 * choice of shards: the weights (every request), the weighted draw (a request without a conversation), and the hash
 * work (a request with one: reading the two conversation headers, the fingerprint of the id, the rendezvous order of
 * the shards), over pools from 3 to 125 shards. workerd freezes its clocks while JavaScript runs, so this cannot be timed inside a
 * worker; the work is the same pure functions the worker calls.
 *
 * Each figure is the median over 301 batches of 1,000 requests (each with its own conversation id), from the second of
 * two passes over the pools, so that every path is warm.
 */
import { conversationOrder, shardOrder } from '../workers/orchestrator/pick';
import { poolWeights, type WeightSettings } from '../workers/orchestrator/weights';
import { conversationIdOf, fingerprintOf } from '../workers/shared/affinity';
import type { BoundBackend } from '../workers/orchestrator/backends';
import { DEFAULT_SHARD_ATTEMPTS } from '../workers/shared/contract';
import { keyLayout } from '../workers/shared/key-layout';
import { fmt, printTable, runBenchmark, summarize } from './stats';

const BATCH = 1_000;
const BATCHES = 301;
const BUDGET_MS = 0.1;

interface Pool {
  readonly name: string;
  readonly settings: WeightSettings;
  readonly backends: readonly BoundBackend[];
}

const stub = { fetch: async () => new Response(null) };

function pool(name: string, keyCount: number, labels?: readonly string[]): Pool {
  const layout = keyLayout(labels, keyCount, 8);
  const backends = layout.shards.map((_, index) => ({ index, backend: stub }));
  const counts = layout.shards.map((s) => s.keys.length).join(',');
  const settings =
    labels === undefined
      ? { shardKeyCounts: counts }
      : {
          shardKeyCounts: counts,
          keyProjects: labels.join(','),
          keysPerShard: '8',
        };
  return { name, settings, backends };
}

/** The issue's pool: one project of 10 keys and 10 projects of one key. */
const ISSUE = [...Array.from({ length: 10 }, () => 'big'), ...Array.from({ length: 10 }, (_, i) => `solo${i}`)];
const projectsOf = (keys: number, perProject: number): string[] =>
  Array.from({ length: keys }, (_, i) => `p${Math.floor(i / perProject)}`);

const POOLS: readonly Pool[] = [
  pool('20 keys, no KEY_PROJECTS (3 shards)', 20),
  pool('20 keys in 11 projects (3 shards)', 20, ISSUE),
  pool('200 keys in 50 projects (25 shards)', 200, projectsOf(200, 4)),
  pool('1000 keys in 250 projects (125 shards)', 1000, projectsOf(1000, 4)),
];

/** Median ms per request of `choose`, over batches of requests whose headers name conversation `i`. */
function medianMs(choose: (headers: Headers) => readonly unknown[]): number {
  const headers = Array.from({ length: BATCH }, (_, i) => new Headers({ 'x-claude-code-session-id': `session-${i}` }));
  let sink = 0;
  for (let warm = 0; warm < 20; warm++) for (const h of headers) sink += choose(h).length;
  const samples: number[] = [];
  for (let batch = 0; batch < BATCHES; batch++) {
    const start = performance.now();
    for (const h of headers) sink += choose(h).length;
    samples.push((performance.now() - start) / BATCH);
  }
  if (sink < 0) throw new Error('unreachable: keeps the work from being optimized away');
  return summarize(samples).p50;
}

/**
 * One row per pool: the weights (the same for both), the anonymous draw, and the conversation's hash work (reading its
 * headers, the fingerprint, the rendezvous order), which replaces the draw; the hash work alone is the most the
 * affinity can add to a request.
 */
function measure(): string[][] {
  return POOLS.map(({ name, settings, backends }) => {
    const indexes = backends.map((b) => b.index);
    const { weights } = poolWeights(settings, backends);
    const weighing = medianMs(() => poolWeights(settings, backends).weights);
    const draw = medianMs(() => shardOrder(weights, DEFAULT_SHARD_ATTEMPTS, Math.random));
    const hash = medianMs((headers) => {
      const id = conversationIdOf(headers);
      if (id === undefined) throw new Error('the bench request names a conversation');
      return conversationOrder(fingerprintOf(id), weights, indexes, DEFAULT_SHARD_ATTEMPTS);
    });
    return [name, fmt(weighing * 1000, 2), fmt(draw * 1000, 2), fmt(hash * 1000, 2), hash < BUDGET_MS ? 'yes' : 'NO'];
  });
}

async function main(): Promise<void> {
  // a first pass warms every path the second one times, so the first pool measured is not the coldest
  measure();
  const rows = measure();
  printTable(
    ['pool', 'weights µs (both)', 'anonymous draw µs', 'conversation hash µs', `hash under ${BUDGET_MS * 1000} µs?`],
    rows,
  );
}

runBenchmark(main);
