/**
 * The load a project's keys get stays within 1.3x of its quota share, over random layouts, both for anonymous
 * traffic (the orchestrator's weighted draw) and for the traffic of many conversations (their rendezvous homes).
 * Google counts per project, so every project of the pool has the same quota: a project's share is 1 / projects,
 * split over the shards holding it in proportion to its keys there.
 *
 * Inside a shard the choice of a project is the shard's (22b): modelled here as the shard does it, a draw in
 * proportion to each project's part for anonymous traffic, and the first of `projectRanking` for a conversation.
 * Fixed seeds make the run deterministic; the bounds hold with several standard deviations to spare.
 */
import fc from 'fast-check';
import { conversationOrder, pickWeighted, shardOrder } from '../../../workers/orchestrator/pick';
import { fingerprintOf, projectRanking } from '../../../workers/shared/affinity';
import { type KeyLayout, keyLayout, shardProjects } from '../../../workers/shared/key-layout';
import { defined } from '../../helpers/guards';
import { seeded } from '../../helpers/seeded-random';

/** Enough that the smallest share (a 1-key part of a 12-key project among 8) expects 300+ requests. */
const REQUESTS = 30_000;
const BOUND = 1.3;

/** Random pools: up to 8 projects of 1 to 12 keys, in shuffled key order, over shards of 4 to 10 keys. */
const poolArb = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
  keysPerShard: fc.integer({ min: 4, max: 10 }),
  shuffle: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
});

interface Pool {
  readonly sizes: readonly number[];
  readonly keysPerShard: number;
  readonly shuffle: number;
}

function layoutOf({ sizes, keysPerShard, shuffle }: Pool): KeyLayout {
  const labels = sizes.flatMap((size, p) => Array.from({ length: size }, () => `p${p}`));
  const random = seeded(shuffle);
  for (let i = labels.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [labels[i], labels[j]] = [defined(labels[j], 'label'), defined(labels[i], 'label')];
  }
  return keyLayout(labels, labels.length, keysPerShard);
}

/** Where a request lands: a shard and a project part of it, counted by `shard/label`. */
type Landing = (request: number) => string;

/** Each project part's load over its quota share, and each project's. */
function loadRatios(layout: KeyLayout, land: Landing): number[] {
  const counts = new Map<string, number>();
  for (let r = 0; r < REQUESTS; r++) {
    const at = land(r);
    counts.set(at, (counts.get(at) ?? 0) + 1);
  }
  const ratios: number[] = [];
  const projectLoad = new Map<string, number>();
  layout.shards.forEach((shard, i) => {
    for (const part of shardProjects(layout, shard)) {
      const load = (counts.get(`${i}/${part.label}`) ?? 0) / REQUESTS;
      ratios.push(load / (part.weight / layout.projectCount));
      projectLoad.set(part.label, (projectLoad.get(part.label) ?? 0) + load);
    }
  });
  for (const load of projectLoad.values()) ratios.push(load * layout.projectCount);
  return ratios;
}

function expectWithinBound(ratios: readonly number[]): void {
  for (const ratio of ratios) {
    expect(ratio).toBeLessThanOrEqual(BOUND);
    expect(ratio).toBeGreaterThanOrEqual(1 / BOUND);
  }
}

describe("every project's load stays within 1.3x of its quota share (property)", () => {
  test('anonymous traffic: the weighted draw of a shard, then of a project part in proportion to its share', () => {
    fc.assert(
      fc.property(poolArb, (pool) => {
        const layout = layoutOf(pool);
        const weights = layout.shards.map((s) => s.weight);
        const parts = layout.shards.map((s) => shardProjects(layout, s));
        const random = seeded(pool.shuffle);
        const land: Landing = () => {
          const shard = defined(shardOrder(weights, 1, random)[0], 'a shard');
          const here = defined(parts[shard], 'its parts');
          const part = defined(
            here[
              pickWeighted(
                here.map((p) => p.weight),
                random,
              )
            ],
            'a part',
          );
          return `${shard}/${part.label}`;
        };
        expectWithinBound(loadRatios(layout, land));
      }),
      { seed: 22, numRuns: 10 },
    );
  });

  test('many conversations: each one at its home, the first shard of its order and the first project there', () => {
    fc.assert(
      fc.property(poolArb, (pool) => {
        const layout = layoutOf(pool);
        const weights = layout.shards.map((s) => s.weight);
        const indexes = layout.shards.map((_, i) => i);
        const parts = layout.shards.map((s) => shardProjects(layout, s));
        const land: Landing = (request) => {
          const fingerprint = fingerprintOf(`${pool.shuffle}-conversation-${request}`);
          const shard = defined(conversationOrder(fingerprint, weights, indexes, 1)[0], 'a home shard');
          const here = defined(parts[shard], 'its parts');
          const part = defined(here[defined(projectRanking(fingerprint, here)[0], 'a home')], 'a part');
          return `${shard}/${part.label}`;
        };
        expectWithinBound(loadRatios(layout, land));
      }),
      { seed: 22, numRuns: 10 },
    );
  });

  test("a conversation's turns all land on the same project part", () => {
    const layout = keyLayout(['a', 'a', 'a', 'b', 'c', 'c', 'd', 'e', 'e', 'e', 'e'], 11, 4);
    const weights = layout.shards.map((s) => s.weight);
    const indexes = layout.shards.map((_, i) => i);
    for (let c = 0; c < 200; c++) {
      const fingerprint = fingerprintOf(`turns-${c}`);
      const homes = new Set(
        Array.from({ length: 6 }, () => {
          const shard = defined(conversationOrder(fingerprint, weights, indexes, 3)[0], 'home');
          const parts = shardProjects(layout, defined(layout.shards[shard], 'shard'));
          return `${shard}/${parts[defined(projectRanking(fingerprint, parts)[0], 'first')]?.label}`;
        }),
      );
      expect(homes.size).toBe(1);
    }
  });
});
