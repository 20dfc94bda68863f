import type { Percentiles } from './histogram.js';

/** What a task sees besides its input. */
export interface TaskContext {
  /**
   * Aborted when the task times out, its call's signal aborts, or its `map`/`stream` stops early.
   * (`destroy()` terminates the workers instead: no task code runs after it.)
   */
  readonly signal: AbortSignal;
  /** 0-based id of the worker running the task (stable for the worker's life; a replacement gets a new id). */
  readonly workerId: number;
}

/** What `setup` sees: it runs once per worker, before the worker's first task. */
export interface SetupContext {
  readonly workerId: number;
}

/** The shape of a task module: `export default async (input, ctx) => output`, and optionally `export async function setup(ctx)`. */
export interface TaskModule {
  default: (input: any, ctx: TaskContext) => unknown;
  setup?: (ctx: SetupContext) => unknown;
}

/** The input type of a task module's default export. */
export type InputOf<M extends TaskModule> = Parameters<M['default']>[0];
/** The resolved output type of a task module's default export. */
export type OutputOf<M extends TaskModule> = Awaited<ReturnType<M['default']>>;

/** One settled input, as yielded by `pool.stream()`. */
export type StreamResult<I, O> = (
  | { readonly index: number; readonly input: I; readonly ok: true; readonly value: O }
  | { readonly index: number; readonly input: I; readonly ok: false; readonly error: Error }
) & {
  /** The runs this outcome took, when error retries (`retryErrors`) made it more than one. */
  readonly attempts?: number;
};

/** Options of one `run()` call. */
export interface RunOptions {
  /** Aborts this task: it settles with `AbortError` and the task's `ctx.signal` fires. */
  readonly signal?: AbortSignal | undefined;
  /** Milliseconds before the task settles with `TimeoutError` (overrides the pool's `timeout`). */
  readonly timeout?: number | undefined;
}

/** Options of one `map()` call: `signal` aborts the whole map, `timeout` applies to each task. */
export type MapOptions = RunOptions;

/** Options of one `stream()` call. */
export interface StreamOptions extends RunOptions {
  /**
   * Yield in input order instead of completion order.
   * @default false
   */
  readonly ordered?: boolean | undefined;
}

/** Either a synchronous or an asynchronous iterable, pulled lazily. */
export type Inputs<I> = Iterable<I> | AsyncIterable<I>;

/** One worker, as `pool.stats()` shows it. */
export interface WorkerStats {
  /** The worker's id (`ctx.workerId`); a replacement gets a new one. */
  readonly id: number;
  /** 'starting': importing the task module or running `setup`; 'closing': finishing before it stops. */
  readonly state: 'starting' | 'ready' | 'closing';
  /** Tasks running on it now. */
  readonly running: number;
  /** Its event loop's utilization (0–1) over its last report (about 100 ms): 1 means fully busy. */
  readonly utilization: number;
}

/** A snapshot of a pool, from `pool.stats()`. Counters run from the pool's start. */
export interface PoolStats {
  /** Inputs settled with a value. */
  readonly done: number;
  /** Inputs settled with an error. */
  readonly failed: number;
  /** Re-runs of tasks whose worker died under them. */
  readonly retried: number;
  /** Re-runs of tasks that threw or timed out (`retryErrors`), those still waiting included. */
  readonly retriedErrors: number;
  /** Tasks running on the workers (including timed-out ones that have not ended yet). */
  readonly inFlight: number;
  /**
   * The most tasks the workers may run at once now: every worker's window, which adapts (see
   * *How it works* in the README) within `concurrency` × workers. `Infinity` when unbounded.
   */
  readonly limit: number;
  /**
   * Inputs pulled from their source, or waiting for a re-run (an error retry's delay included),
   * and not yet sent to a worker.
   */
  readonly queued: number;
  readonly workers: readonly WorkerStats[];
  /** How long tasks ran: from their start on a worker to their end (ms), sampled (one task in 8). */
  readonly runTime: Percentiles;
  /** How long tasks waited: from leaving the main thread to starting on their worker (ms). */
  readonly waitTime: Percentiles;
}
