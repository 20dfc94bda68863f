/**
 * Task timeouts: one timer for the whole pool (Deadlines). At a batch's deadline its unsettled
 * tasks time out at once — or, when their worker has gone silent (its loop may be blocked by one
 * task, and then the others are late through no fault of their own), once the hang watch decides.
 */
import { TimeoutError } from '../errors.js';
import { Deadlines } from './deadlines.js';
import type { HangWatch } from './hang-watch.js';
import type { Batch, TaskTable } from './task-table.js';
import type { Workers } from './workers.js';

export class Timeouts {
  private readonly deadlines = new Deadlines<Batch>((batch) => this.onDeadline(batch));

  constructor(
    private readonly tasks: TaskTable,
    private readonly workers: Workers,
    private readonly hangWatch: HangWatch,
  ) {}

  /** Time out the batch's tasks `timeout` ms from now (Infinity: never). */
  add(batch: Batch, timeout: number): void {
    if (timeout !== Number.POSITIVE_INFINITY) this.deadlines.add(batch, timeout);
  }

  clear(): void {
    this.deadlines.clear();
  }

  private onDeadline(batch: Batch): void {
    const worker = batch.worker;
    const offsets = this.tasks.unsettledOffsets(batch);
    if (offsets.length === 0) return;
    if (worker.state === 'ready' && this.hangWatch.isSilent(worker, performance.now())) {
      this.hangWatch.holdOverdue(worker, batch, offsets);
      return;
    }
    const error = new TimeoutError(batch.job.timeout);
    for (const offset of offsets) this.tasks.settleWhileRunning(batch, offset, error);
    this.workers.abortTasks(batch, offsets, 'timeout');
    this.hangWatch.watch(worker);
  }
}
