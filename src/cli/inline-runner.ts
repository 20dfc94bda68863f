/**
 * `--workers 0`: every task runs on the main thread's own event loop, with the same concurrency,
 * timeout, ordering and records as the pool — the one-loop baseline a pool is measured against
 * (and a simple way to debug a task module). No worker, so no crash recovery: a task that kills
 * its process kills the run.
 */
import { pathToFileURL } from 'node:url';
import type { JobSink } from '../core/job.js';
import { AbortError, TaskError, TaskModuleError, TimeoutError } from '../errors.js';
import { Histogram } from '../histogram.js';
import { ResultStream } from '../result-stream.js';
import { initFailureMessage, loadTaskModule } from '../task-module.js';
import type { PoolStats, StreamResult, TaskContext, TaskModule } from '../types.js';

const NO_SAMPLES = { count: 0, p50: 0, p99: 0 } as const;

/** The main thread's load is measured over at least this long. */
const LOAD_WINDOW_MS = 100;

export interface InlineOptions {
  readonly concurrency: number;
  readonly timeout: number;
}

export class InlineRunner {
  private task: TaskModule['default'] | undefined;
  private running = 0;
  private done = 0;
  private failed = 0;
  private readonly runTimes = new Histogram();
  private load = { at: performance.now(), elu: performance.eventLoopUtilization(), utilization: 0 };
  private readonly controllers = new Set<AbortController>();

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
    let stop = (): void => {};
    let release = (_count: number): void => {};
    return new ResultStream(ordered, {
      start: (sink) => {
        const job = this.startJob(inputs[Symbol.asyncIterator](), sink, signal);
        stop = job.stop;
        release = job.release;
      },
      release: (count) => release(count),
      abandon: () => stop(),
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
      inFlight: this.running,
      queued: 0,
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
    for (const controller of this.controllers)
      controller.abort(new AbortError('The run was destroyed'));
  }

  /** Pull inputs while fewer than `concurrency` are unconsumed, run each, settle each once. */
  private startJob(
    source: AsyncIterator<unknown>,
    sink: JobSink,
    signal: AbortSignal | undefined,
  ): { stop(): void; release(count: number): void } {
    let index = 0;
    let outstanding = 0; // started and not yet taken by the consumer
    let pulling = false;
    let exhausted = false;
    let stopped = false;
    const settled = (): void => {
      if (exhausted && this.running === 0 && !stopped) {
        stopped = true;
        sink.done();
      }
    };
    const pull = async (): Promise<void> => {
      if (pulling) return;
      pulling = true;
      try {
        while (!stopped && !exhausted && outstanding < this.options.concurrency) {
          const step = await source.next();
          if (stopped) return;
          if (step.done) {
            exhausted = true;
            break;
          }
          outstanding++;
          const taskIndex = index++;
          const input = step.value;
          this.runOne(input, (ok, result) => {
            if (!stopped) sink.settle(taskIndex, input, ok, result);
            settled();
          });
        }
      } catch (error) {
        stopped = true;
        sink.fail(error instanceof Error ? error : new Error(String(error)));
        return;
      } finally {
        pulling = false;
      }
      settled();
    };
    const onAbort = (): void => {
      if (stopped) return;
      stopped = true;
      for (const controller of this.controllers) controller.abort(signal?.reason);
      sink.fail(new AbortError('The run was aborted', { cause: signal?.reason }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    void pull();
    return {
      stop: () => {
        stopped = true;
        signal?.removeEventListener('abort', onAbort);
        void source.return?.();
        for (const controller of this.controllers) controller.abort(new AbortError());
      },
      release: (count) => {
        outstanding -= count;
        void pull();
      },
    };
  }

  /** Run one task; `report` hears its outcome exactly once (a timeout wins over a late end). */
  private runOne(input: unknown, report: (ok: boolean, result: unknown) => void): void {
    const controller = new AbortController();
    this.controllers.add(controller);
    this.running++;
    const started = performance.now();
    let open = true;
    const settle = (ok: boolean, result: unknown): void => {
      if (!open) return;
      open = false;
      clearTimeout(timer);
      this.controllers.delete(controller);
      this.running--;
      this.runTimes.add(performance.now() - started);
      if (ok) this.done++;
      else this.failed++;
      report(ok, result);
    };
    const timeout = this.options.timeout;
    const timer =
      timeout === Number.POSITIVE_INFINITY
        ? undefined
        : setTimeout(() => {
            const error = new TimeoutError(timeout);
            controller.abort(error);
            settle(false, error);
          }, timeout);
    const ctx: TaskContext = { signal: controller.signal, workerId: 0 };
    try {
      Promise.resolve(this.task!(input, ctx)).then(
        (value) => settle(true, value),
        (error: unknown) => settle(false, new TaskError(error)),
      );
    } catch (error) {
      settle(false, new TaskError(error));
    }
  }
}
