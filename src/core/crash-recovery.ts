/**
 * What happens to the tasks of a worker that died under them: each runs again elsewhere, up to
 * `retries` counted attempts, then fails with WorkerCrashedError. Only the culprit's attempt
 * counts when the worker died inside one task's code (the worker noted which), or was replaced
 * for a known culprit's hang or for given-up tasks: one bad input must not use up the retries of
 * every task that shared its worker. When nobody knows which task it was, none is charged: all
 * run again as suspects, tracked, so the culprit names itself next time. Re-runs wait here and are dealt before new
 * inputs. Also: workers that die before they are ready, which the pool cannot recover from.
 */

import type { WorkerExit } from '../backends/worker-handle.js';
import { WorkerCrashedError } from '../errors.js';
import { NO_TASK, SYNC_TASK_BATCH, SYNC_TASK_OFFSET } from '../protocol/sync-task.js';
import { type Attempts, type Fault, NO_ATTEMPTS, nextAttempts } from './attempts.js';
import type { Job } from './job.js';
import type { Stats } from './stats.js';
import { indexOf, type TaskTable } from './task-table.js';
import type { WorkerRecord } from './workers.js';

/** Workers in a row that may die before they are ready before the pool gives up. */
export const MAX_START_FAILURES = 3;

/** A task whose worker died under it, waiting to run again. */
export interface Retry {
  readonly job: Job;
  readonly index: number;
  readonly input: unknown;
  readonly attempts: Attempts;
}

export class CrashRecovery {
  private queue: Retry[] = [];
  /** Workers that died before they were ready, since one last became ready. */
  private startFailures = 0;

  constructor(
    private readonly retries: number,
    private readonly tasks: TaskTable,
    private readonly stats: Stats,
  ) {}

  /** Re-runs waiting, those of finished jobs left out (they are dropped lazily, in take). */
  get waiting(): number {
    let count = this.queue.length;
    for (const retry of this.queue) if (retry.job.finished) count--;
    return count;
  }

  get hasWaiting(): boolean {
    return this.queue.length > 0;
  }

  /** Up to `max` re-runs, oldest first; those of finished jobs are dropped. */
  take(max: number): Retry[] {
    const live = this.queue.filter((retry) => !retry.job.finished);
    this.queue = live.slice(max);
    return live.slice(0, max);
  }

  /** Inputs sent to a worker that was already dying: they never reached it, no attempt used. */
  requeue(retry: Retry): void {
    this.queue.push(retry);
  }

  /** No job is left: no re-run will be dealt, and none should hold its input. */
  clear(): void {
    this.queue = [];
  }

  onReady(): void {
    this.startFailures = 0;
  }

  /** A worker died before it was ready; returns whether the pool must give up. */
  diedAtStart(): boolean {
    return ++this.startFailures >= MAX_START_FAILURES;
  }

  /** Settle or re-queue every task its callers still wait for on a worker that died. */
  recover(worker: WorkerRecord, exit: WorkerExit, replaced: boolean): void {
    const cause = exit.error ?? new Error(describeExit(exit));
    const error = new WorkerCrashedError(
      `Worker ${worker.id} died while running the task: ${describeExit(exit)}`,
      { cause },
    );
    // Died inside one task's code (process.exit, an allocation past maxMemoryMb, an uncaught
    // error — a suspect's anywhere, another's in its synchronous part): that task is the culprit.
    // A replaced worker's culprit, if known, is settled already.
    const culpritBatch = replaced ? NO_TASK : worker.syncTask[SYNC_TASK_BATCH]!;
    const culpritOffset = worker.syncTask[SYNC_TASK_OFFSET]!;
    // Nobody to blame, and one task there: it was alone, so it did it.
    const unnamed = replaced ? worker.silence.replacedFor === 'unknown' : culpritBatch === NO_TASK;
    const there = unnamed ? census(worker, this.tasks) : undefined;
    const alone = !replaced && there?.unsettled === 1;
    // Nobody named, with every task there tracked: the death came from no task's code (a kill
    // from outside, setup's timers) and counts toward the backstop for all.
    const allTracked = there !== undefined && there.suspects === there.unsettled;
    this.tasks.clearWorker(worker, (batch, offset) => {
      const before = batch.attempts?.[offset] ?? NO_ATTEMPTS;
      let fault: Fault;
      if (alone) fault = 'own';
      else if (unnamed) fault = before.suspect && !allTracked ? 'tracked' : 'unknown';
      else if (replaced) fault = 'other';
      else fault = batch.id === culpritBatch && offset === culpritOffset ? 'own' : 'other';
      const attempts = nextAttempts(before, fault);
      if (attempts.counted > this.retries) {
        this.tasks.settleLost(batch, offset, error);
      } else {
        this.stats.retried++;
        const input = batch.inputs[offset];
        this.queue.push({ job: batch.job, index: indexOf(batch, offset), input, attempts });
      }
    });
  }
}

/** Tasks its callers still wait for on the worker, and the suspects among them. */
function census(worker: WorkerRecord, tasks: TaskTable): { unsettled: number; suspects: number } {
  let unsettled = 0;
  let suspects = 0;
  for (const batch of worker.tasks.batches.values()) {
    for (const offset of tasks.unsettledOffsets(batch)) {
      unsettled++;
      if (batch.attempts?.[offset]?.suspect) suspects++;
    }
  }
  return { unsettled, suspects };
}

export function describeExit(exit: WorkerExit): string {
  const code = (exit.error as { code?: string } | undefined)?.code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') return `it ran out of memory (${exit.error!.message})`;
  if (exit.error) return `uncaught ${exit.error.name}: ${exit.error.message}`;
  if (exit.signal) return `it was killed by ${exit.signal}`;
  return `it exited with code ${exit.code}`;
}
