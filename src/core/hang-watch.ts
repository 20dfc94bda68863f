/**
 * Telling a blocked worker from a busy one, and replacing it. A worker with tasks talks at least
 * every few ms (results, idle and load reports, a heartbeat); one that stays silent past a
 * deadline has a task blocking its event loop (an endless loop, a CPU hog), which no signal can
 * stop. Also: tasks given up on that ignore their signal and never end hold their places for
 * good; once they hold half of a worker's, it is replaced too.
 */
import { TimeoutError } from '../errors.js';
import { NO_TASK, SYNC_TASK_BATCH, SYNC_TASK_OFFSET } from '../protocol/sync-task.js';
import { HANG_GRACE_MS, SILENCE_MS } from '../protocol/timing.js';
import type { Batch, TaskTable } from './task-table.js';
import type { WorkerRecord, Workers } from './workers.js';

/**
 * Tasks given up on (timed out, aborted) keep their places until they end. Once such tasks have
 * held at least half of a worker's running places this long, the worker is replaced (its other
 * tasks run again, uncounted): neither a long run nor close() can be stalled by them.
 */
const GIVEN_UP_GRACE_MS = 1000;

/** A worker's silence, as the hang watch keeps it. */
export interface Silence {
  /** When the worker last sent anything: a blocked event loop sends nothing. */
  lastHeard: number;
  /** Tasks past their deadline while the worker was silent, awaiting the watch's verdict. */
  readonly overdue: Array<{ batch: Batch; offset: number }>;
  hangTimer: NodeJS.Timeout | undefined;
  givenUpTimer: NodeJS.Timeout | undefined;
  /**
   * Why it was replaced, for its tasks' re-runs: another task's fault (a known culprit, given-up
   * tasks), or an unknown one's (all run again as suspects).
   */
  replacedFor: 'other' | 'unknown';
}

export function newSilence(): Silence {
  return {
    lastHeard: performance.now(),
    overdue: [],
    hangTimer: undefined,
    givenUpTimer: undefined,
    replacedFor: 'unknown',
  };
}

export class HangWatch {
  /** Looks for workers blocked past maxBlockMs while tasks run (none: an idle pool sleeps). */
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly tasks: TaskTable,
    private readonly workers: Workers,
    /** The longest a worker's loop may block, deadline or not (see options.ts). */
    private readonly maxBlockMs: number,
  ) {}

  /** Tasks run: look for blocked workers until stop(). */
  start(): void {
    if (this.sweeper || this.maxBlockMs === Number.POSITIVE_INFINITY) return;
    const every = Math.min(5000, Math.max(50, this.maxBlockMs / 4));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  /** No task runs: nothing can block. */
  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** A worker silent for maxBlockMs less the verdict's grace gets a verdict. */
  private sweep(): void {
    const now = performance.now();
    for (const worker of this.workers.list) {
      if (worker.state !== 'ready' && worker.state !== 'closing') continue;
      if (worker.tasks.running === 0) continue;
      if (now - worker.silence.lastHeard >= Math.max(SILENCE_MS, this.maxBlockMs - HANG_GRACE_MS)) {
        this.watch(worker);
      }
    }
  }

  /** Whether the worker has said nothing for SILENCE_MS: its loop may be blocked. */
  isSilent(worker: WorkerRecord, now: number): boolean {
    return now - worker.silence.lastHeard > SILENCE_MS;
  }

  /** Tasks past their deadline on a silent worker: the watch settles them once it decides. */
  holdOverdue(worker: WorkerRecord, batch: Batch, offsets: number[]): void {
    for (const offset of offsets) worker.silence.overdue.push({ batch, offset });
    this.watch(worker);
  }

  /**
   * A task was given up on and should end once its signal fires. If its worker then says nothing
   * at all for HANG_GRACE_MS — no result, no idle report — a task is blocking its event loop:
   * replace the worker. The culprit, when the worker could say which task it was inside (its
   * synchronous part, or a suspect's code anywhere), settles with TimeoutError; tasks merely stuck
   * behind it run again elsewhere. When it could not, all run again as suspects, uncharged.
   */
  watch(worker: WorkerRecord): void {
    const silence = worker.silence;
    if (silence.hangTimer) return;
    const since = performance.now();
    silence.hangTimer = setTimeout(() => {
      silence.hangTimer = undefined;
      const overdue = silence.overdue.splice(0);
      // A closing worker is watched too: close() waits for it, so a blocked one must go.
      if (worker.state !== 'ready' && worker.state !== 'closing') return;
      const silent = silence.lastHeard <= since && worker.tasks.running > 0;
      const now = performance.now();
      const culprit = silent ? (this.syncTaskOf(worker) ?? this.loneTaskOf(worker)) : undefined;
      const blocked = now - silence.lastHeard >= this.maxBlockMs;
      // A known culprit still within its own timeout is a long task, not a hang: leave it be —
      // unless its caller gave up on it (aborted), when nobody waits for it any more, or it
      // blocked the loop past maxBlockMs.
      const hung =
        silent &&
        (culprit === undefined ||
          culprit.batch.deadline <= now ||
          blocked ||
          this.tasks.isGivenUp(culprit.batch, culprit.offset));
      for (const { batch, offset } of overdue) {
        if (!this.tasks.isUnsettled(batch, offset)) continue;
        // Hung by another task, known or not: this one runs again (a suspect, if unknown).
        if (hung && !(culprit && batch === culprit.batch && offset === culprit.offset)) continue;
        this.tasks.settleWhileRunning(batch, offset, new TimeoutError(batch.job.timeout));
        if (!hung) this.workers.abortTasks(batch, [offset], 'timeout');
      }
      if (!hung) {
        if (silence.overdue.length > 0) this.watch(worker);
        return;
      }
      if (culprit) {
        const error =
          culprit.batch.deadline <= now
            ? new TimeoutError(culprit.batch.job.timeout)
            : new TimeoutError(
                this.maxBlockMs,
                `The task blocked its worker's event loop for more than ${this.maxBlockMs} ms (maxBlockMs)`,
              );
        this.tasks.settleWhileRunning(culprit.batch, culprit.offset, error);
      }
      // Its other tasks were stuck behind a known culprit: they run again without it counting.
      // Behind an unknown one, all run again as suspects, tracked, until it names itself.
      this.workers.replace(worker, culprit !== undefined ? 'other' : 'unknown');
    }, HANG_GRACE_MS);
    silence.hangTimer.unref();
  }

  /** Replace the worker if given-up tasks still hold half its places after GIVEN_UP_GRACE_MS. */
  watchGivenUp(worker: WorkerRecord): void {
    const silence = worker.silence;
    if (silence.givenUpTimer || worker.tasks.givenUp === 0) return;
    silence.givenUpTimer = setTimeout(() => {
      silence.givenUpTimer = undefined;
      if (worker.state !== 'ready' && worker.state !== 'closing') return;
      const { givenUp, running } = worker.tasks;
      if (givenUp === 0) return;
      if (givenUp * 2 < running) return; // re-armed as their share grows
      // Its live tasks are not at fault: they run again without counting as a retry.
      this.workers.replace(worker, 'other');
    }, GIVEN_UP_GRACE_MS);
    silence.givenUpTimer.unref();
  }

  /** The one task still running on the worker, if there is just one: then it is the culprit. */
  private loneTaskOf(worker: WorkerRecord): { batch: Batch; offset: number } | undefined {
    if (worker.tasks.running !== 1) return undefined;
    for (const batch of worker.tasks.batches.values()) {
      for (let offset = 0; offset < batch.state.length; offset++) {
        if (!this.tasks.hasEnded(batch, offset)) return { batch, offset };
      }
    }
    return undefined;
  }

  /**
   * The task the blocked loop is inside, if the worker could note it (its synchronous part, or
   * anywhere in a suspect's code).
   * Settled counts too: a task that timed out while the loop still answered, and blocked it
   * afterwards, is still the culprit.
   */
  private syncTaskOf(worker: WorkerRecord): { batch: Batch; offset: number } | undefined {
    const noted = worker.syncTask[SYNC_TASK_BATCH]!;
    if (noted === NO_TASK) return undefined;
    const batch = worker.tasks.batches.get(noted);
    const offset = worker.syncTask[SYNC_TASK_OFFSET]!;
    if (batch && !this.tasks.hasEnded(batch, offset)) return { batch, offset };
    return undefined;
  }
}
