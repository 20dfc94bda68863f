/**
 * The private engine behind `Pool`: it owns the workers, pulls inputs from the active jobs, deals
 * them to workers in batches, and routes each result back to its job exactly once.
 */

import { startProcessWorker } from './backends/process.js';
import { startThreadWorker } from './backends/thread.js';
import type { WorkerExit, WorkerHandle } from './backends/worker-handle.js';
import { Deadlines } from './deadlines.js';
import { epochNow } from './epoch-now.js';
import {
  AbortError,
  DataCloneError,
  type PolyloopError,
  PoolClosedError,
  TaskError,
  TaskModuleError,
  TimeoutError,
  WorkerCrashedError,
} from './errors.js';
import { Histogram } from './histogram.js';
import { Job, type JobSink } from './job.js';
import type { ResolvedOptions } from './options.js';
import type { WorkerInit, WorkerToMain } from './protocol/messages.js';
import { reviveError } from './protocol/serialize-error.js';
import {
  FLUSH_COUNT,
  FLUSH_DELAY_MS,
  HANG_GRACE_MS,
  IDLE_CHECK_MS,
  SILENCE_MS,
  STATS_MS,
} from './protocol/timing.js';
import { displayModule, initFailureMessage } from './task-module.js';
import type { Inputs, PoolStats, WorkerStats } from './types.js';

/** Task states within a batch. */
const RUNNING = 0;
/** Settled for the caller (timed out, aborted) but still running on its worker. */
const SETTLED_RUNNING = 1;
const FINISHED = 2;

/**
 * The tasks of one `run` message: the unit of bookkeeping on the main thread. A task is
 * (batch, offset); its input index is `firstIndex + offset`, or `indices[offset]` when the batch
 * was dealt out of a larger run of inputs.
 */
interface Batch {
  readonly id: number;
  readonly job: Job;
  readonly worker: WorkerSlot;
  readonly firstIndex: number;
  readonly indices: number[] | undefined;
  readonly inputs: unknown[];
  /** Earlier runs of each task cut short by a dying worker (see nextAttempts; undefined: none). */
  readonly attempts: number[] | undefined;
  readonly state: Uint8Array;
  /** Tasks the worker has not reported finished. */
  running: number;
  /** Tasks not yet settled for the caller. */
  unsettled: number;
  readonly deadline: number;
  /** For the deadline queue: nothing left to time out. */
  readonly settled: boolean;
}

interface WorkerSlot {
  readonly workerId: number;
  readonly handle: WorkerHandle;
  /** 'hung': being replaced because a task blocked its event loop. */
  state: 'starting' | 'ready' | 'hung' | 'closing' | 'gone';
  /** Batches with tasks still running on this worker. */
  readonly batches: Map<number, Batch>;
  /** Tasks running on this worker, settled or not: what counts against the window. */
  running: number;
  /** When this worker last sent anything: a blocked event loop sends nothing. */
  lastHeard: number;
  /** Tasks past their deadline while the worker was silent, awaiting the hang watch's verdict. */
  readonly overdue: Array<{ batch: Batch; offset: number }>;
  hangWatch: NodeJS.Timeout | undefined;
  /** Replaced for a hang whose culprit is known: its other tasks' re-runs are not counted. */
  blameless: boolean;
  /**
   * The (batch, offset) of the task whose synchronous part the worker is running, or -1: shared
   * with a thread, reported by a process's watchdog. Read only once its loop is found blocked, to
   * tell the culprit from bystanders.
   */
  readonly current: Int32Array;
  /** Tasks settled for their callers (timed out, aborted) that still run here, holding slots. */
  abandoned: number;
  abandonWatch: NodeJS.Timeout | undefined;
  /** The event loop's busy and idle time (ms) at the worker's last load report, and when it came. */
  load: { at: number; active: number; idle: number; utilization: number };
}

/** Inputs of one job taken for dispatch: a contiguous run of input indices. */
interface Segment {
  readonly job: Job;
  readonly firstIndex: number;
  /** Explicit input indices (retried or dealt tasks), instead of `firstIndex + position`. */
  readonly indices?: number[] | undefined;
  readonly attempts?: number[] | undefined;
  readonly inputs: unknown[];
}

/** A task whose worker died under it, waiting to run again. */
interface Retry {
  readonly job: Job;
  readonly index: number;
  readonly input: unknown;
  readonly attempts: number;
}

/**
 * Tasks settled for their callers (timed out, aborted) but still running hold their slots until
 * they end. One that ignores its signal may never end: once such abandoned tasks have held at
 * least half of a worker's running slots for this long, the worker is replaced (its other tasks
 * run again, uncounted). So neither a long run nor close() can be stalled by them.
 */
const ABANDONED_GRACE_MS = 1000;

/** Workers in a row that may die before they are ready before the pool gives up. */
const MAX_START_FAILURES = 3;

/** The window to begin with (see Engine.window). */
const INITIAL_WINDOW = 1024;

/** Inputs dealt per turn of the event loop (see dispatch). */
const MAX_DEAL_PER_TURN = 8192;

export class Engine {
  private readonly workers: WorkerSlot[] = [];
  private readonly jobs: Job[] = [];
  /** Each active job's batches still on workers. */
  private readonly jobBatches = new Map<Job, Set<Batch>>();
  private readonly deadlines = new Deadlines<Batch>((batch) => this.onTimeout(batch));
  private nextBatchId = 0;
  private nextWorkerId = 0;
  /** Rotates which job is served first, so none is favoured. */
  private jobTurn = 0;
  private dispatching = false;
  private dispatchAgain = false;
  /** A dispatch turn is queued for inputs left over by the last one. */
  private dispatchQueued = false;
  private fatal: Error | undefined;
  /**
   * The most tasks one worker may run at once. It starts at INITIAL_WINDOW (or `concurrency` if
   * lower) and doubles, up to `concurrency`, each time a worker says it sits idle with its window
   * full: I/O-bound tasks get all the concurrency they can use, while CPU-bound ones are not dealt
   * out further ahead than a busy worker can use. One window for all workers, so that growing it
   * deals the new inputs evenly instead of to whichever worker asked first.
   */
  private window: number;
  /** Workers that died before they were ready, since one last became ready. */
  private startFailures = 0;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];
  /** Tasks to run again because their worker died; dealt before new inputs. */
  private retries: Retry[] = [];
  private readonly readyWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  /** Settled inputs (with a value, with an error) and re-runs after a worker died, since start. */
  private done = 0;
  private failed = 0;
  private retried = 0;
  private readonly runTimes = new Histogram();
  private readonly waitTimes = new Histogram();

  constructor(
    private readonly moduleUrl: string,
    private readonly options: ResolvedOptions,
  ) {
    this.window = Math.min(options.concurrency, INITIAL_WINDOW);
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
        settle: (index, input, ok, result) => {
          if (ok) this.done++;
          else this.failed++;
          sink.settle(index, input, ok, result);
        },
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
        lookahead: () => this.totalWindow(),
        pacedByConsumer: call.pacedByConsumer,
      },
      () => this.dispatch(),
    );
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
    // The job's sink (see submit) abandons the job before reporting the failure. A job leaves
    // `jobs` exactly when it finishes, so this is a membership test that stays O(1) when
    // thousands of calls are aborted at once.
    if (!job.finished) job.sink.fail(error);
  }

  /** Stop a job without reporting its unsettled tasks (its consumer is gone, or it already failed). */
  abandon(job: Job): void {
    job.stop();
    for (const batch of this.batchesOf(job)) this.settleAllQuietly(batch, 'abort');
    this.remove(job);
  }

  /** The consumer of a stream took `count` results: it may pull more. */
  release(job: Job, count: number): void {
    job.release(count);
    // A consumer takes results one by one; dealing once per turn of the loop is plenty.
    if (!this.dispatchQueued) {
      this.dispatchQueued = true;
      setImmediate(this.queuedDispatch);
    }
  }

  private readonly queuedDispatch = (): void => {
    this.dispatchQueued = false;
    this.dispatch();
  };

  /** Resolves once every worker has started (imported the task module and run `setup`). */
  ready(): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.closed) return Promise.reject(new PoolClosedError());
    if (this.workers.every((worker) => worker.state !== 'starting')) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.readyWaiters.push({ resolve, reject });
      this.updateKeepAlive();
    });
  }

  private notifyReady(): void {
    if (this.workers.some((worker) => worker.state === 'starting')) return;
    for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
    this.updateKeepAlive();
  }

  /** Counters and load, cheap enough to read every 100 ms (a progress bar). */
  stats(): PoolStats {
    const now = performance.now();
    let inFlight = 0;
    const workers: WorkerStats[] = [];
    for (const worker of this.workers) {
      if (worker.state === 'gone') continue;
      inFlight += worker.running;
      // A worker reports while it has tasks; one silent for long is either idle or blocked.
      const stale = now - worker.load.at > 3 * STATS_MS;
      const utilization = stale ? (worker.running > 0 ? 1 : 0) : worker.load.utilization;
      workers.push({
        id: worker.workerId,
        state: worker.state === 'hung' ? 'ready' : worker.state,
        running: worker.running,
        utilization,
      });
    }
    let queued = this.retries.length;
    for (const job of this.jobs) queued += job.pulled - job.dispatched;
    // Retries of a job that ended are dropped lazily (see remove).
    for (const retry of this.retries) if (retry.job.finished) queued--;
    return {
      done: this.done,
      failed: this.failed,
      retried: this.retried,
      inFlight,
      queued,
      workers,
      runTime: this.runTimes.percentiles(),
      waitTime: this.waitTimes.percentiles(),
    };
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
    for (const worker of this.workers) if (worker.state !== 'gone') worker.state = 'closing';
    // Hold the process open until the workers are really gone.
    this.updateKeepAlive();
    await Promise.all(
      this.workers.map(async (worker) => {
        if (worker.state === 'gone') return;
        try {
          worker.handle.send({ type: 'close' });
        } catch {
          // Already gone: terminate below is a no-op then.
        }
        // Every call has settled: whatever still runs there was given up on.
        this.watchAbandoned(worker);
        await worker.handle.exited;
      }),
    );
  }

  /** Abort every job (each unsettled task settles with AbortError) and stop the workers now. */
  async destroy(): Promise<void> {
    this.closed = true;
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(new PoolClosedError());
    const error = new AbortError('The pool was destroyed');
    for (const job of [...this.jobs]) this.cancel(job, error);
    this.deadlines.clear();
    await Promise.all(
      this.workers.map((worker) => {
        worker.state = 'gone';
        // Hold the process open until they are gone (see updateKeepAlive): code after
        // `await destroy()` must run.
        worker.handle.setKeepAlive(true);
        return worker.handle.terminate();
      }),
    );
  }

  // ---- workers ----

  private spawn(): void {
    const workerId = this.nextWorkerId++;
    // Where the worker notes the task its loop is inside: shared with a thread; a process's
    // watchdog reports it instead (see process-worker.ts).
    const thread = this.options.backend === 'thread';
    const size = 2 * Int32Array.BYTES_PER_ELEMENT;
    const current = new Int32Array(thread ? new SharedArrayBuffer(size) : new ArrayBuffer(size));
    current.fill(-1);
    const init: WorkerInit = {
      moduleUrl: this.moduleUrl,
      current: thread ? current : undefined,
      workerId,
      flushCount: FLUSH_COUNT,
      flushDelayMs: FLUSH_DELAY_MS,
      idleCheckMs: IDLE_CHECK_MS,
      statsMs: STATS_MS,
    };
    const events = {
      message: (message: WorkerToMain) => this.onMessage(slot, message),
      exit: (exit: WorkerExit) => this.onExit(slot, exit),
    };
    const limits = { maxMemoryMb: this.options.maxMemoryMb };
    const slot: WorkerSlot = {
      workerId,
      state: 'starting',
      batches: new Map(),
      running: 0,
      lastHeard: performance.now(),
      overdue: [],
      hangWatch: undefined,
      blameless: false,
      abandoned: 0,
      abandonWatch: undefined,
      current,
      load: { at: performance.now(), active: 0, idle: 0, utilization: 0 },
      handle: thread
        ? startThreadWorker(init, events, limits)
        : startProcessWorker(init, events, limits, current),
    };
    slot.handle.setKeepAlive(this.jobs.length > 0 || this.readyWaiters.length > 0);
    this.workers.push(slot);
  }

  private onMessage(worker: WorkerSlot, message: WorkerToMain): void {
    worker.lastHeard = performance.now();
    switch (message.type) {
      case 'ready':
        if (worker.state === 'starting') worker.state = 'ready';
        this.startFailures = 0;
        this.notifyReady();
        this.dispatch();
        break;
      case 'results':
        this.onResults(worker, message);
        break;
      case 'idle':
        // Grow only a full window: an idle worker with free slots is short of inputs, not room.
        // And not while workers are starting: the ready ones would take their share.
        if (
          worker.running >= this.window &&
          this.window < this.options.concurrency &&
          !this.workers.some((w) => w.state === 'starting')
        ) {
          this.window = Math.min(this.options.concurrency, this.window * 2);
          this.dispatch();
        }
        break;
      case 'crash':
        // Handled by the process handle, which names the cause in the exit.
        break;
      case 'alive':
        break;
      case 'stats': {
        const busy = message.active - worker.load.active;
        const total = busy + message.idle - worker.load.idle;
        worker.load = {
          at: worker.lastHeard,
          active: message.active,
          idle: message.idle,
          utilization: total > 0 ? Math.min(1, Math.max(0, busy / total)) : 0,
        };
        this.runTimes.addDelta(message.runTimes);
        this.waitTimes.addDelta(message.waitTimes);
        break;
      }
      case 'init-error':
        {
          const cause = reviveError(message.error);
          this.onFatal(
            new TaskModuleError(
              displayModule(this.moduleUrl),
              initFailureMessage(message.reason, cause),
              { cause },
            ),
          );
        }
        break;
    }
  }

  private onResults(worker: WorkerSlot, message: Extract<WorkerToMain, { type: 'results' }>): void {
    const { okRuns, okOffsets, values, failures } = message;
    let i = 0;
    for (let run = 0; run < okRuns.length; run += 2) {
      const batch = worker.batches.get(okRuns[run]!);
      const end = i + okRuns[run + 1]!;
      // An unknown batch was settled and dropped already (its worker was replaced, say).
      if (batch !== undefined)
        for (; i < end; i++) this.finish(batch, okOffsets[i]!, true, values[i]);
      i = end;
    }
    for (const failure of failures) {
      const failed = worker.batches.get(failure.batch);
      if (failed === undefined) continue;
      const cause = reviveError(failure.error);
      const error =
        failure.kind === 'threw' ? new TaskError(cause) : new DataCloneError('output', cause);
      this.finish(failed, failure.offset, false, error);
    }
    this.dispatch();
  }

  private onExit(worker: WorkerSlot, exit: WorkerExit): void {
    const expected = worker.state === 'closing' || worker.state === 'gone';
    const diedAtStart = worker.state === 'starting';
    const hung = worker.state === 'hung';
    worker.state = 'gone';
    const index = this.workers.indexOf(worker);
    if (index !== -1) this.workers.splice(index, 1);
    if (expected) return;
    if (diedAtStart && ++this.startFailures >= MAX_START_FAILURES) {
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
    // An unexpected death: the tasks it was running run again elsewhere, up to `retries` times
    // each (not counted when the worker was killed for another task's hang); a fresh worker
    // takes its place.
    const cause = exit.error ?? new Error(describeExit(exit));
    const error = new WorkerCrashedError(
      `Worker ${worker.workerId} died while running the task: ${describeExit(exit)}`,
      { cause },
    );
    // The worker died inside one task's synchronous part (process.exit, an allocation past
    // maxMemoryMb...): that task is the culprit, and only its attempt counts. Otherwise one bad
    // input would use up the retries of every task that shared its worker.
    const culpritBatch = hung ? -1 : worker.current[0]!;
    const culpritOffset = worker.current[1]!;
    for (const batch of worker.batches.values()) {
      for (let offset = 0; offset < batch.state.length; offset++) {
        const state = batch.state[offset];
        batch.state[offset] = FINISHED;
        if (state !== RUNNING || batch.job.finished) continue;
        const bystander = hung
          ? worker.blameless
          : culpritBatch !== -1 && !(batch.id === culpritBatch && offset === culpritOffset);
        const attempts = nextAttempts(batch.attempts?.[offset] ?? 0, !bystander);
        if (countedAttempts(attempts) > this.options.retries) {
          batch.unsettled--;
          batch.job.settle(indexOf(batch, offset), batch.inputs[offset], false, error);
        } else {
          const input = batch.inputs[offset];
          this.retried++;
          this.retries.push({ job: batch.job, index: indexOf(batch, offset), input, attempts });
        }
      }
    }
    for (const batch of worker.batches.values()) this.jobBatches.get(batch.job)?.delete(batch);
    worker.batches.clear();
    worker.running = 0;
    if (!this.fatal && (!this.closed || this.jobs.length > 0)) this.spawn();
    this.dispatch();
  }

  private onFatal(error: PolyloopError): void {
    if (this.fatal) return;
    this.fatal = error;
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
    for (const job of [...this.jobs]) job.sink.fail(error);
    for (const worker of this.workers) {
      worker.state = 'gone';
      void worker.handle.terminate();
    }
  }

  /** The tasks all workers may run at once now: how far ahead a job may pull its inputs. */
  private totalWindow(): number {
    return this.window * this.options.workers;
  }

  /**
   * Workers keep the process alive while there is work: a job, a task still running (one that
   * timed out, say), a wait for them to start or to exit. An idle pool someone forgot to close
   * must not hang the program.
   */
  private updateKeepAlive(): void {
    this.setKeepAlive(
      this.jobs.length > 0 ||
        this.readyWaiters.length > 0 ||
        this.workers.some(
          (worker) => worker.running > 0 || worker.state === 'closing' || worker.state === 'gone',
        ),
    );
  }

  private setKeepAlive(keepAlive: boolean): void {
    for (const worker of this.workers) worker.handle.setKeepAlive(keepAlive);
  }

  // ---- dispatch ----

  /**
   * Deal ready inputs to the workers with free slots, then send each worker its share as one
   * message. Inputs are dealt in rounds of one per worker, in a fresh random order each round:
   * a worker's share then never depends on where the heavy inputs sit in the input order (a
   * plain round-robin gives every even input to one worker of two), and each round splits
   * evenly, so clusters of heavy inputs split evenly too.
   */
  private dispatch(): void {
    if (this.dispatching) {
      this.dispatchAgain = true;
      return;
    }
    this.dispatching = true;
    try {
      let more = false;
      do {
        this.dispatchAgain = false;
        more = this.dealOnce();
      } while (this.dispatchAgain && !more);
      // Deal the rest on a later turn: the first batches are already running on the workers
      // while this thread prepares the next ones, and results coming back are not held up.
      if (more && !this.dispatchQueued) {
        this.dispatchQueued = true;
        setImmediate(this.queuedDispatch);
      }
    } finally {
      this.dispatching = false;
    }
  }

  /** Returns whether more could be dealt right away (the turn's cap was reached). */
  private dealOnce(): boolean {
    if (this.jobs.length === 0) return false;
    const open: WorkerSlot[] = [];
    const free: number[] = [];
    let capacity = 0;
    for (const worker of this.workers) {
      const room = worker.state === 'ready' ? this.window - worker.running : 0;
      if (room <= 0) continue;
      open.push(worker);
      free.push(room);
      capacity += room;
    }
    if (open.length === 0) return false;
    const max = Math.min(capacity, MAX_DEAL_PER_TURN);
    const segments = this.takeSegments(max);
    let dealt = 0;
    for (const segment of segments) dealt += segment.inputs.length;
    const more = dealt === max && capacity > max;
    if (open.length === 1) {
      for (const segment of segments) {
        if (!segment.job.finished) this.send(open[0]!, segment);
      }
      return more;
    }
    const order = open.map((_, w) => w);
    for (const segment of segments) {
      const indices: number[][] = open.map(() => []);
      const inputs: unknown[][] = open.map(() => []);
      const attempts: number[][] | undefined = segment.attempts ? open.map(() => []) : undefined;
      const count = segment.inputs.length;
      let next = 0;
      while (next < count) {
        shuffle(order);
        for (const w of order) {
          if (next >= count) break;
          if (free[w]! <= 0) continue;
          free[w]!--;
          indices[w]!.push(indexOf(segment, next));
          if (attempts) attempts[w]!.push(segment.attempts![next]!);
          inputs[w]!.push(segment.inputs[next]);
          next++;
        }
      }
      for (let w = 0; w < open.length; w++) {
        // Sending one worker its share can end the job (a map whose input cannot be cloned
        // rejects): then the other shares must not run, untracked by anyone.
        if (inputs[w]!.length === 0 || segment.job.finished) continue;
        this.send(open[w]!, {
          job: segment.job,
          firstIndex: -1,
          indices: indices[w],
          inputs: inputs[w]!,
          attempts: attempts?.[w],
        });
      }
    }
    return more;
  }

  /** Take up to `max` inputs from the jobs, in turn. */
  private takeSegments(max: number): Segment[] {
    const segments: Segment[] = [];
    let taken = 0;
    if (this.retries.length > 0) {
      const retries = this.retries.filter((retry) => !retry.job.finished);
      const now = retries.slice(0, max);
      this.retries = retries.slice(max);
      for (const retry of now) {
        const last = segments.at(-1);
        if (last?.job === retry.job) {
          last.indices!.push(retry.index);
          last.attempts!.push(retry.attempts);
          last.inputs.push(retry.input);
        } else {
          segments.push({
            job: retry.job,
            firstIndex: -1,
            indices: [retry.index],
            attempts: [retry.attempts],
            inputs: [retry.input],
          });
        }
      }
      taken = now.length;
    }
    for (let tries = 0; tries < this.jobs.length && taken < max; tries++) {
      const job = this.jobs[this.jobTurn++ % this.jobs.length]!;
      if (!job.hasReady()) continue;
      const firstIndex = job.dispatched;
      const inputs = job.take(max - taken);
      if (inputs.length > 0) segments.push({ job, firstIndex, inputs });
      taken += inputs.length;
    }
    return segments;
  }

  private send(worker: WorkerSlot, segment: Segment): void {
    const { job, inputs, attempts } = segment;
    const id = this.nextBatchId++;
    try {
      worker.handle.send({ type: 'run', batch: id, inputs, sentAt: epochNow() });
    } catch {
      if (!worker.handle.connected) {
        // The worker is dying (its exit is on the way): these inputs never reached it.
        for (let i = 0; i < inputs.length; i++) {
          const retried = attempts?.[i] ?? 0;
          this.retries.push({
            job,
            index: indexOf(segment, i),
            input: inputs[i],
            attempts: retried,
          });
        }
        return;
      }
      // An input cannot be cloned: send them one by one so only the bad ones fail.
      for (let i = 0; i < inputs.length && !job.finished; i++) {
        const index = indexOf(segment, i);
        const single = this.nextBatchId++;
        try {
          worker.handle.send({
            type: 'run',
            batch: single,
            inputs: [inputs[i]],
            sentAt: epochNow(),
          });
        } catch (error) {
          job.settle(index, inputs[i], false, new DataCloneError('input', error));
          continue;
        }
        const retried = attempts ? [attempts[i]!] : undefined;
        this.track(single, worker, {
          job,
          firstIndex: index,
          inputs: [inputs[i]],
          attempts: retried,
        });
      }
      return;
    }
    this.track(id, worker, segment);
  }

  private track(id: number, worker: WorkerSlot, segment: Segment): void {
    const { job, inputs } = segment;
    const n = inputs.length;
    const batch: Batch = {
      id,
      job,
      worker,
      firstIndex: segment.firstIndex,
      indices: segment.indices,
      inputs,
      attempts: segment.attempts,
      state: new Uint8Array(n),
      running: n,
      unsettled: n,
      deadline: performance.now() + job.timeout,
      get settled() {
        return this.unsettled === 0;
      },
    };
    worker.batches.set(id, batch);
    let batches = this.jobBatches.get(job);
    if (!batches) {
      batches = new Set();
      this.jobBatches.set(job, batches);
    }
    batches.add(batch);
    worker.running += n;
    if (job.timeout !== Number.POSITIVE_INFINITY) this.deadlines.add(batch, job.timeout);
  }

  // ---- settling ----

  /** The worker reported the task done: settle it unless a timeout or abort already did. */
  private finish(batch: Batch, offset: number, ok: boolean, result: unknown): void {
    const state = batch.state[offset];
    if (state === FINISHED || state === undefined) return;
    batch.state[offset] = FINISHED;
    if (state === RUNNING) {
      batch.unsettled--;
      batch.job.settle(indexOf(batch, offset), batch.inputs[offset], ok, result);
    }
    batch.inputs[offset] = undefined;
    const worker = batch.worker;
    if (state === SETTLED_RUNNING) worker.abandoned--;
    else if (worker.abandoned > 0) this.watchAbandoned(worker); // their share just grew
    if (--worker.running === 0 && this.jobs.length === 0) this.updateKeepAlive();
    if (--batch.running === 0) {
      worker.batches.delete(batch.id);
      this.jobBatches.get(batch.job)?.delete(batch);
    }
  }

  /** Replace the worker if abandoned tasks still hold half its slots after ABANDONED_GRACE_MS. */
  private watchAbandoned(worker: WorkerSlot): void {
    if (worker.abandonWatch || worker.abandoned === 0) return;
    worker.abandonWatch = setTimeout(() => {
      worker.abandonWatch = undefined;
      if (worker.state !== 'ready' && worker.state !== 'closing') return;
      if (worker.abandoned === 0) return;
      if (worker.abandoned * 2 < worker.running) return; // re-armed as their share grows
      // Its live tasks are not at fault: they run again without counting as a retry.
      worker.blameless = true;
      if (worker.state === 'ready') worker.state = 'hung';
      void worker.handle.terminate();
    }, ABANDONED_GRACE_MS);
    worker.abandonWatch.unref();
  }

  /** Settle a task for its caller while it keeps running (and keeps its slot) on the worker. */
  private settleEarly(batch: Batch, offset: number, error: Error): void {
    if (batch.state[offset] !== RUNNING) return;
    batch.state[offset] = SETTLED_RUNNING;
    batch.unsettled--;
    batch.worker.abandoned++;
    this.watchAbandoned(batch.worker);
    batch.job.settle(indexOf(batch, offset), batch.inputs[offset], false, error);
  }

  private onTimeout(batch: Batch): void {
    const worker = batch.worker;
    const offsets: number[] = [];
    for (let offset = 0; offset < batch.state.length; offset++) {
      if (batch.state[offset] === RUNNING) offsets.push(offset);
    }
    if (offsets.length === 0) return;
    if (worker.state === 'ready' && performance.now() - worker.lastHeard > SILENCE_MS) {
      // The worker has gone quiet: its loop may be blocked by one task, and then the others are
      // late through no fault of their own. Decide when the hang watch does.
      for (const offset of offsets) worker.overdue.push({ batch, offset });
      this.watchForHang(worker);
      return;
    }
    const error = new TimeoutError(batch.job.timeout);
    for (const offset of offsets) this.settleEarly(batch, offset, error);
    this.abortInWorker(batch, offsets, 'timeout');
    this.watchForHang(worker);
  }

  /**
   * A timed-out task should end once its signal fires. If its worker then says nothing at all for
   * HANG_GRACE_MS — no result, no idle report — a task is blocking its event loop (an endless
   * loop, a CPU hog past its timeout): replace the worker. The culprit, when the worker could say
   * which task it was inside (threads), settles with TimeoutError; tasks merely stuck behind it
   * run again elsewhere. Otherwise every task past its deadline there times out.
   */
  private watchForHang(worker: WorkerSlot): void {
    if (worker.hangWatch) return;
    const since = performance.now();
    worker.hangWatch = setTimeout(() => {
      worker.hangWatch = undefined;
      const overdue = worker.overdue.splice(0);
      // A closing worker is watched too: close() waits for it, so a blocked one must go.
      if (worker.state !== 'ready' && worker.state !== 'closing') return;
      const silent = worker.lastHeard <= since && worker.running > 0;
      const now = performance.now();
      // The task the blocked loop is inside, if the worker could note it (threads, before the
      // task's first await).
      let culprit: { batch: Batch; offset: number } | undefined;
      const noted = silent ? worker.current[0] : undefined;
      if (noted !== undefined && noted !== -1) {
        const batch = worker.batches.get(noted);
        const offset = worker.current[1]!;
        // Settled already counts too: a task that timed out while the loop still answered, and
        // blocked it afterwards, is still the culprit.
        if (batch && batch.state[offset] !== FINISHED) culprit = { batch, offset };
      }
      // A known culprit still within its own timeout is a long task, not a hang: leave it be —
      // unless its caller gave up on it (aborted), when nobody waits for it any more.
      const hung =
        silent &&
        (culprit === undefined ||
          culprit.batch.deadline <= now ||
          culprit.batch.state[culprit.offset] === SETTLED_RUNNING);
      for (const { batch, offset } of overdue) {
        if (batch.state[offset] !== RUNNING) continue;
        if (hung && culprit && !(batch === culprit.batch && offset === culprit.offset)) continue;
        this.settleEarly(batch, offset, new TimeoutError(batch.job.timeout));
        if (!hung) this.abortInWorker(batch, [offset], 'timeout');
      }
      if (!hung) {
        if (worker.overdue.length > 0) this.watchForHang(worker);
        return;
      }
      if (culprit)
        this.settleEarly(
          culprit.batch,
          culprit.offset,
          new TimeoutError(culprit.batch.job.timeout),
        );
      // Its other tasks were stuck behind a known culprit: they run again without it counting.
      worker.blameless = culprit !== undefined;
      if (worker.state === 'ready') worker.state = 'hung';
      void worker.handle.terminate();
    }, HANG_GRACE_MS);
    worker.hangWatch.unref();
  }

  /** Mark a batch's unsettled tasks settled without reporting them, and fire their signals. */
  private settleAllQuietly(batch: Batch, reason: 'abort' | 'timeout'): void {
    const offsets: number[] = [];
    for (let offset = 0; offset < batch.state.length; offset++) {
      if (batch.state[offset] !== RUNNING) continue;
      batch.state[offset] = SETTLED_RUNNING;
      batch.unsettled--;
      offsets.push(offset);
    }
    batch.worker.abandoned += offsets.length;
    this.watchAbandoned(batch.worker);
    this.abortInWorker(batch, offsets, reason);
    // A task blocking its worker's loop cannot hear the abort: if the worker stays silent, it is
    // hung, and its other tasks must run again elsewhere.
    const state = batch.worker.state;
    if (offsets.length > 0 && (state === 'ready' || state === 'closing'))
      this.watchForHang(batch.worker);
  }

  private abortInWorker(batch: Batch, offsets: number[], reason: 'timeout' | 'abort'): void {
    if (offsets.length === 0 || batch.worker.state === 'gone') return;
    try {
      batch.worker.handle.send({ type: 'abort', batch: batch.id, offsets, reason });
    } catch {
      // The worker is on its way out; its exit handler deals with its tasks.
    }
  }

  /** The job's batches still on workers. */
  private batchesOf(job: Job): Batch[] {
    return [...(this.jobBatches.get(job) ?? [])];
  }

  private remove(job: Job): void {
    const index = this.jobs.indexOf(job);
    if (index === -1) return;
    this.jobs.splice(index, 1);
    this.jobBatches.delete(job);
    // Its tasks waiting to run again after a crash will not. Filtered out when next dealt (and
    // not counted as queued); with no job left, all of them go now, so none holds its inputs.
    if (this.jobs.length === 0) this.retries = [];
    job.cleanup?.();
    if (this.jobs.length === 0) {
      this.updateKeepAlive();
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}

function describeExit(exit: WorkerExit): string {
  const code = (exit.error as { code?: string } | undefined)?.code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') return `it ran out of memory (${exit.error!.message})`;
  if (exit.error) return `uncaught ${exit.error.name}: ${exit.error.message}`;
  if (exit.signal) return `it was killed by ${exit.signal}`;
  return `it exited with code ${exit.code}`;
}

/**
 * A task's runs cut short by dying workers, as one number: whole units are the counted attempts,
 * the fraction counts re-runs that were not its fault (its worker was replaced for another task).
 * Those are free, but not without end: every FREE_RERUNS of them count as one attempt, so a task
 * next to a stream of hangs cannot be restarted forever.
 */
const FREE_RERUNS = 8;
const FREE_RERUN = 1 / 64;

function nextAttempts(attempts: number, counted: boolean): number {
  if (counted) return attempts + 1;
  const free = Math.round((attempts - Math.floor(attempts)) / FREE_RERUN) + 1;
  return free >= FREE_RERUNS ? Math.floor(attempts) + 1 : Math.floor(attempts) + free * FREE_RERUN;
}

function countedAttempts(attempts: number): number {
  return Math.floor(attempts);
}

/** The input index of position `offset` in a batch or segment. */
function indexOf(
  run: { firstIndex: number; indices?: number[] | undefined },
  offset: number,
): number {
  return run.indices ? run.indices[offset]! : run.firstIndex + offset;
}

/** Fisher-Yates, in place. */
function shuffle(items: number[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const swap = items[i]!;
    items[i] = items[j]!;
    items[j] = swap;
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
