/**
 * `--workers 0`: every task runs on the main thread's own event loop, with the same concurrency,
 * timeout, ordering and records as the pool — the one-loop baseline a pool is measured against
 * (and a simple way to debug a task module). It pulls inputs with the pool's own Job and gives
 * tasks the workers' own context; only the dealing is left out: tasks start as soon as they are
 * pulled. No worker, so no crash recovery: a task that kills its process kills the run. Error
 * retries (`retryErrors`) are the pool's: same policy and delays, one timer, no slot held.
 */
import { pathToFileURL } from 'node:url';
import { DelayQueue } from '../core/delay-queue.js';
import { Job, type JobSink } from '../core/job.js';
import { type RetryOptions, retryDelayAfter } from '../core/retry-policy.js';
import { AbortError, TaskError, TaskModuleError, TimeoutError } from '../errors.js';
import { Histogram } from '../histogram.js';
import { ResultStream } from '../result-stream.js';
import { initFailureMessage, loadTaskModule } from '../task-module.js';
import type { PoolStats, StreamResult, TaskModule } from '../types.js';
import { Aborts, Context } from '../worker/task-context.js';

const NO_SAMPLES = { count: 0, p50: 0, p99: 0 } as const;

/** The main thread's load is measured over at least this long. */
const LOAD_WINDOW_MS = 100;

export interface InlineOptions extends RetryOptions {
  readonly concurrency: number;
  readonly timeout: number;
}

/** A task waiting for its error retry; `errors`: its runs that failed so far. */
interface Waiting {
  readonly job: Job;
  readonly index: number;
  readonly input: unknown;
  readonly errors: number;
}

export class InlineRunner {
  private task: TaskModule['default'] | undefined;
  private running = 0;
  private done = 0;
  private failed = 0;
  private retriedErrors = 0;
  /** Error retries waiting for their delay: they keep the process alive (no worker does here). */
  private readonly retries = new DelayQueue<Waiting>((waiting) => this.onRetryDue(waiting), true);
  private readonly runTimes = new Histogram();
  private load = { at: performance.now(), elu: performance.eventLoopUtilization(), utilization: 0 };
  /** Tasks running, by number: a stop or destroy fires their signals. */
  private readonly tasks = new Set<number>();
  private readonly aborts = new Aborts();
  private nextTask = 0;

  private constructor(private readonly options: InlineOptions) {}

  /** Import the module (through tsx if it is TypeScript) and run its `setup`, as a worker would. */
  static async start(path: string, options: InlineOptions): Promise<InlineRunner> {
    const loaded = await loadTaskModule(pathToFileURL(path).href, 0);
    if (!loaded.ok) {
      const message = initFailureMessage(loaded.reason, loaded.error);
      throw new TaskModuleError(path, message, { cause: loaded.error });
    }
    const runner = new InlineRunner(options);
    runner.task = loaded.task;
    return runner;
  }

  stream(
    inputs: AsyncIterable<unknown>,
    { ordered, signal }: { ordered: boolean; signal?: AbortSignal | undefined },
  ): AsyncIterableIterator<StreamResult<unknown, unknown>> {
    let job: Job | undefined;
    return new ResultStream(ordered, {
      start: (sink) => {
        job = this.startJob(inputs, sink, signal);
      },
      release: (count) => {
        job?.release(count);
        if (job) this.startReady(job);
      },
      abandon: () => {
        // The consumer is gone: pull nothing more, and stop what runs.
        if (job && !job.finished) job.fail(new AbortError('The stream was abandoned'));
      },
      endInputs: () => job?.endInputs(),
    });
  }

  stats(): PoolStats {
    const now = performance.now();
    if (now - this.load.at >= LOAD_WINDOW_MS) {
      const elu = performance.eventLoopUtilization();
      this.load = {
        at: now,
        elu,
        utilization: performance.eventLoopUtilization(elu, this.load.elu).utilization,
      };
    }
    return {
      done: this.done,
      failed: this.failed,
      retried: 0,
      retriedErrors: this.retriedErrors,
      inFlight: this.running,
      limit: this.options.concurrency,
      queued: this.retries.size,
      workers: [
        { id: 0, state: 'ready', running: this.running, utilization: this.load.utilization },
      ],
      runTime: this.runTimes.percentiles(),
      // Tasks start as soon as they are pulled: nothing waits between.
      waitTime: NO_SAMPLES,
    };
  }

  async close(): Promise<void> {}

  /** Abort what is running: each task's signal fires (the stream itself fails with AbortError). */
  async destroy(): Promise<void> {
    this.retries.clear();
    this.abortAll(new AbortError('The run was destroyed'));
  }

  private startJob(
    inputs: AsyncIterable<unknown>,
    sink: JobSink,
    signal: AbortSignal | undefined,
  ): Job {
    const onAbort = (): void => {
      if (!job.finished) job.fail(new AbortError('The run was aborted', { cause: signal?.reason }));
    };
    const job: Job = new Job(
      inputs,
      sink,
      {
        poolWindow: () => this.options.concurrency,
        readable: () => this.startReady(job),
        failed: (_job, error) => {
          job.stop();
          // Its retries will not run: they must not hold the process open either.
          this.retries.retain((waiting) => waiting.job !== job);
          signal?.removeEventListener('abort', onAbort);
          this.abortAll(error);
        },
        done: () => signal?.removeEventListener('abort', onAbort),
      },
      { timeout: this.options.timeout, pacedByConsumer: true },
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    job.prefetch();
    this.startReady(job);
    return job;
  }

  /** Start every input the job has ready, within `concurrency` unconsumed. */
  private startReady(job: Job): void {
    while (job.hasReady()) {
      const first = job.dispatched;
      const inputs = job.take(this.options.concurrency);
      if (inputs.length === 0) return;
      for (let i = 0; i < inputs.length; i++) this.runOne(job, first + i, inputs[i]);
    }
  }

  /**
   * Run one task; it settles exactly once (a timeout wins over a late end), or, failed and
   * retried, waits for its next run. `errors`: its earlier runs that failed and were retried.
   */
  private runOne(job: Job, index: number, input: unknown, errors = 0): void {
    const started = performance.now();
    const task = this.nextTask++;
    const ctx = new Context(0, this.aborts, task);
    this.tasks.add(task);
    this.running++;
    let open = true;
    const settle = (ok: boolean, result: unknown): void => {
      if (!open) return;
      open = false;
      clearTimeout(timer);
      this.tasks.delete(task);
      this.running--;
      this.runTimes.add(performance.now() - started);
      if (!ok && !job.finished && this.retry(job, index, input, errors, result)) return;
      if (ok) this.done++;
      else this.failed++;
      // A stopped job reports nothing more.
      if (!job.finished) job.settle(index, input, ok, result, errors + 1);
    };
    const timeout = this.options.timeout;
    const timer =
      timeout === Number.POSITIVE_INFINITY
        ? undefined
        : setTimeout(() => {
            const error = new TimeoutError(timeout);
            this.aborts.abort(task, error);
            settle(false, error);
          }, timeout);
    // Its abort state lives until the task itself ends (a timed-out task may still look at it).
    try {
      Promise.resolve(this.task!(input, ctx)).then(
        (value) => {
          this.aborts.forget(task);
          settle(true, value);
        },
        (error: unknown) => {
          this.aborts.forget(task);
          settle(false, new TaskError(error));
        },
      );
    } catch (error) {
      this.aborts.forget(task);
      settle(false, new TaskError(error));
    }
  }

  /** Whether the failed run is retried: then it waits, holding none of the job's room. */
  private retry(job: Job, index: number, input: unknown, errors: number, error: unknown): boolean {
    if (this.options.retryErrors === 0) return false;
    const delay = retryDelayAfter(this.options, error, errors + 1);
    if (delay < 0) return false;
    this.retriedErrors++;
    job.retryWaiting++;
    this.retries.add({ job, index, input, errors: errors + 1 }, delay);
    // Its room is free while it waits: another input may start.
    this.startReady(job);
    return true;
  }

  private onRetryDue(waiting: Waiting): void {
    const { job } = waiting;
    if (job.finished) return;
    job.retryWaiting--;
    this.runOne(job, waiting.index, waiting.input, waiting.errors);
  }

  private abortAll(reason: unknown): void {
    const error = reason instanceof Error ? reason : new AbortError('The run was aborted');
    for (const task of this.tasks) this.aborts.abort(task, error);
  }
}
