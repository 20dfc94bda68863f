/**
 * Tasks that failed with their own error (threw, or passed their timeout) and are to run again
 * (`retryErrors`). The failed run has ended on its worker (or, timed out, goes on there without
 * its caller): the retry waits out its delay here, on the main thread, under one timer for the
 * pool and holding no worker's slot, then joins the crash re-runs, which are dealt before new
 * inputs. Its job stays open meanwhile (the task is still in flight for it).
 */
import { afterError, NO_ATTEMPTS } from './attempts.js';
import type { CrashRecovery, Retry } from './crash-recovery.js';
import { DelayQueue } from './delay-queue.js';
import { type RetryOptions, retryDelayAfter } from './retry-policy.js';
import type { Stats } from './stats.js';
import { type Batch, indexOf } from './task-table.js';

export class ErrorRetries {
  private readonly waiting = new DelayQueue<Retry>((retry) => this.onDue(retry));

  constructor(
    private readonly options: RetryOptions,
    private readonly recovery: CrashRecovery,
    private readonly stats: Stats,
    /** Deal what is due (soon: retries due together go out as one batch). */
    private readonly dispatch: () => void,
  ) {}

  /** Whether `retryErrors` is on at all: without it, failures never come here. */
  get enabled(): boolean {
    return this.options.retryErrors > 0;
  }

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
    const delay = retryDelayAfter(this.options, error, attempts.errors + 1);
    if (delay < 0) return false;
    this.stats.retriedErrors++;
    job.retryWaiting++;
    const index = indexOf(batch, offset);
    const input = batch.inputs[offset];
    this.waiting.add({ job, index, input, attempts: afterError(attempts) }, delay);
    return true;
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
