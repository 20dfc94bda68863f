/**
 * Tasks that failed and are to run again: with the pool's own over-admission (EMFILE, ENFILE: it
 * let in more than the process's descriptors allow), always, unreported, up to
 * MAX_OVER_ADMISSION_RERUNS times after a short back-off — a task that leaks descriptors still
 * fails; and with their own error (threw, or passed their timeout) when `retryErrors` asks. The failed run has ended on its worker (or, timed out, goes on there without
 * its caller): the retry waits out its delay here, on the main thread, under one timer for the
 * pool and holding no worker's slot, then joins the crash re-runs, which are dealt before new
 * inputs. Its job stays open meanwhile (the task is still in flight for it).
 */
import { type Attempts, afterError, afterOverAdmission, NO_ATTEMPTS } from './attempts.js';
import type { CrashRecovery, Retry } from './crash-recovery.js';
import { DelayQueue } from './delay-queue.js';
import { overloadKind } from './overload.js';
import { type RetryOptions, retryDelayAfter, retryDelayFor } from './retry-policy.js';
import type { Stats } from './stats.js';
import { type Batch, indexOf } from './task-table.js';

/** Re-runs of one task after over-admission before its EMFILE is its answer. */
export const MAX_OVER_ADMISSION_RERUNS = 8;
/** The first back-off after over-admission (ms), doubling: descriptors free up as tasks end. */
const OVER_ADMISSION_DELAY_MS = 50;

export class ErrorRetries {
  private readonly waiting = new DelayQueue<Retry>((retry) => this.onDue(retry));

  constructor(
    private readonly options: RetryOptions,
    private readonly recovery: CrashRecovery,
    private readonly stats: Stats,
    /** Deal what is due (soon: retries due together go out as one batch). */
    private readonly dispatch: () => void,
    /** The pool let in too much: back off. */
    private readonly overAdmitted: () => void,
  ) {}

  /** Retries waiting for their delay, those of finished jobs left out. */
  get count(): number {
    if (this.waiting.size === 0) return 0;
    let count = 0;
    for (const retry of this.waiting.items()) if (!retry.job.finished) count++;
    return count;
  }

  /** A task failed with `error`: returns whether it will run again after a delay. */
  consider(batch: Batch, offset: number, error: Error): boolean {
    const job = batch.job;
    if (job.finished) return false;
    const attempts = batch.attempts?.[offset] ?? NO_ATTEMPTS;
    if (
      attempts.overAdmitted < MAX_OVER_ADMISSION_RERUNS &&
      overloadKind(error) === 'over-admission'
    ) {
      this.overAdmitted();
      const delay = retryDelayFor(attempts.overAdmitted + 1, OVER_ADMISSION_DELAY_MS);
      this.wait(batch, offset, afterOverAdmission(attempts), delay);
      return true;
    }
    const delay = retryDelayAfter(this.options, error, attempts.errors + 1);
    if (delay < 0) return false;
    this.stats.retriedErrors++;
    this.wait(batch, offset, afterError(attempts), delay);
    return true;
  }

  private wait(batch: Batch, offset: number, attempts: Attempts, delay: number): void {
    batch.job.retryWaiting++;
    const index = indexOf(batch, offset);
    const input = batch.inputs[offset];
    this.waiting.add({ job: batch.job, index, input, attempts }, delay);
  }

  /** No job is left: none of the waiting retries will run. */
  clear(): void {
    this.waiting.clear();
  }

  private onDue(retry: Retry): void {
    // A finished job's retry is dropped here: nobody waits for it.
    if (retry.job.finished) return;
    retry.job.retryWaiting--;
    this.recovery.requeue(retry);
    this.dispatch();
  }
}
