/**
 * The private engine behind `Pool`: it owns the workers, pulls inputs from the active jobs, deals
 * them to workers in batches, and routes each result back to its job exactly once.
 */
import { Deadlines } from './deadlines.ts';
import {
  AbortError,
  DataCloneError,
  type PolyloopError,
  PoolClosedError,
  TaskError,
  TaskModuleError,
  TimeoutError,
  WorkerCrashedError,
} from './errors.ts';
import { Job, type JobSink } from './job.ts';
import type { WorkerInit, WorkerToMain } from './messages.ts';
import type { ResolvedOptions } from './options.ts';
import { reviveError } from './serialize-error.ts';
import type { Inputs } from './types.ts';
import { startThreadWorker, type WorkerExit, type WorkerHandle } from './worker-handle.ts';

/** A dispatched, not yet settled task. */
export interface Task {
  readonly id: number;
  readonly job: Job;
  readonly index: number;
  readonly input: unknown;
  readonly worker: WorkerSlot;
  /** Set once the task's outcome was handed to its job (by a result, a timeout or an abort). */
  settled: boolean;
  deadline: number;
}

interface WorkerSlot {
  readonly workerId: number;
  readonly handle: WorkerHandle;
  state: 'starting' | 'ready' | 'closing' | 'gone';
  /** Tasks sent to the worker that it has not reported finished, settled or not. */
  readonly tasks: Map<number, Task>;
}

/** Tasks dealt to one worker per round, so the first fill interleaves inputs across workers. */
const DEAL_CHUNK = 32;
/** A worker reports results when this many are pending, or after FLUSH_DELAY_MS. */
const FLUSH_COUNT = 256;
const FLUSH_DELAY_MS = 4;

export class Engine {
  private readonly workers: WorkerSlot[] = [];
  private readonly jobs: Job[] = [];
  private readonly deadlines = new Deadlines<Task>((task) => this.onTimeout(task));
  private nextTaskId = 0;
  private nextWorkerId = 0;
  /** Rotates which worker and which job are served first, so none is favoured. */
  private workerTurn = 0;
  private jobTurn = 0;
  private dispatching = false;
  private dispatchAgain = false;
  private fatal: Error | undefined;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly moduleUrl: string,
    private readonly options: ResolvedOptions,
  ) {
    for (let i = 0; i < options.workers; i++) this.spawn();
  }

  /** Start a job over `inputs`; its outcome goes to `sink`. */
  submit(
    inputs: Inputs<unknown>,
    sink: JobSink,
    call: { timeout: number; signal: AbortSignal | undefined; pacedByConsumer: boolean },
  ): Job {
    const job = new Job(
      inputs,
      {
        settle: (index, input, ok, result) => sink.settle(index, input, ok, result),
        fail: (error) => {
          this.abandon(job);
          sink.fail(error);
        },
        done: () => {
          this.remove(job);
          sink.done();
        },
      },
      {
        timeout: call.timeout,
        signal: call.signal,
        lookahead: this.options.workers * this.options.concurrency,
        pacedByConsumer: call.pacedByConsumer,
      },
      () => this.dispatch(),
    );
    const refusal =
      this.fatal ??
      (this.closed ? new PoolClosedError() : undefined) ??
      (call.signal?.aborted ? abortErrorFor(call.signal) : undefined);
    if (refusal) {
      job.stop();
      queueMicrotask(() => sink.fail(refusal));
      return job;
    }
    if (call.signal) {
      const signal = call.signal;
      const onAbort = (): void => this.cancel(job, abortErrorFor(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      job.cleanup = () => signal.removeEventListener('abort', onAbort);
    }
    this.jobs.push(job);
    this.setKeepAlive(true);
    job.fetch();
    // Dispatch on the next microtask, so the caller holds the job before any of it settles.
    queueMicrotask(() => this.dispatch());
    return job;
  }

  /**
   * Cancel a job: stop pulling its inputs, fire `ctx.signal` of its tasks still running, and fail
   * it with `error` (its unsettled inputs are not reported one by one).
   */
  cancel(job: Job, error: Error): void {
    // The job's sink (see submit) abandons the job before reporting the failure.
    if (this.jobs.includes(job)) job.sink.fail(error);
  }

  /** Stop a job without reporting its unsettled tasks (its consumer is gone, or it already failed). */
  abandon(job: Job): void {
    job.stop();
    const tasks = this.tasksOf(job);
    for (const task of tasks) task.settled = true;
    this.abortInWorkers(tasks, 'abort');
    this.remove(job);
  }

  /** The consumer of a stream took `count` results: it may pull more. */
  release(job: Job, count: number): void {
    job.release(count);
    this.dispatch();
  }

  /** Resolves once no job is active (every input pulled and settled). */
  whenIdle(): Promise<void> {
    if (this.jobs.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** No more jobs; stop the workers once the active jobs are done. */
  async close(): Promise<void> {
    this.closed = true;
    await this.whenIdle();
    this.deadlines.clear();
    await Promise.all(
      this.workers.map(async (worker) => {
        if (worker.state === 'gone') return;
        worker.state = 'closing';
        try {
          worker.handle.send({ type: 'close' });
        } catch {
          // Already gone: terminate below is a no-op then.
        }
        await worker.handle.exited;
      }),
    );
  }

  /** Abort every job (each unsettled task settles with AbortError) and stop the workers now. */
  async destroy(): Promise<void> {
    this.closed = true;
    const error = new AbortError('The pool was destroyed');
    for (const job of [...this.jobs]) this.cancel(job, error);
    this.deadlines.clear();
    await Promise.all(
      this.workers.map((worker) => {
        worker.state = 'gone';
        return worker.handle.terminate();
      }),
    );
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- workers ----

  private spawn(): void {
    const workerId = this.nextWorkerId++;
    const init: WorkerInit = {
      moduleUrl: this.moduleUrl,
      workerId,
      flushCount: FLUSH_COUNT,
      flushDelayMs: FLUSH_DELAY_MS,
    };
    const slot: WorkerSlot = {
      workerId,
      state: 'starting',
      tasks: new Map(),
      handle: startThreadWorker(init, {
        message: (message) => this.onMessage(slot, message),
        exit: (exit) => this.onExit(slot, exit),
      }),
    };
    slot.handle.setKeepAlive(this.jobs.length > 0);
    this.workers.push(slot);
  }

  private onMessage(worker: WorkerSlot, message: WorkerToMain): void {
    switch (message.type) {
      case 'ready':
        if (worker.state === 'starting') worker.state = 'ready';
        this.dispatch();
        break;
      case 'results':
        this.onResults(worker, message);
        break;
      case 'init-error':
        this.onFatal(
          new TaskModuleError(this.moduleUrl, initFailureMessage(message.reason), {
            cause: reviveError(message.error),
          }),
        );
        break;
    }
  }

  private onResults(worker: WorkerSlot, message: Extract<WorkerToMain, { type: 'results' }>): void {
    const { okIds, values, failures } = message;
    for (let i = 0; i < okIds.length; i++) {
      const task = worker.tasks.get(okIds[i]!);
      if (task === undefined) continue;
      worker.tasks.delete(task.id);
      this.settle(task, true, values[i]);
    }
    for (const failure of failures) {
      const task = worker.tasks.get(failure.id);
      if (task === undefined) continue;
      worker.tasks.delete(task.id);
      const cause = reviveError(failure.error);
      this.settle(
        task,
        false,
        failure.kind === 'threw' ? new TaskError(cause) : new DataCloneError('output', cause),
      );
    }
    this.dispatch();
  }

  private onExit(worker: WorkerSlot, exit: WorkerExit): void {
    const expected = worker.state === 'closing' || worker.state === 'gone';
    worker.state = 'gone';
    const index = this.workers.indexOf(worker);
    if (expected || (this.closed && this.jobs.length === 0)) return;
    // An unexpected death: its unsettled tasks fail (retries come with the reliability work),
    // and a fresh worker takes its place.
    const cause = exit.error ?? new Error(`Worker exited with code ${exit.code}`);
    const error = new WorkerCrashedError(`Worker ${worker.workerId} died: ${cause.message}`, {
      cause,
    });
    for (const task of worker.tasks.values()) this.settle(task, false, error);
    worker.tasks.clear();
    if (index !== -1) this.workers.splice(index, 1);
    if (!this.fatal) this.spawn();
    this.dispatch();
  }

  private onFatal(error: PolyloopError): void {
    if (this.fatal) return;
    this.fatal = error;
    for (const job of [...this.jobs]) job.sink.fail(error);
    for (const worker of this.workers) {
      worker.state = 'gone';
      void worker.handle.terminate();
    }
  }

  private setKeepAlive(keepAlive: boolean): void {
    for (const worker of this.workers) worker.handle.setKeepAlive(keepAlive);
  }

  // ---- dispatch ----

  /**
   * Deal ready inputs to workers with free slots, DEAL_CHUNK at a time in turn (so no worker gets
   * a long contiguous run of inputs at start), then send each worker its share as one message.
   */
  private dispatch(): void {
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    try {
      do {
        this.dispatchAgain = false;
        this.dealOnce();
      } while (this.dispatchAgain);
    } finally {
      this.dispatching = false;
    }
  }

  private dealOnce(): void {
    const ready = this.workers.filter((w) => w.state === 'ready');
    if (ready.length === 0 || this.jobs.length === 0) return;
    const n = ready.length;
    const outgoing: Array<{ jobs: Job[]; indices: number[]; inputs: unknown[] }> = ready.map(
      () => ({ jobs: [], indices: [], inputs: [] }),
    );
    const free = ready.map((w) => this.options.concurrency - w.tasks.size);
    const start = this.workerTurn++ % n;
    let dealt = true;
    while (dealt) {
      dealt = false;
      for (let k = 0; k < n; k++) {
        const w = (start + k) % n;
        const want = Math.min(free[w]!, DEAL_CHUNK);
        if (want <= 0) continue;
        const got = this.takeInputs(want, outgoing[w]!);
        if (got === 0) break;
        free[w]! -= got;
        dealt = true;
      }
    }
    for (let w = 0; w < n; w++) {
      const batch = outgoing[w]!;
      if (batch.inputs.length > 0) this.send(ready[w]!, batch.jobs, batch.indices, batch.inputs);
    }
  }

  /** Take up to `max` inputs from the jobs, in turn. */
  private takeInputs(
    max: number,
    out: { jobs: Job[]; indices: number[]; inputs: unknown[] },
  ): number {
    let taken = 0;
    for (let tries = 0; tries < this.jobs.length && taken < max; tries++) {
      const job = this.jobs[this.jobTurn++ % this.jobs.length]!;
      if (!job.hasReady()) continue;
      const base = job.dispatched;
      const got = job.take(max - taken, out.inputs);
      for (let i = 0; i < got; i++) {
        out.jobs.push(job);
        out.indices.push(base + i);
      }
      taken += got;
    }
    return taken;
  }

  private send(worker: WorkerSlot, jobs: Job[], indices: number[], inputs: unknown[]): void {
    const firstId = this.nextTaskId;
    this.nextTaskId += inputs.length;
    try {
      worker.handle.send({ type: 'run', firstId, inputs });
    } catch {
      this.sendOneByOne(worker, firstId, jobs, indices, inputs);
      return;
    }
    const now = performance.now();
    for (let i = 0; i < inputs.length; i++) {
      this.track(worker, firstId + i, jobs[i]!, indices[i]!, inputs[i], now);
    }
  }

  /** A batch failed to clone: send its inputs one by one so only the bad ones fail. */
  private sendOneByOne(
    worker: WorkerSlot,
    firstId: number,
    jobs: Job[],
    indices: number[],
    inputs: unknown[],
  ): void {
    const now = performance.now();
    for (let i = 0; i < inputs.length; i++) {
      const id = firstId + i;
      const task = this.track(worker, id, jobs[i]!, indices[i]!, inputs[i], now);
      try {
        worker.handle.send({ type: 'run', firstId: id, inputs: [inputs[i]] });
      } catch (error) {
        worker.tasks.delete(id);
        this.settle(task, false, new DataCloneError('input', error));
      }
    }
  }

  private track(
    worker: WorkerSlot,
    id: number,
    job: Job,
    index: number,
    input: unknown,
    now: number,
  ): Task {
    const task: Task = {
      id,
      job,
      index,
      input,
      worker,
      settled: false,
      deadline: now + job.timeout,
    };
    worker.tasks.set(id, task);
    if (job.timeout !== Number.POSITIVE_INFINITY) this.deadlines.add(task, job.timeout);
    return task;
  }

  // ---- settling ----

  private settle(task: Task, ok: boolean, result: unknown): void {
    if (task.settled) return;
    task.settled = true;
    task.job.settle(task.index, task.input, ok, result);
  }

  private onTimeout(task: Task): void {
    if (task.settled) return;
    this.settle(task, false, new TimeoutError(task.job.timeout));
    this.abortInWorkers([task], 'timeout');
  }

  private abortInWorkers(tasks: Iterable<Task>, reason: 'timeout' | 'abort'): void {
    const byWorker = new Map<WorkerSlot, number[]>();
    for (const task of tasks) {
      if (task.worker.state === 'gone') continue;
      let ids = byWorker.get(task.worker);
      if (!ids) byWorker.set(task.worker, (ids = []));
      ids.push(task.id);
    }
    for (const [worker, ids] of byWorker) {
      try {
        worker.handle.send({ type: 'abort', ids, reason });
      } catch {
        // The worker is on its way out; its exit handler deals with its tasks.
      }
    }
  }

  /** The job's tasks still on workers; unsettled only unless `all`. */
  private tasksOf(job: Job, all = false): Task[] {
    const found: Task[] = [];
    for (const worker of this.workers) {
      for (const task of worker.tasks.values()) {
        if (task.job === job && (all || !task.settled)) found.push(task);
      }
    }
    return found;
  }

  private remove(job: Job): void {
    const index = this.jobs.indexOf(job);
    if (index === -1) return;
    this.jobs.splice(index, 1);
    job.cleanup?.();
    if (this.jobs.length === 0) {
      this.setKeepAlive(false);
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}

function abortErrorFor(signal: AbortSignal): AbortError {
  return new AbortError('The task was aborted', { cause: signal.reason });
}

function initFailureMessage(reason: 'import' | 'no-default-export' | 'setup'): string {
  switch (reason) {
    case 'import':
      return 'The task module could not be imported';
    case 'no-default-export':
      return 'The task module has no default export function';
    case 'setup':
      return "The task module's setup() threw";
  }
}
