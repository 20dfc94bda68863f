/**
 * The pool's workers: starting them, their states, who waits for them to be ready, whether they
 * keep the process alive, and the messages that stop their tasks or themselves. Each worker's
 * record groups its state by owner: `tasks` (the task table), `silence` (the hang watch),
 * `load` (stats); the rest is this module's.
 */

import { startProcessWorker } from '../backends/process.js';
import { startThreadWorker } from '../backends/thread.js';
import type { StartWorker, WorkerExit, WorkerHandle } from '../backends/worker-handle.js';
import type { ResolvedOptions } from '../options.js';
import type { WorkerInit, WorkerToMain } from '../protocol/messages.js';
import { createSyncTaskCell } from '../protocol/sync-task.js';
import { newSilence, type Silence } from './hang-watch.js';
import { initialLoad, type WorkerLoad } from './stats.js';
import { type Batch, emptyTasks, type WorkerTasks } from './task-table.js';

export interface WorkerRecord {
  readonly id: number;
  readonly handle: WorkerHandle;
  /** 'replacing': being terminated for a hang or for given-up tasks; a new worker follows. */
  state: 'starting' | 'ready' | 'replacing' | 'closing' | 'gone';
  /**
   * The task whose synchronous part the worker is running (protocol/sync-task.ts): shared with
   * a thread, reported by a process's watchdog. Read only once its loop is found blocked,
   * or once it died, to tell the culprit from bystanders.
   */
  readonly syncTask: Int32Array;
  readonly tasks: WorkerTasks;
  readonly silence: Silence;
  load: WorkerLoad;
}

export interface WorkersEvents {
  message(worker: WorkerRecord, message: WorkerToMain): void;
  exit(worker: WorkerRecord, exit: WorkerExit): void;
  /** Whether a job is active (see updateKeepAlive). */
  hasJobs(): boolean;
}

export class Workers {
  readonly list: WorkerRecord[] = [];
  private nextId = 0;
  private readonly readyWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];

  constructor(
    private readonly moduleUrl: string,
    private readonly options: ResolvedOptions,
    private readonly events: WorkersEvents,
    private readonly start: StartWorker = options.backend === 'thread'
      ? startThreadWorker
      : startProcessWorker,
  ) {}

  spawn(): void {
    const id = this.nextId++;
    // Where the worker notes the task its loop is inside: shared with a thread; a process's
    // watchdog reports it instead (see protocol/sync-task.ts).
    const thread = this.options.backend === 'thread';
    const syncTask = createSyncTaskCell(thread);
    const init: WorkerInit = {
      moduleUrl: this.moduleUrl,
      syncTask: thread ? syncTask : undefined,
      workerId: id,
    };
    const events = {
      message: (message: WorkerToMain) => this.events.message(worker, message),
      exit: (exit: WorkerExit) => this.events.exit(worker, exit),
    };
    const limits = { maxMemoryMb: this.options.maxMemoryMb };
    const worker: WorkerRecord = {
      id,
      state: 'starting',
      syncTask,
      tasks: emptyTasks(),
      silence: newSilence(),
      load: initialLoad(),
      handle: this.start(init, events, limits, syncTask),
    };
    worker.handle.setKeepAlive(this.events.hasJobs() || this.readyWaiters.length > 0);
    this.list.push(worker);
  }

  /** The worker is gone: forget it. */
  remove(worker: WorkerRecord): void {
    worker.state = 'gone';
    const index = this.list.indexOf(worker);
    if (index !== -1) this.list.splice(index, 1);
  }

  anyStarting(): boolean {
    return this.list.some((worker) => worker.state === 'starting');
  }

  /** Resolves once no worker is starting. */
  whenReady(): Promise<void> {
    if (!this.anyStarting()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.readyWaiters.push({ resolve, reject });
      this.updateKeepAlive();
    });
  }

  onReady(worker: WorkerRecord): void {
    if (worker.state === 'starting') worker.state = 'ready';
    if (this.anyStarting()) return;
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
    this.updateKeepAlive();
  }

  rejectWaiters(error: Error): void {
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
  }

  /**
   * Workers keep the process alive while there is work: a job, a task still running (one that
   * timed out, say), a wait for them to start or to exit. An idle pool someone forgot to close
   * must not hang the program.
   */
  updateKeepAlive(): void {
    this.setKeepAlive(
      this.events.hasJobs() ||
        this.readyWaiters.length > 0 ||
        this.list.some(
          (worker) =>
            worker.tasks.running > 0 || worker.state === 'closing' || worker.state === 'gone',
        ),
    );
  }

  setKeepAlive(keepAlive: boolean): void {
    for (const worker of this.list) worker.handle.setKeepAlive(keepAlive);
  }

  /**
   * Ask every worker to exit once its tasks end; resolves once all are gone. `closing` sees each
   * one first (to watch what still runs there).
   */
  async closeAll(closing: (worker: WorkerRecord) => void): Promise<void> {
    const workers = this.list;
    for (const worker of workers) if (worker.state !== 'gone') worker.state = 'closing';
    // Hold the process open until the workers are really gone.
    this.updateKeepAlive();
    await Promise.all(
      workers.map(async (worker) => {
        if (worker.state === 'gone') return;
        try {
          worker.handle.send({ type: 'close' });
        } catch {
          // Already gone: terminate below is a no-op then.
        }
        closing(worker);
        await worker.handle.exited;
      }),
    );
  }

  /** Stop every worker now; resolves once all are gone. */
  async terminateAll(): Promise<void> {
    await Promise.all(
      this.list.map((worker) => {
        worker.state = 'gone';
        // Hold the process open until they are gone (see updateKeepAlive): code after
        // `await destroy()` must run.
        worker.handle.setKeepAlive(true);
        return worker.handle.terminate();
      }),
    );
  }

  /** Fire the signals of tasks given up on: they should end soon and free their places. */
  abortTasks(batch: Batch, offsets: number[], reason: 'timeout' | 'abort'): void {
    if (offsets.length === 0 || batch.worker.state === 'gone') return;
    try {
      batch.worker.handle.send({ type: 'abort', batch: batch.id, offsets, reason });
    } catch {
      // The worker is on its way out; its exit handler deals with its tasks.
    }
  }

  /** Terminate a worker that cannot go on (a blocked loop, given-up tasks holding its places). */
  replace(worker: WorkerRecord, replacedFor: 'other' | 'unknown'): void {
    worker.silence.replacedFor = replacedFor;
    if (worker.state === 'ready') worker.state = 'replacing';
    void worker.handle.terminate();
  }
}
