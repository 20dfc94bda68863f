/**
 * The worker side: imports the task module, then runs every task it is given concurrently on this
 * worker's event loop, and sends results back in batches.
 */
import { writeSync } from 'node:fs';
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { epochNow } from '../epoch-now.js';
import { Histogram } from '../histogram.js';
import type {
  CrashMessage,
  MainToChild,
  MainToWorker,
  WorkerInit,
  WorkerToMain,
} from '../protocol/messages.js';
import { postResults, ResultWriter } from '../protocol/results.js';
import { serializeError } from '../protocol/serialize-error.js';
import {
  createSyncTaskCell,
  formatWatchdogLine,
  NO_TASK,
  SYNC_TASK_BATCH,
  SYNC_TASK_OFFSET,
  WATCHDOG_FD,
} from '../protocol/sync-task.js';
import {
  HEARTBEAT_MS,
  IDLE_UTILIZATION,
  START_SLICE_MS,
  START_SLICE_TASKS,
  WATCHDOG_CHECK_MS,
  WATCHDOG_STUCK_MS,
} from '../protocol/timing.js';
import { loadTaskModule } from '../task-module.js';
import type { TaskContext, TaskModule } from '../types.js';

interface Channel {
  post(message: WorkerToMain): void;
  onMessage(handler: (message: MainToWorker) => void): void;
}

function threadChannel(): Channel {
  const port = parentPort!;
  return {
    post: (message) => port.postMessage(message),
    onMessage: (handler) => port.on('message', handler),
  };
}

/**
 * IPC messages are events, not a queue: one that arrives before the runtime listens (a 'close'
 * while the task module is still importing) would be lost, so hold them until it does.
 */
function processChannel(onInit: (init: WorkerInit) => void): Channel {
  const early: MainToWorker[] = [];
  let deliver: ((message: MainToWorker) => void) | undefined;
  process.on('message', (message: MainToChild) => {
    if (message.type === 'init') onInit(message.init);
    else if (deliver) deliver(message);
    else early.push(message);
  });
  return {
    post: (message) => process.send!(message),
    onMessage: (handler) => {
      deliver = handler;
      for (const message of early.splice(0)) handler(message);
    },
  };
}

/** Per-task state. The AbortController is created only if the task reads `ctx.signal`. */
class Context implements TaskContext {
  controller: AbortController | undefined;
  abortReason: Error | undefined;
  constructor(
    readonly workerId: number,
    /** performance.now() when the task started, if its run time is sampled (else -1). */
    readonly started: number,
  ) {}
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }
  abort(reason: Error): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

/** One task in this many has its run time measured (the first of each batch always is). */
const RUN_TIME_SAMPLING = 8;

/** The tasks of one `run` message still running, by offset. */
interface RunningBatch {
  readonly contexts: Array<Context | undefined>;
  /** Aborts that arrived before their task started (a huge batch starts over several turns). */
  early: Map<number, Error> | undefined;
  running: number;
}

class WorkerRuntime {
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
  private readonly runTimes = new Histogram();
  private readonly waitTimes = new Histogram();
  private lastStats = 0;
  /** Whether a report is due even without tasks (the last one still showed some running). */
  private statsOwed = false;

  constructor(
    private readonly channel: Channel,
    private readonly init: WorkerInit,
  ) {}

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
    setInterval(this.checkIdle, this.init.idleCheckMs).unref();
  }

  private lastUtilization: EventLoopUtilization = performance.eventLoopUtilization();

  /**
   * Tasks that wait on I/O leave the loop idle: then this worker can take more of them at once,
   * and says so. A busy loop never asks, so CPU-bound tasks are not piled onto it.
   */
  private lastPost = 0;

  private readonly checkIdle = (): void => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, this.lastUtilization);
    this.lastUtilization = now;
    const time = performance.now();
    if ((this.running > 0 || this.statsOwed) && time - this.lastStats >= this.init.statsMs) {
      this.postStats(now, time);
    }
    if (this.running === 0) return;
    if (utilization < IDLE_UTILIZATION) {
      this.channel.post({ type: 'idle' });
      this.lastPost = time;
    } else if (time - this.lastPost >= HEARTBEAT_MS) {
      // Busy but turning its loop: say so, or the pool would take it for blocked (see engine).
      this.channel.post({ type: 'alive' });
      this.lastPost = time;
    }
  };

  private postStats(utilization: EventLoopUtilization, time: number): void {
    this.lastStats = time;
    this.statsOwed = this.running > 0;
    this.channel.post({
      type: 'stats',
      active: utilization.active,
      idle: utilization.idle,
      runTimes: this.runTimes.takeDelta(),
      waitTimes: this.waitTimes.takeDelta(),
    });
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
    this.statsOwed = true;
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
      this.waitTimes.add(now - pending.sentAt, end - pending.next);
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
    if (ctx !== undefined && ctx.started >= 0) this.runTimes.add(performance.now() - ctx.started);
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

/**
 * A child process cannot share memory with the pool, so a thread in the child watches where its
 * main thread is: a task stuck in its synchronous part for WATCHDOG_STUCK_MS is reported on the
 * WATCHDOG_FD pipe ("batch offset"), and "-1 -1" once it moves on. Then a hung process's culprit
 * is known, as with threads, and its other tasks are not blamed. It also ends the process once
 * the pool's process is gone, whatever its main thread is doing.
 */
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { syncTask, fd, checkMs, stuckMs } = workerData;
const formatLine = ${formatWatchdogLine};
const noTask = ${NO_TASK};
let batch = noTask, offset = noTask, since = Date.now(), reported = false;
const report = (line) => { try { writeSync(fd, line); } catch {} };
// The pool's process is gone (kill -9): the main thread would notice only once its loop turns,
// and a task stuck in a loop would keep an orphan running, so end the process from here.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  const nowBatch = Atomics.load(syncTask, ${SYNC_TASK_BATCH});
  const nowOffset = Atomics.load(syncTask, ${SYNC_TASK_OFFSET});
  if (nowBatch !== batch || nowOffset !== offset) {
    if (reported) report(formatLine(noTask, noTask));
    batch = nowBatch; offset = nowOffset; since = Date.now(); reported = false;
  } else if (!reported && batch !== noTask && Date.now() - since >= stuckMs) {
    report(formatLine(batch, offset));
    reported = true;
  }
}, checkMs);
`;

function startWatchdog(): Int32Array {
  const syncTask = createSyncTaskCell(true);
  const watchdog = new Worker(WATCHDOG_SOURCE, {
    eval: true,
    workerData: {
      syncTask,
      fd: WATCHDOG_FD,
      checkMs: WATCHDOG_CHECK_MS,
      stuckMs: WATCHDOG_STUCK_MS,
    },
    // It needs none of the parent's loader flags (tsx...).
    execArgv: [],
  });
  // It never keeps the process alive, and it dies with it.
  watchdog.unref();
  return syncTask;
}

const onThread = !isMainThread && parentPort !== null;
if (onThread) {
  void new WorkerRuntime(threadChannel(), workerData as WorkerInit).start();
} else if (process.send) {
  const channel: Channel = processChannel((init) => {
    const syncTask = startWatchdog();
    // process.exit() inside a task's synchronous part: tell the pool which task it was, on the
    // watchdog's pipe (written before the process is gone), so only that task's attempt counts.
    process.on('exit', () => {
      const batch = Atomics.load(syncTask, SYNC_TASK_BATCH);
      if (batch === NO_TASK) return;
      try {
        writeSync(WATCHDOG_FD, formatWatchdogLine(batch, Atomics.load(syncTask, SYNC_TASK_OFFSET)));
      } catch {
        // The pool is gone too.
      }
    });
    void new WorkerRuntime(channel, { ...init, current: syncTask }).start();
  });
  // Tell the pool why this process is about to die, so the task's error can name the cause.
  const crash = (error: unknown): void => {
    try {
      const lastWords: CrashMessage = { type: 'crash', error: serializeError(error) };
      process.send!(lastWords);
    } finally {
      process.exit(1);
    }
  };
  process.on('uncaughtException', crash);
  // The pool's process is gone (even by kill -9): do not linger as an orphan.
  process.on('disconnect', () => process.exit(0));
  process.on('unhandledRejection', crash);
}
