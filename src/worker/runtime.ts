/**
 * The worker side's core: imports the task module, then runs every task it is given concurrently
 * on this worker's event loop, and sends results back in batches.
 */
import { performance } from 'node:perf_hooks';
import { epochNow } from '../epoch-now.js';
import { fromWire } from '../protocol/columns.js';
import type { MainToWorker, WorkerInit } from '../protocol/messages.js';
import { postResults, ResultWriter } from '../protocol/results.js';
import { serializeError } from '../protocol/serialize-error.js';
import { NO_TASK, SYNC_TASK_BATCH, SYNC_TASK_OFFSET } from '../protocol/sync-task.js';
import {
  FLUSH_COUNT,
  FLUSH_DELAY_MS,
  IDLE_CHECK_MS,
  START_SLICE_MS,
  START_SLICE_TASKS,
  STATS_MS,
} from '../protocol/timing.js';
import { loadTaskModule } from '../task-module.js';
import type { TaskModule } from '../types.js';
import type { Channel } from './channel.js';
import { LoadReport } from './load-report.js';
import { Aborts, Context } from './task-context.js';
import { TaskTracker } from './task-tracker.js';

/** One task in this many has its run time measured (the first of each batch always is). */
const RUN_TIME_SAMPLING = 8;

/**
 * The tasks of one `run` message: they start in offset order, over one or more slices. Nothing
 * is kept per task but what its abort or run-time sample needs.
 */
interface RunningBatch {
  readonly id: number;
  readonly inputs: unknown[];
  /** Tasks [0, started) have started. */
  started: number;
  /** Tasks started and not ended, or not started yet. */
  running: number;
  /** When the pool sent it (epoch ms), for the wait-time histogram. */
  readonly sentAt: number;
  /** Its tasks are suspects: tracked across awaits (see task-tracker.ts). */
  readonly tracked: boolean;
  readonly aborts: Aborts;
  /** When its sampled tasks (offsets 0, RUN_TIME_SAMPLING, ...) started (performance.now()). */
  readonly startTimes: number[];
  /** Offsets of its tasks that run inside the tracker, while any do. */
  trackedOffsets: Set<number> | undefined;
}

/** Runs the tasks of every batch it is sent, concurrently, and sends their results back. */
export class WorkerRuntime {
  private readonly batches = new Map<number, RunningBatch>();
  private running = 0;
  private readonly unsentResults = new ResultWriter();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  /** Batches whose tasks are not all started yet, oldest first. */
  private readonly startQueue: RunningBatch[] = [];
  /** Whether a start slice waits for the next turn (setImmediate). */
  private sliceScheduled = false;
  private closing = false;
  private taskFn: TaskModule['default'] = () => undefined;
  private readonly load: LoadReport;
  /** Made when the first suspects come. */
  private tracker: TaskTracker | undefined;

  constructor(
    private readonly channel: Channel,
    private readonly init: WorkerInit,
    /** A child process's way to tell the pool which suspect runs (see task-tracker.ts). */
    private readonly reportSuspect?: (batch: number, offset: number) => void,
  ) {
    this.load = new LoadReport(channel, STATS_MS, () => this.running);
  }

  async start(): Promise<void> {
    const loaded = await loadTaskModule(this.init.moduleUrl, this.init.workerId);
    if (!loaded.ok) {
      const { reason, error } = loaded;
      this.channel.post({ type: 'init-error', reason, error: serializeError(error) });
      return;
    }
    this.taskFn = loaded.task;
    this.channel.onMessage((message) => this.onMessage(message));
    this.channel.post({ type: 'ready' });
    this.load.start(IDLE_CHECK_MS);
  }

  private onMessage(message: MainToWorker): void {
    switch (message.type) {
      case 'run':
        this.runBatch(
          message.batch,
          fromWire(message.inputs),
          message.sentAt,
          message.track === true,
        );
        break;
      case 'abort': {
        const batch = this.batches.get(message.batch);
        if (!batch) break;
        for (const offset of message.offsets) {
          const reason = new Error(
            message.reason === 'timeout' ? 'Task timed out' : 'Task aborted',
          );
          reason.name = message.reason === 'timeout' ? 'TimeoutError' : 'AbortError';
          // A task not started yet fails when its turn comes, without running.
          batch.aborts.abort(offset, reason);
        }
        break;
      }
      case 'close':
        this.closing = true;
        this.exitIfIdle();
        break;
    }
  }

  private runBatch(id: number, inputs: unknown[], sentAt: number, tracked: boolean): void {
    const n = inputs.length;
    const batch: RunningBatch = {
      id,
      inputs,
      started: 0,
      running: n,
      sentAt,
      tracked,
      aborts: new Aborts(),
      // A plain array: a typed one this size lives off the heap, ~1 µs to make and to free.
      startTimes: [],
      trackedOffsets: undefined,
    };
    if (tracked && this.init.syncTask) {
      this.tracker ??= new TaskTracker(this.init.syncTask, this.reportSuspect);
    }
    this.batches.set(id, batch);
    this.running += n;
    this.load.tasksArrived();
    this.startQueue.push(batch);
    if (!this.sliceScheduled) this.startSlice();
  }

  /**
   * Start queued tasks, at most START_SLICE_TASKS (or START_SLICE_MS) per turn of the event loop:
   * a huge batch (with unbounded concurrency) then still streams its results back while it is
   * being started, and a message from the main thread (an abort) is never stuck behind it.
   */
  private readonly startSlice = (): void => {
    // Send the last slice's results first, so the pool refills this worker while it runs this
    // slice instead of after it.
    if (this.unsentResults.size >= FLUSH_COUNT) this.flush();
    this.sliceScheduled = false;
    let budget = START_SLICE_TASKS;
    const now = epochNow();
    const sliceStart = performance.now();
    let outOfTime = false;
    while (budget > 0 && this.startQueue.length > 0 && !outOfTime) {
      const batch = this.startQueue[0]!;
      const first = batch.started;
      const last = Math.min(batch.inputs.length, first + budget);
      const offset = this.startTasks(batch, first, last, sliceStart);
      outOfTime = offset < last;
      const end = offset;
      batch.started = end;
      // One sample per slice: its tasks all started about now.
      this.load.waitTimes.add(now - batch.sentAt, end - first);
      budget -= end - first;
      if (end === batch.inputs.length) this.startQueue.shift();
    }
    if (this.startQueue.length > 0) {
      this.sliceScheduled = true;
      setImmediate(this.startSlice);
    }
  };

  /**
   * Start tasks [first, last) of a batch, fewer if the slice runs out of time; returns where it
   * stopped. Apart from the slice's bookkeeping (a flush, a wait-time sample, the next turn's
   * timer): V8 compiles this hot loop small, and the once-a-turn rest is not compiled into it.
   */
  private startTasks(batch: RunningBatch, first: number, last: number, sliceStart: number): number {
    let offset = first;
    while (offset < last) {
      // One clock read serves two ends, every RUN_TIME_SAMPLING tasks: the sampled task's start,
      // and the slice's time check (tasks whose synchronous part is long must not hold the loop
      // for a whole slice: results, heartbeats and aborts wait on it).
      if (offset % RUN_TIME_SAMPLING === 0) {
        const now = performance.now();
        if (offset > first && now - sliceStart >= START_SLICE_MS) break;
        batch.startTimes[offset / RUN_TIME_SAMPLING] = now;
      }
      this.runTask(batch, offset);
      offset++;
    }
    return offset;
  }

  private runTask(batch: RunningBatch, offset: number): void {
    const input = batch.inputs[offset];
    // Not kept: the pool holds the input, and this one may be big.
    batch.inputs[offset] = undefined;
    const aborted = batch.aborts.reason(offset);
    if (aborted) {
      // Settled for the caller already: do not start it at all, nor count a run time.
      if (offset % RUN_TIME_SAMPLING === 0) batch.startTimes[offset / RUN_TIME_SAMPLING] = 0;
      this.fail(batch, offset, aborted);
      return;
    }
    const ctx = new Context(this.init.workerId, batch.aborts, offset);
    let result: unknown;
    const syncTask = this.init.syncTask;
    if (syncTask) {
      syncTask[SYNC_TASK_BATCH] = batch.id;
      syncTask[SYNC_TASK_OFFSET] = offset;
    }
    // While suspects run here, every task started beside them is tracked too: a culprit among
    // them would otherwise kill the worker unnamed, and the suspects with it, again.
    const tracker = this.tracker;
    try {
      if (tracker && (batch.tracked || tracker.busy)) {
        batch.trackedOffsets ??= new Set();
        batch.trackedOffsets.add(offset);
        result = tracker.run(batch.id, offset, batch.tracked, () => this.taskFn(input, ctx));
      } else {
        result = this.taskFn(input, ctx);
      }
    } catch (error) {
      this.fail(batch, offset, error);
      return;
    } finally {
      if (syncTask) syncTask[SYNC_TASK_BATCH] = NO_TASK;
    }
    // Plain values settle without a promise round trip; thenables are awaited. Reading `then`
    // may throw (a Proxy, a getter): that is the task's failure, not the worker's.
    let then: unknown;
    try {
      then = result !== null ? (result as PromiseLike<unknown>)?.then : undefined;
    } catch (error) {
      this.fail(batch, offset, error);
      return;
    }
    if (typeof then === 'function') {
      // Two closures per task, not an async method awaiting the promise: the same cost per task
      // and the worker's JIT compiles less (a cold 200,000-task run: 50 vs 65 ms of compiling).
      // The first does succeed()'s work itself: calling it, V8 compiled succeed() twice (alone,
      // once hot, then inlined into the closure), ~3 ms per worker on a cold run.
      try {
        then.call(
          result,
          (value: unknown) => {
            this.taskEnded(batch, offset);
            this.unsentResults.fulfilled(batch.id, offset, value);
            this.scheduleFlush();
          },
          (error: unknown) => this.fail(batch, offset, error),
        );
      } catch (error) {
        this.fail(batch, offset, error);
      }
    } else {
      this.succeed(batch, offset, result);
    }
  }

  private taskEnded(batch: RunningBatch, offset: number): void {
    // Sampled, and started (not failed for an abort before its turn).
    const started =
      offset % RUN_TIME_SAMPLING === 0 ? (batch.startTimes[offset / RUN_TIME_SAMPLING] ?? 0) : 0;
    if (started > 0) this.load.runTimes.add(performance.now() - started);
    batch.aborts.forget(offset);
    if (batch.trackedOffsets?.delete(offset)) this.tracker?.ended(batch.tracked);
    this.running--;
    if (--batch.running === 0) this.batches.delete(batch.id);
  }

  private succeed(batch: RunningBatch, offset: number, value: unknown): void {
    this.taskEnded(batch, offset);
    this.unsentResults.fulfilled(batch.id, offset, value);
    this.scheduleFlush();
  }

  private fail(batch: RunningBatch, offset: number, error: unknown): void {
    this.taskEnded(batch, offset);
    this.unsentResults.threw(batch.id, offset, error);
    this.scheduleFlush();
  }

  /**
   * Results go back in batches: at once when enough are unsent or the worker ran dry (so a lone
   * `run()` is not delayed), otherwise after a short delay that gathers more of them.
   */
  private scheduleFlush(): void {
    if (this.unsentResults.size >= FLUSH_COUNT || this.running === 0) {
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(this.flush, FLUSH_DELAY_MS);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    if (this.unsentResults.size === 0) return;
    postResults(this.unsentResults.take(), this.channel.post);
    this.exitIfIdle();
  };

  private exitIfIdle(): void {
    if (this.closing && this.running === 0 && this.unsentResults.size === 0) {
      // Exit explicitly: a task module's keep-alive sockets or timers must not hold the worker open.
      setImmediate(() => process.exit(0));
    }
  }
}
