/**
 * The pool's counters since its start, the task time histograms and each worker's load: what
 * `stats()` returns, cheap enough to read every 100 ms (a progress bar).
 */
import { Histogram } from '../histogram.js';
import type { WorkerToMain } from '../protocol/messages.js';
import { STATS_STALE_MS } from '../protocol/timing.js';
import type { PoolStats, WorkerStats } from '../types.js';
import type { WorkerRecord } from './workers.js';

/** A worker's event loop, as of its last load report. */
export interface WorkerLoad {
  /** When the report came (performance.now()). */
  readonly at: number;
  /** The event loop's busy and idle time (ms) since the worker started. */
  readonly active: number;
  readonly idle: number;
  /** Its busy fraction between the last two reports. */
  readonly utilization: number;
}

export function initialLoad(): WorkerLoad {
  return { at: performance.now(), active: 0, idle: 0, utilization: 0 };
}

export class Stats {
  /** Inputs settled with a value, with an error, and re-runs after a worker died. */
  done = 0;
  failed = 0;
  retried = 0;
  /** Re-runs of tasks that failed with their own error (`retryErrors`). */
  retriedErrors = 0;
  private readonly runTimes = new Histogram();
  private readonly waitTimes = new Histogram();

  onLoadReport(
    worker: WorkerRecord,
    report: Extract<WorkerToMain, { type: 'stats' }>,
    at: number,
  ): void {
    const busy = report.active - worker.load.active;
    const total = busy + report.idle - worker.load.idle;
    worker.load = {
      at,
      active: report.active,
      idle: report.idle,
      utilization: total > 0 ? Math.min(1, Math.max(0, busy / total)) : 0,
    };
    this.runTimes.addDelta(report.runTimes);
    this.waitTimes.addDelta(report.waitTimes);
  }

  snapshot(workers: readonly WorkerRecord[], queued: number, limit: number): PoolStats {
    const now = performance.now();
    let inFlight = 0;
    const workerStats: WorkerStats[] = [];
    for (const worker of workers) {
      if (worker.state === 'gone') continue;
      const running = worker.tasks.running;
      inFlight += running;
      // A worker reports while it has tasks; one silent for long is either idle or blocked.
      const stale = now - worker.load.at > STATS_STALE_MS;
      const utilization = stale ? (running > 0 ? 1 : 0) : worker.load.utilization;
      workerStats.push({
        id: worker.id,
        state: worker.state === 'replacing' ? 'ready' : worker.state,
        running,
        utilization,
      });
    }
    return {
      done: this.done,
      failed: this.failed,
      retried: this.retried,
      retriedErrors: this.retriedErrors,
      inFlight,
      limit,
      queued,
      workers: workerStats,
      runTime: this.runTimes.percentiles(),
      waitTime: this.waitTimes.percentiles(),
    };
  }
}
