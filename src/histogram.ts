/**
 * A log-scale histogram of durations (ms): 8 buckets per doubling from 1 µs, so a percentile is
 * within about 5 % of the true value, in a fixed few hundred counters however many tasks run.
 * Workers fill their own and send only the buckets that changed (see `takeDelta`).
 */
const PER_DOUBLING = 8;
const SMALLEST_MS = 0.001;
/** Bucket 0 holds everything up to 1 µs; the last one everything past about 200 days. */
const BUCKETS = 1 + PER_DOUBLING * 44;

export interface Percentiles {
  /** Samples so far. */
  readonly count: number;
  /** Milliseconds; 0 when there are no samples. */
  readonly p50: number;
  readonly p99: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  /** Counts not yet taken by takeDelta(). */
  private readonly fresh = new Float64Array(BUCKETS);
  private total = 0;

  add(ms: number, times = 1): void {
    const bucket = bucketOf(ms);
    this.counts[bucket]! += times;
    this.fresh[bucket]! += times;
    this.total += times;
  }

  /** The counts added since the last call, as [bucket, count, bucket, count, ...]. */
  takeDelta(): number[] {
    const delta: number[] = [];
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      const count = this.fresh[bucket]!;
      if (count === 0) continue;
      delta.push(bucket, count);
      this.fresh[bucket] = 0;
    }
    return delta;
  }

  /** Add another histogram's delta (from takeDelta). */
  addDelta(delta: readonly number[]): void {
    for (let i = 0; i + 1 < delta.length; i += 2) {
      const bucket = delta[i]!;
      const count = delta[i + 1]!;
      if (bucket < 0 || bucket >= BUCKETS) continue;
      this.counts[bucket]! += count;
      this.total += count;
    }
  }

  percentiles(): Percentiles {
    return { count: this.total, p50: this.quantile(0.5), p99: this.quantile(0.99) };
  }

  private quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = q * this.total;
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return bucketValue(bucket);
    }
    return bucketValue(BUCKETS - 1);
  }
}

function bucketOf(ms: number): number {
  if (!(ms > SMALLEST_MS)) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log2(ms / SMALLEST_MS) * PER_DOUBLING));
}

/** A bucket's middle (geometric), in ms. */
function bucketValue(bucket: number): number {
  if (bucket === 0) return SMALLEST_MS / 2;
  return SMALLEST_MS * 2 ** ((bucket - 0.5) / PER_DOUBLING);
}
