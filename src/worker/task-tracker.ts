/**
 * Which task's code the event loop runs, across awaits — for the tasks the pool suspects only.
 * When a worker dies or blocks after an await, the pool cannot tell which of its tasks did it:
 * the sync-task cell names a task only during its synchronous part. It re-runs them all as
 * suspects, flagged in their 'run' message, and here each suspect runs inside an
 * AsyncLocalStorage context while an async hook notes, before every callback of a suspect (a
 * continuation, a timer, a tick), its task in the cell — so an endless loop, a process.exit() or
 * an allocation past the heap limit there names its task, as in a synchronous part. An uncaught
 * error or unhandled rejection names the suspect whose context it came from. Tasks started beside
 * suspects are tracked too (not named suspects, but named culprits if they do it): else a culprit
 * among them would kill the worker unnamed, and take the suspects down with it again.
 *
 * Cost: none on a worker running no suspects (the hook is off); while it runs some, an async hook
 * call per callback of every task on it — for the few re-runs a crash brings, not for every task.
 */
import { AsyncLocalStorage, createHook } from 'node:async_hooks';
import { NO_TASK, SYNC_TASK_BATCH, SYNC_TASK_OFFSET } from '../protocol/sync-task.js';

interface Suspect {
  readonly batch: number;
  readonly offset: number;
}

export class TaskTracker {
  private readonly context = new AsyncLocalStorage<Suspect>();
  private readonly hook = createHook({
    before: () => {
      const suspect = this.context.getStore();
      if (suspect) this.note(suspect);
    },
    after: () => {
      if (!this.context.getStore()) return;
      this.cell[SYNC_TASK_BATCH] = NO_TASK;
      this.report?.(NO_TASK, NO_TASK);
    },
  });
  /** Tracked tasks running now: the hook is on while there are any. */
  private tracked = 0;
  /** Suspects among them: while there are any, every task started is tracked. */
  private suspects = 0;

  /**
   * `report`: a child process's line to the pool (its cell is its own memory): a death that gives
   * no last word (out of memory) is then still pinned on the suspect that was running.
   */
  constructor(
    private readonly cell: Int32Array,
    private readonly report?: (batch: number, offset: number) => void,
  ) {
    // Runs before the worker dies of the error, in the context the error came from.
    process.on('uncaughtExceptionMonitor', () => {
      const suspect = this.context.getStore();
      if (suspect) this.note(suspect);
    });
  }

  /** Whether suspects run now (and so every task started is tracked). */
  get busy(): boolean {
    return this.suspects > 0;
  }

  /** Run a task function in its context. */
  run<T>(batch: number, offset: number, suspect: boolean, task: () => T): T {
    if (this.tracked++ === 0) this.hook.enable();
    if (suspect) this.suspects++;
    return this.context.run({ batch, offset }, task);
  }

  /** A tracked task ended. */
  ended(suspect: boolean): void {
    if (suspect) this.suspects--;
    if (--this.tracked === 0) this.hook.disable();
  }

  private note(suspect: Suspect): void {
    this.cell[SYNC_TASK_BATCH] = suspect.batch;
    this.cell[SYNC_TASK_OFFSET] = suspect.offset;
    this.report?.(suspect.batch, suspect.offset);
  }
}
