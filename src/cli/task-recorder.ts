/**
 * Samples, for `--chart`, how many tasks were in flight, the limit on them, and how long the
 * tasks that ended in each sample interval had been in flight (see flight-curves.ts: a mean,
 * from the pool's counters alone). The counters are read several times per interval.
 */
import type { PoolStats } from '../types.js';
import { FlightCurves } from './flight-curves.js';

/** What is read from the pool (or the `--workers 0` runner), several times per interval. */
export type TaskCounts = Pick<
  PoolStats,
  'inFlight' | 'limit' | 'done' | 'failed' | 'retried' | 'retriedErrors'
>;

/** One value per sample of the recording, each over the interval that ends at its time. */
export interface TaskSeries {
  /** Mean tasks in flight over the interval. */
  readonly inFlight: number[];
  /** Mean limit on tasks in flight over the interval; Infinity when there is none. */
  readonly limit: number[];
  /** Tasks that left flight in the interval: settled, or ended and waiting for a re-run. */
  readonly completed: number[];
  /** Mean time in flight (ms) of the tasks that left flight; NaN where none did. */
  readonly latencyMs: number[];
}

export class TaskRecorder {
  private readonly series: TaskSeries = { inFlight: [], limit: [], completed: [], latencyMs: [] };
  /** Each interval's length (ms): merging two intervals weights them by it. */
  private readonly durations: number[] = [];
  private last: { at: number; inFlight: number; limit: number };
  /** Integrals over the open interval (value × ms). */
  private inFlightArea = 0;
  private limitArea = 0;
  private elapsed = 0;
  private endedBefore: number;
  private readonly curves = new FlightCurves();

  constructor(
    private readonly read: () => TaskCounts,
    now = performance.now(),
  ) {
    const stats = read();
    this.last = { at: now, inFlight: stats.inFlight, limit: stats.limit };
    this.endedBefore = ended(stats);
    this.curves.add(now, this.endedBefore + stats.inFlight, this.endedBefore);
  }

  /** Read the counts between samples: a mean over one reading per interval would be a guess. */
  tick(now = performance.now()): TaskCounts {
    const stats = this.read();
    const ms = now - this.last.at;
    // ms 0 would make Infinity × 0 = NaN of an unbounded limit.
    if (ms > 0) {
      this.inFlightArea += ((this.last.inFlight + stats.inFlight) / 2) * ms;
      this.limitArea += ((this.last.limit + stats.limit) / 2) * ms;
      this.elapsed += ms;
    }
    this.last = { at: now, inFlight: stats.inFlight, limit: stats.limit };
    const total = ended(stats);
    this.curves.add(now, total + stats.inFlight, total);
    return stats;
  }

  /** Close the interval that ends now: one value in each series. */
  sample(now = performance.now()): void {
    const stats = this.tick(now);
    const total = ended(stats);
    const completed = Math.max(0, total - this.endedBefore);
    this.endedBefore = total;
    const ms = this.elapsed;
    this.push({
      inFlight: ms > 0 ? this.inFlightArea / ms : stats.inFlight,
      limit: ms > 0 ? this.limitArea / ms : stats.limit,
      completed,
      latencyMs: this.curves.meanTimeInFlight(total - completed, total),
      ms,
    });
    this.inFlightArea = 0;
    this.limitArea = 0;
    this.elapsed = 0;
  }

  recording(): TaskSeries {
    return this.series;
  }

  /** Merge each pair of intervals into one, as the load recorder does with its samples. */
  halve(): void {
    const { inFlight, limit, completed, latencyMs } = this.series;
    const half = Math.floor(this.durations.length / 2);
    const merged = Array.from({ length: half }, (_, i): Interval => {
      const a = 2 * i;
      const b = a + 1;
      const ms = [this.durations[a]!, this.durations[b]!] as const;
      const ends = [completed[a]!, completed[b]!] as const;
      return {
        inFlight: weightedMean([inFlight[a]!, inFlight[b]!], ms),
        limit: weightedMean([limit[a]!, limit[b]!], ms),
        completed: ends[0] + ends[1],
        // A mean over the tasks that ended: weighted by how many did (none: no weight, NaN).
        latencyMs: weightedMean(
          [ends[0] > 0 ? latencyMs[a]! : 0, ends[1] > 0 ? latencyMs[b]! : 0],
          ends,
          Number.NaN,
        ),
        ms: ms[0] + ms[1],
      };
    });
    for (const list of [...Object.values(this.series), this.durations]) list.length = 0;
    for (const interval of merged) this.push(interval);
  }

  /** Rounded: float noise (600.0000001) would show as a scale of 601, and bloat the JSON. */
  private push(interval: Interval): void {
    this.series.inFlight.push(round(interval.inFlight));
    this.series.limit.push(round(interval.limit));
    this.series.completed.push(interval.completed);
    this.series.latencyMs.push(round(interval.latencyMs));
    this.durations.push(interval.ms);
  }
}

interface Interval {
  readonly inFlight: number;
  readonly limit: number;
  readonly completed: number;
  readonly latencyMs: number;
  readonly ms: number;
}

/**
 * Every task that left flight: settled, failed for a re-run, or lost with its worker (which the
 * pool re-runs). The same count the pool's own queue probe uses, plus the crash re-runs.
 */
function ended(stats: TaskCounts): number {
  return stats.done + stats.failed + stats.retriedErrors + stats.retried;
}

/**
 * Weights of 0 (no time passed) and an unbounded limit (Infinity × 0) give `otherwise`: by
 * default the plain mean.
 */
function weightedMean(
  values: readonly [number, number],
  weights: readonly [number, number],
  otherwise = (values[0] + values[1]) / 2,
): number {
  const total = weights[0] + weights[1];
  const mean = (values[0] * weights[0] + values[1] * weights[1]) / total;
  return total > 0 && !Number.isNaN(mean) ? mean : otherwise;
}

/** To a thousandth (of a task, of a ms); Infinity and NaN stay as they are. */
function round(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 1000) / 1000 : value;
}
