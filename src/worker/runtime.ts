/**
 * The worker side's core: imports the task module, then runs every task it is given concurrently
 * on this worker's event loop, and sends results back in batches.
 */
import { performance } from 'node:perf_hooks';
import { epochNow } from '../epoch-now.js';
import type { MainToWorker, WorkerInit } from '../protocol/messages.js';
import { postResults, ResultWriter } from '../protocol/results.js';
import { serializeError } from '../protocol/serialize-error.js';
import { NO_TASK, SYNC_TASK_BATCH, SYNC_TASK_OFFSET } from '../protocol/sync-task.js';
import { START_SLICE_MS, START_SLICE_TASKS } from '../protocol/timing.js';
import { loadTaskModule } from '../task-module.js';
import type { TaskModule } from '../types.js';
import type { Channel } from './channel.js';
import { LoadReport } from './load-report.js';
import { Context } from './task-context.js';

/** One task in this many has its run time measured (the first of each batch always is). */
const RUN_TIME_SAMPLING = 8;

/** The tasks of one `run` message still running, by offset. */
interface RunningBatch {
  readonly contexts: Array<Context | undefined>;
  /** Aborts that arrived before their task started (a huge batch starts over several turns). */
  early: Map<number, Error> | undefined;
  running: number;
}

/** Runs the tasks of every batch it is sent, concurrently, and sends their results back. */
export class WorkerRuntime {
  private readonly batches = new Map<number, RunningBatch>();
  private running = 0;
  private readonly unsentResults = new ResultWriter();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  /** Batches whose tasks are not all started yet, and whether a start turn is scheduled. */
  private readonly toStart: Array<{
    id: number;
    batch: RunningBatch;
    inputs: unknown[];
    next: number;
    sentAt: number;
  }> = [];
  private starting = false;
  private closing = false;
  private taskFn: TaskModule['default'] = () => undefined;
  private readonly load: LoadReport;

  constructor(
    private readonly channel: Channel,
    private readonly init: WorkerInit,
  ) {
    this.load = new LoadReport(channel, init.statsMs, () => this.running);
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
    this.load.start(this.init.idleCheckMs);
  }

  private onMessage(message: MainToWorker): void {
    switch (message.type) {
      case 'run':
        this.runBatch(message.batch, message.inputs, message.sentAt);
        break;
      case 'abort': {
        const batch = this.batches.get(message.batch);
        if (!batch) break;
        for (const offset of message.offsets) {
          const reason = new Error(
            message.reason === 'timeout' ? 'Task timed out' : 'Task aborted',
          );
          reason.name = message.reason === 'timeout' ? 'TimeoutError' : 'AbortError';
          const ctx = batch.contexts[offset];
          if (ctx) {
            ctx.abort(reason);
          } else {
            batch.early ??= new Map();
            batch.early.set(offset, reason);
          }
        }
        break;
      }
      case 'close':
        this.closing = true;
        this.exitIfIdle();
        break;
    }
  }

  /**
   * Start a batch's tasks, at most START_SLICE_TASKS per turn of the event loop: a huge batch (with
   * unbounded concurrency) then still streams its results back while it is being started, and a
   * message from the main thread (an abort) is never stuck behind it.
   */
  private runBatch(id: number, inputs: unknown[], sentAt: number): void {
    const n = inputs.length;
    const batch: RunningBatch = { contexts: new Array(n), early: undefined, running: n };
    this.batches.set(id, batch);
    this.running += n;
    this.load.tasksArrived();
    this.toStart.push({ id, batch, inputs, next: 0, sentAt });
    if (!this.starting) this.startSome();
  }

  private readonly startSome = (): void => {
    // The last slice's tasks have settled by now (tiny ones within the same turn): send their
    // results before starting more, so the pool refills this worker while it runs this slice.
    // Left to the flush's own turn, they would go out only after this slice too, and a worker fed
    // tiny tasks would drain its whole window, then sit idle for a round trip each time.
    if (this.unsentResults.size >= this.init.flushCount) this.flush();
    this.starting = false;
    let budget = START_SLICE_TASKS;
    const now = epochNow();
    const sliceStart = performance.now();
    let outOfTime = false;
    while (budget > 0 && this.toStart.length > 0 && !outOfTime) {
      const pending = this.toStart[0]!;
      let end = Math.min(pending.inputs.length, pending.next + budget);
      for (let offset = pending.next; offset < end; offset++) {
        this.runTask(pending.id, pending.batch, offset, pending.inputs[offset]);
        // Tasks whose synchronous part is long (CPU work before the first await) must not hold
        // the loop for a whole slice: results, heartbeats and aborts wait on it. Checked every
        // few tasks, so tiny ones do not pay for the clock.
        if ((offset & 7) === 7 && performance.now() - sliceStart >= START_SLICE_MS) {
          end = offset + 1;
          outOfTime = true;
        }
      }
      // One sample per slice: its tasks all started about now.
      this.load.waitTimes.add(now - pending.sentAt, end - pending.next);
      budget -= end - pending.next;
      pending.next = end;
      if (end === pending.inputs.length) this.toStart.shift();
    }
    if (this.toStart.length > 0) {
      this.starting = true;
      setImmediate(this.startSome);
    }
  };

  private runTask(id: number, batch: RunningBatch, offset: number, input: unknown): void {
    const aborted = batch.early?.get(offset);
    if (aborted) {
      // Settled for the caller already: do not start it at all.
      this.fail(id, batch, offset, aborted);
      return;
    }
    // Run times are sampled, one task in RUN_TIME_SAMPLING: timing every one cost tiny tasks 10 %.
    const sampled = offset % RUN_TIME_SAMPLING === 0;
    const ctx = new Context(this.init.workerId, sampled ? performance.now() : -1);
    batch.contexts[offset] = ctx;
    let result: unknown;
    const syncTask = this.init.current;
    if (syncTask) {
      syncTask[SYNC_TASK_BATCH] = id;
      syncTask[SYNC_TASK_OFFSET] = offset;
    }
    try {
      result = this.taskFn(input, ctx);
    } catch (error) {
      this.fail(id, batch, offset, error);
      return;
    } finally {
      if (syncTask) syncTask[SYNC_TASK_BATCH] = NO_TASK;
    }
    // Plain values settle without a promise round trip; thenables are awaited.
    if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') {
      (result as PromiseLike<unknown>).then(
        (value) => this.succeed(id, batch, offset, value),
        (error) => this.fail(id, batch, offset, error),
      );
    } else {
      this.succeed(id, batch, offset, result);
    }
  }

  private finish(id: number, batch: RunningBatch, offset: number): void {
    const ctx = batch.contexts[offset];
    if (ctx !== undefined && ctx.started >= 0)
      this.load.runTimes.add(performance.now() - ctx.started);
    batch.contexts[offset] = undefined;
    this.running--;
    if (--batch.running === 0) this.batches.delete(id);
  }

  private succeed(id: number, batch: RunningBatch, offset: number, value: unknown): void {
    this.finish(id, batch, offset);
    this.unsentResults.fulfilled(id, offset, value);
    this.scheduleFlush();
  }

  private fail(id: number, batch: RunningBatch, offset: number, error: unknown): void {
    this.finish(id, batch, offset);
    this.unsentResults.threw(id, offset, error);
    this.scheduleFlush();
  }

  /**
   * Results go back in batches: at once when enough are pending or the worker ran dry (so a lone
   * `run()` is not delayed), otherwise after a short delay that gathers more of them.
   */
  private scheduleFlush(): void {
    if (this.unsentResults.size >= this.init.flushCount || this.running === 0) {
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    } else if (!this.flushTimer) {
      this.flushTimer = setTimeout(this.flush, this.init.flushDelayMs);
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
