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
export type StreamResult<I, O> =
  | { readonly index: number; readonly input: I; readonly ok: true; readonly value: O }
  | { readonly index: number; readonly input: I; readonly ok: false; readonly error: Error };

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
