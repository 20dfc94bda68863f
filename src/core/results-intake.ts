/**
 * A worker's results messages, read into the task table: each task they name has ended. A run of
 * fulfilled tasks of one batch settles at once; a result that came after its deadline is a
 * timeout for the caller (the timer had not fired yet: a busy main thread, or a deadline held for
 * the hang watch's verdict).
 */
import { DataCloneError, TaskError, TimeoutError } from '../errors.js';
import type { ResultsMessage, TaskFailure } from '../protocol/messages.js';
import { readResults } from '../protocol/results.js';
import { reviveError, type SerializedError } from '../protocol/serialize-error.js';
import type { ErrorRetries } from './error-retries.js';
import type { QueueProbe } from './queue-probe.js';
import type { Batch, TaskTable } from './task-table.js';
import type { WorkerRecord } from './workers.js';

export class ResultsIntake {
  /**
   * When the message being read arrived (performance.now()). A double from the start (not 0, a
   * small integer): V8 would otherwise change this object's hidden class at the first message and
   * drop the code compiled against it.
   */
  private at = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly tasks: TaskTable,
    private readonly probe: QueueProbe,
    private readonly errorRetries: ErrorRetries,
  ) {}

  /** Read a results message of `worker` that arrived at `at`. */
  read(worker: WorkerRecord, message: ResultsMessage, at: number): void {
    this.at = at;
    readResults(message, worker.tasks.batches, this.onFulfilled, this.onFailed);
  }

  /** Tasks of one batch fulfilled: `offsets[i]` with `values[i]`, i in [from, to). */
  private readonly onFulfilled = (
    batch: Batch,
    offsets: Int32Array,
    values: readonly unknown[],
    from: number,
    to: number,
  ): void => {
    if (this.probe.collecting) this.probe.ended(batch.id, batch.sentAt, this.at, to - from);
    if (this.at > batch.deadline) {
      for (let i = from; i < to; i++) this.late(batch, offsets[i]!);
      return;
    }
    this.errorRetries.onSuccess(batch.sentAt, this.at, to - from);
    this.tasks.onFulfilledRun(batch, offsets, values, from, to);
  };

  private readonly onFailed = (
    batch: Batch,
    offset: number,
    kind: TaskFailure['kind'],
    error: SerializedError,
  ): void => {
    if (this.probe.collecting) this.probe.ended(batch.id, batch.sentAt, this.at, 1);
    if (this.at > batch.deadline) {
      this.late(batch, offset);
      return;
    }
    const cause = reviveError(error);
    const failure = kind === 'threw' ? new TaskError(cause) : new DataCloneError('output', cause);
    this.tasks.onTaskEnded(batch, offset, false, failure);
  };

  /** A result after its deadline: for the caller, the task timed out. */
  private late(batch: Batch, offset: number): void {
    this.tasks.onTaskEnded(batch, offset, false, new TimeoutError(batch.job.timeout));
  }
}
