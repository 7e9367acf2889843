/**
 * An in-memory Workers Analytics Engine dataset: what `npm start` binds where a stack binds a dataset
 * (`analytics_engine`), so the gateway's usage data points can be counted offline. It checks each point against
 * Analytics Engine's limits and throws as the binding does on a bad one, keeps the points in memory (the oldest let
 * go past {@link MAX_POINTS}), and, unlike Cloudflare's write-only binding, reads them back (`read`), for the shard's
 * status view.
 *
 * Self-contained on purpose: the emulation bundles this file alone into the module workerd loads
 * (`./analytics-engine.ts`), so it imports nothing.
 *
 * @module
 */

/** Analytics Engine's limits per data point (developers.cloudflare.com/analytics/analytics-engine/limits/). */
export const LIMITS = { blobs: 20, doubles: 20, indexes: 1, indexBytes: 96, blobBytes: 16 * 1024 } as const;

/** Points kept; past it the oldest go, so a long `npm start` session holds a few megabytes at most. */
export const MAX_POINTS = 20_000;

/** A data point as written, and when. */
export interface StoredPoint {
  readonly timestamp: number;
  readonly blobs: readonly string[];
  readonly doubles: readonly number[];
  readonly indexes: readonly string[];
}

interface DataPointInput {
  readonly blobs?: readonly unknown[];
  readonly doubles?: readonly unknown[];
  readonly indexes?: readonly unknown[];
}

const encoder = new TextEncoder();

function strings(field: string, values: readonly unknown[], max: number): string[] {
  if (values.length > max) throw new TypeError(`${field}: at most ${max} values, got ${values.length}`);
  return values.map((v, i) => {
    if (v === null) return '';
    if (typeof v !== 'string') throw new TypeError(`${field}[${i}] must be a string, got ${typeof v}`);
    return v;
  });
}

/** The point as stored, or a TypeError naming what breaks the limits. */
export function checkedPoint(input: unknown, timestamp: number): StoredPoint {
  if (input === null || typeof input !== 'object') throw new TypeError('a data point must be an object');
  const point = input as DataPointInput;
  const blobs = strings('blobs', point.blobs ?? [], LIMITS.blobs);
  const indexes = strings('indexes', point.indexes ?? [], LIMITS.indexes);
  const doubles = (point.doubles ?? []).map((v, i) => {
    if (typeof v !== 'number') throw new TypeError(`doubles[${i}] must be a number, got ${typeof v}`);
    return v;
  });
  if (doubles.length > LIMITS.doubles) throw new TypeError(`doubles: at most ${LIMITS.doubles} values`);
  const index = indexes[0] ?? '';
  if (encoder.encode(index).byteLength > LIMITS.indexBytes) {
    throw new TypeError(`indexes[0] is over ${LIMITS.indexBytes} bytes`);
  }
  const blobBytes = blobs.reduce((sum, blob) => sum + encoder.encode(blob).byteLength, 0);
  if (blobBytes > LIMITS.blobBytes) throw new TypeError(`blobs total ${blobBytes} bytes, over ${LIMITS.blobBytes}`);
  return { timestamp, blobs, doubles, indexes };
}

export class InMemoryDataset {
  private points: StoredPoint[] = [];
  private dropped = 0;

  constructor(
    /** the dataset's name, as the binding names it */
    readonly dataset: string,
    private readonly now: () => number = () => Date.now(),
  ) {}

  writeDataPoint(input: unknown): void {
    this.points.push(checkedPoint(input, this.now()));
    if (this.points.length > MAX_POINTS) {
      const excess = this.points.length - MAX_POINTS;
      this.points = this.points.slice(excess);
      this.dropped += excess;
    }
  }

  /** Every point kept, oldest first, and how many were let go. */
  read(): { readonly points: readonly StoredPoint[]; readonly dropped: number } {
    return { points: [...this.points], dropped: this.dropped };
  }
}
