/**
 * The private engine behind `Pool`: a coordinator over the modules beside it. It turns calls into
 * jobs, routes the workers' messages and exits to the module that owns each, and reports the
 * pool's state. Each input settles exactly once (the task table owns task states).
 */

import type { StartWorker, WorkerExit } from '../backends/worker-handle.js';
import {
  AbortError,
  type PolyloopError,
  PoolClosedError,
  TaskModuleError,
  WorkerCrashedError,
} from '../errors.js';
import { Histogram } from '../histogram.js';
import type { ResolvedOptions } from '../options.js';
import type { WorkerToMain } from '../protocol/messages.js';
import { reviveError } from '../protocol/serialize-error.js';
import { STATS_MS } from '../protocol/timing.js';
import { displayModule, initFailureMessage } from '../task-module.js';
import type { Inputs, PoolStats } from '../types.js';
import { AbortSignals } from './abort-signals.js';
import { CrashRecovery, MAX_START_FAILURES } from './crash-recovery.js';
import { Dispatcher } from './dispatcher.js';
import { ErrorRetries } from './error-retries.js';
import { HangWatch } from './hang-watch.js';
import { Job, type JobOwner, type JobSink } from './job.js';
import { Jobs } from './jobs.js';
import { DescriptorWatch, mostOpenFiles, openFileLimit } from './open-files.js';
import { QueueProbe } from './queue-probe.js';
import { ResultsIntake } from './results-intake.js';
import { Stats } from './stats.js';
import { TaskTable } from './task-table.js';
import { Timeouts } from './timeouts.js';
import { Window } from './window.js';
import { type WorkerRecord, Workers } from './workers.js';

export class Engine {
  private readonly jobs = new Jobs();
  private readonly signals = new AbortSignals((job, signal) =>
    this.failJob(job, abortErrorFor(signal)),
  );
  private readonly counters = new Stats();
  private readonly window: Window;
  private readonly workers: Workers;
  private readonly tasks: TaskTable;
  private readonly hangWatch: HangWatch;
  private readonly timeouts: Timeouts;
  private readonly recovery: CrashRecovery;
  private readonly errorRetries: ErrorRetries;
  private readonly dispatcher: Dispatcher;
  private readonly probe: QueueProbe;
  private readonly intake: ResultsIntake;
  private lastTick = Number.NEGATIVE_INFINITY;
  /** Task run times reported since the last tick. */
  private recentRunTimes = new Histogram();
  private fatal: Error | undefined;
  private closed = false;

  constructor(
    private readonly moduleUrl: string,
    options: ResolvedOptions,
    /** How workers start; the backend the options name unless given (a benchmark's stand-in). */
    start?: StartWorker,
  ) {
    // Threads share this process's descriptors; a child process has its own, as many.
    const descriptors =
      options.backend === 'thread'
        ? new DescriptorWatch(openFileLimit())
        : new DescriptorWatch(openFileLimit(), () => this.childOpenFiles(), undefined, false);
    this.window = new Window(options.concurrency, options.workers, descriptors, options.adaptive);
    this.workers = new Workers(
      moduleUrl,
      options,
      {
        message: (worker, message) => this.onMessage(worker, message),
        exit: (worker, exit) => this.onExit(worker, exit),
        hasJobs: () => this.jobs.size > 0,
      },
      start,
    );
    this.tasks = new TaskTable({
      givenUpGrew: (worker) => this.hangWatch.watchGivenUp(worker),
      drained: () => {
        if (this.jobs.size === 0) this.workers.updateKeepAlive();
      },
      retry: (batch, offset, error) => {
        const again = this.errorRetries.consider(batch, offset, error);
        // A retry waiting out its delay holds none of its job's room.
        if (again) this.jobs.update(batch.job);
        return again;
      },
    });
    this.hangWatch = new HangWatch(this.tasks, this.workers, options.maxBlockMs);
    this.timeouts = new Timeouts(this.tasks, this.workers, this.hangWatch);
    this.recovery = new CrashRecovery(options.retries, this.tasks, this.counters);
    this.errorRetries = new ErrorRetries(
      options,
      this.recovery,
      this.counters,
      this.window,
      () => this.inFlight(),
      () => this.dispatcher.dispatchSoon(),
    );
    this.probe = new QueueProbe(this.window, options.adaptive);
    this.intake = new ResultsIntake(this.tasks, this.probe, this.errorRetries);
    this.dispatcher = new Dispatcher(
      this.workers,
      this.jobs,
      this.window,
      this.tasks,
      this.timeouts,
      this.recovery,
      this.probe,
    );
    for (let i = 0; i < options.workers; i++) this.workers.spawn();
  }

  /** Start a job over `inputs`; its outcome goes to `sink`. */
  submit(
    inputs: Inputs<unknown>,
    sink: JobSink,
    call: { timeout: number; signal: AbortSignal | undefined; pacedByConsumer: boolean },
  ): Job {
    const job = new Job(inputs, sink, this.jobOwner, call);
    const refusal =
      this.fatal ??
      (this.closed ? closedError(call.pacedByConsumer) : undefined) ??
      (call.signal?.aborted ? abortErrorFor(call.signal) : undefined);
    if (refusal) {
      job.stop();
      queueMicrotask(() => sink.fail(refusal));
      return job;
    }
    if (call.signal) {
      const signal = call.signal;
      this.signals.watch(signal, job);
      job.cleanup = () => this.signals.forget(signal, job);
    }
    this.jobs.add(job);
    this.hangWatch.start();
    this.workers.setKeepAlive(true);
    job.prefetch();
    // Dispatch on the next microtask, so the caller holds the job before any of it settles.
    this.dispatcher.dispatchOnMicrotask();
    return job;
  }

  /** What every job tells the engine, before its caller hears the same (one object for all). */
  private readonly jobOwner: JobOwner = {
    poolWindow: () => this.window.poolWindow(),
    readable: (job) => {
      this.jobs.update(job);
      this.dispatcher.dispatch();
    },
    changed: (job) => this.jobs.update(job),
    settled: (_job, ok, count) => {
      if (ok) this.counters.done += count;
      else this.counters.failed += count;
    },
    failed: (job) => this.dropJob(job),
    done: (job) => this.forgetJob(job),
  };

  /**
   * End a job and tell its caller `error`: stop pulling its inputs and fire `ctx.signal` of its
   * tasks still running (its unsettled inputs are not reported one by one).
   */
  failJob(job: Job, error: Error): void {
    // The job's owner hook (jobOwner.failed) drops the job before its caller hears the failure.
    // A job is active exactly until it finishes, so this check is O(1).
    if (!job.finished) job.fail(error);
  }

  /** End a job without telling its caller (its consumer is gone, or it already failed). */
  dropJob(job: Job): void {
    job.stop();
    for (const batch of this.tasks.batchesOf(job)) {
      const offsets = this.tasks.giveUp(batch);
      this.workers.abortTasks(batch, offsets, 'abort');
      // A task blocking its worker's loop cannot hear the abort: if the worker stays silent, it
      // is hung, and its other tasks must run again elsewhere.
      const state = batch.worker.state;
      if (offsets.length > 0 && (state === 'ready' || state === 'closing'))
        this.hangWatch.watch(batch.worker);
    }
    this.forgetJob(job);
  }

  /** The consumer of a stream took `count` results: it may pull more. */
  release(job: Job, count: number): void {
    job.release(count);
    // A consumer takes results one by one; dealing once per turn of the loop is plenty.
    this.dispatcher.dispatchSoon();
  }

  /** Resolves once every worker has started (imported the task module and run `setup`). */
  ready(): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new PoolClosedError());
    return this.workers.whenReady();
  }

  stats(): PoolStats {
    const queued = this.recovery.waiting + this.errorRetries.count + this.jobs.undealt();
    return this.counters.snapshot(this.workers.list, queued, this.window.poolWindow());
  }

  /** Resolves once no job is active (every input pulled and settled). */
  whenIdle(): Promise<void> {
    return this.jobs.whenIdle();
  }

  /** No more jobs; stop the workers once the active jobs are done. */
  async close(): Promise<void> {
    this.closed = true;
    await this.whenIdle();
    this.timeouts.clear();
    // Every call has settled: whatever still runs there was given up on.
    await this.workers.closeAll((worker) => this.hangWatch.watchGivenUp(worker));
  }

  /** Abort every job (each unsettled task settles with AbortError) and stop the workers now. */
  async destroy(): Promise<void> {
    this.closed = true;
    this.workers.rejectWaiters(new PoolClosedError());
    const error = new AbortError('The pool was destroyed');
    for (const job of this.jobs.snapshot()) this.failJob(job, error);
    this.timeouts.clear();
    this.errorRetries.clear();
    await this.workers.terminateAll();
  }

  private onMessage(worker: WorkerRecord, message: WorkerToMain): void {
    const now = performance.now();
    worker.silence.lastHeard = now;
    switch (message.type) {
      case 'ready':
        this.workers.onReady(worker);
        this.recovery.onReady();
        this.dispatcher.dispatch();
        break;
      case 'results':
        this.intake.read(worker, message, now);
        this.dispatcher.dispatch();
        break;
      case 'idle':
        if (this.window.onIdle(worker.tasks.running, this.workers.anyStarting(), this.inFlight())) {
          this.dispatcher.dispatch();
        }
        break;
      case 'alive':
        break;
      case 'stats':
        this.counters.onLoadReport(worker, message, now);
        this.recentRunTimes.addDelta(message.runTimes);
        this.tick(now);
        break;
      case 'init-error': {
        const cause = reviveError(message.error);
        const reason = initFailureMessage(message.reason, cause);
        this.onFatal(new TaskModuleError(displayModule(this.moduleUrl), reason, { cause }));
        break;
      }
    }
  }

  private onExit(worker: WorkerRecord, exit: WorkerExit): void {
    const expected = worker.state === 'closing' || worker.state === 'gone';
    const diedAtStart = worker.state === 'starting';
    const replaced = worker.state === 'replacing';
    this.workers.remove(worker);
    if (expected) return;
    if (diedAtStart && this.recovery.diedAtStart()) {
      // Respawning a worker that cannot start would loop forever: fail everything instead.
      const cause = exit.error ?? new Error(`Worker exited with code ${exit.code}`);
      this.onFatal(
        new WorkerCrashedError(
          `${MAX_START_FAILURES} workers in a row died before they were ready: ${cause.message}`,
          { cause },
        ),
      );
      return;
    }
    // Its tasks run again elsewhere or fail; a fresh worker takes its place.
    this.recovery.recover(worker, exit, replaced);
    if (!this.fatal && (!this.closed || this.jobs.size > 0)) this.workers.spawn();
    this.dispatcher.dispatch();
  }

  private onFatal(error: PolyloopError): void {
    if (this.fatal) return;
    this.fatal = error;
    this.workers.rejectWaiters(error);
    for (const job of this.jobs.snapshot()) job.fail(error);
    for (const worker of this.workers.list) {
      worker.state = 'gone';
      void worker.handle.terminate();
    }
  }

  /** The queue probe's look at the pool, at most every STATS_MS. */
  private tick(now: number): void {
    if (now - this.lastTick < STATS_MS) return;
    this.lastTick = now;
    const size = this.window.size;
    const inFlight = this.inFlight();
    this.errorRetries.tick(inFlight);
    const runTimes = this.recentRunTimes.percentiles();
    this.recentRunTimes = new Histogram();
    this.probe.tick(now, {
      runTime: runTimes.count > 0 ? runTimes.p50 : Number.NaN,
      inFlight,
      ended: this.counters.done + this.counters.failed + this.counters.retriedErrors,
      inputsWaiting: this.recovery.hasWaiting || this.jobs.anyInputsLeft(),
    });
    // A probe that gives the window back leaves room to deal into.
    if (this.window.size > size) this.dispatcher.dispatch();
  }

  /** The most descriptors a worker process has open. */
  private childOpenFiles(): number {
    const pids: number[] = [];
    for (const worker of this.workers?.list ?? []) {
      if (worker.handle.pid !== undefined) pids.push(worker.handle.pid);
    }
    return mostOpenFiles(pids);
  }

  /** Tasks running on every worker. */
  private inFlight(): number {
    let count = 0;
    for (const worker of this.workers.list) count += worker.tasks.running;
    return count;
  }

  /** The job has finished (settled, failed or dropped): forget it. */
  private forgetJob(job: Job): void {
    if (!this.jobs.delete(job)) return;
    this.tasks.forgetJob(job);
    // Its re-runs will not run: with no job left, all go now, so none holds its input (otherwise
    // they are dropped when next dealt).
    if (this.jobs.size === 0) {
      this.recovery.clear();
      this.errorRetries.clear();
    }
    job.cleanup?.();
    if (this.jobs.size === 0) {
      this.hangWatch.stop();
      this.workers.updateKeepAlive();
      this.jobs.notifyIdle();
    }
  }
}

/** A stream's job starts on its first next(), so one made before close() may still be refused. */
function closedError(stream: boolean): PoolClosedError {
  return stream
    ? new PoolClosedError(
        'The pool is closed: a stream starts on its first next(), which came after close()',
      )
    : new PoolClosedError();
}

function abortErrorFor(signal: AbortSignal): AbortError {
  return new AbortError('The task was aborted', { cause: signal.reason });
}
