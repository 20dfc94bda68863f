import { availableParallelism } from 'node:os';

/** Options of `new Pool()`. Validated up front: a bad value throws a TypeError naming the option. */
export interface PoolOptions {
  /**
   * How many workers (threads), each with its own event loop.
   * @default os.availableParallelism()
   * @example { workers: 4 }
   */
  readonly workers?: number | undefined;
  /**
   * The most tasks in flight on one worker at once: a hard cap. Tasks are async: a worker runs
   * many concurrently on its event loop (like `Promise.all` over a slice). Within this cap the
   * pool finds the number itself (see `adaptive`): it starts each worker at 1,024 (or this, if
   * lower, or what the open-file limit leaves), widens that window while a worker sits idle with
   * its window full — tasks waiting on I/O — and narrows it when tasks fail for load or a
   * server's queue shows in their latency. Lower it to bound sockets or memory per worker;
   * `Infinity` is allowed.
   * @default 10000
   * @example { concurrency: 200 }
   */
  readonly concurrency?: number | undefined;
  /**
   * Whether the pool narrows its window on load: halved on a burst of failures for load (EMFILE,
   * ECONNRESET, timeouts... anywhere on the error's cause chain), and stepped down while a
   * smaller window leaves throughput as it was (a server's queue). Rejections it brought on itself
   * run again, unreported. `false`: a fixed cap, for users who know their number — the window still
   * grows up to `concurrency` on an idle loop, never shrinks; only EMFILE failures run again.
   * @default true
   * @example { concurrency: 128, adaptive: false }
   */
  readonly adaptive?: boolean | undefined;
  /**
   * Milliseconds before a task settles with `TimeoutError` (and its `ctx.signal` fires).
   * `run`, `map` and `stream` can override it per call.
   * @default Infinity
   * @example { timeout: 30_000 }
   */
  readonly timeout?: number | undefined;
  /**
   * How many more times an input runs when the worker running it dies (`process.exit`, an
   * uncaught error, out of memory) before it settles with `WorkerCrashedError`. Tasks that were
   * merely on a worker killed because another task hung it are run again without counting.
   * A task that throws is not retried unless `retryErrors` says so: those count apart.
   * @default 2
   * @example { retries: 0 }
   */
  readonly retries?: number | undefined;
  /**
   * How many more times a task runs when it throws or rejects (`TaskError`) or passes its
   * `timeout` (`TimeoutError`), before that error is its answer. A retry waits `retryDelay` on the
   * main thread, holding no worker's slot, then runs again (on any worker) before new inputs. Its
   * outcome is its last attempt's; `stream()` results and `polyloop run` records say `attempts`
   * when there was more than one. Counted apart from `retries` (crashed workers).
   * @default 0
   * @example { retryErrors: 3 }
   */
  readonly retryErrors?: number | undefined;
  /**
   * Milliseconds before the first error retry; each next one waits twice as long, up to
   * 30 seconds (or `retryDelay` itself, if longer), and each delay is stretched by a random
   * 0–50 % so failures at the same moment do not all retry at the same moment. Never shorter
   * than asked.
   * @default 1000
   * @example { retryErrors: 5, retryDelay: 200 }
   */
  readonly retryDelay?: number | undefined;
  /**
   * Decides whether a failed attempt is retried (within `retryErrors`): `error` is what the
   * caller would get (a `TaskError` whose `cause` is the task's error, or a `TimeoutError`),
   * `attempt` the number of the attempt that failed (1 for the first run). Returning false, or
   * throwing, makes that error the task's answer. Runs on the main thread.
   * @default every TaskError and TimeoutError is retried
   * @example { retryErrors: 3, shouldRetry: (error) => error.cause?.code === 'ECONNRESET' }
   */
  readonly shouldRetry?: ((error: Error, attempt: number) => boolean) | undefined;
  /**
   * What runs each worker: `'thread'` (a worker thread) or `'process'` (a child process, for
   * isolation: a native crash or a leak in a task takes down only its process). Same API and
   * guarantees; inputs and outputs are structured-cloned either way, but a process cannot share
   * a SharedArrayBuffer.
   * @default 'thread'
   * @example { backend: 'process' }
   */
  readonly backend?: 'thread' | 'process' | undefined;
  /**
   * The most JavaScript heap one worker may use, in MiB (V8's old generation). A worker past it
   * dies of out-of-memory, and its tasks are retried or fail like any crash. Unset: Node's own
   * limit.
   * @default undefined
   * @example { maxMemoryMb: 512 }
   */
  readonly maxMemoryMb?: number | undefined;
  /**
   * The longest a worker's event loop may stay blocked — one stretch of a task's synchronous code,
   * an endless loop — before the worker is replaced, even where no `timeout` applies: then every
   * input still settles. The task found blocking it fails with `TimeoutError`; its worker's other
   * tasks run again elsewhere, uncharged. A worker with tasks otherwise talks every few ms, so
   * this only has to exceed the longest synchronous stretch a task may legitimately run.
   * `Infinity`: never.
   * @default 30000
   * @example { maxBlockMs: 120_000 }
   */
  readonly maxBlockMs?: number | undefined;
}

export interface ResolvedOptions {
  readonly workers: number;
  readonly concurrency: number;
  readonly adaptive: boolean;
  readonly timeout: number;
  readonly retries: number;
  readonly retryErrors: number;
  readonly retryDelay: number;
  readonly shouldRetry: ((error: Error, attempt: number) => boolean) | undefined;
  readonly backend: 'thread' | 'process';
  readonly maxMemoryMb: number | undefined;
  readonly maxBlockMs: number;
}

const DEFAULT_CONCURRENCY = 10_000;
const DEFAULT_RETRIES = 2;
/** Far past any synchronous stretch an async task should run, short enough to end a hang. */
const DEFAULT_MAX_BLOCK_MS = 30_000;
/** Long enough for a restarting service or a passing overload, short enough not to idle a run. */
export const DEFAULT_RETRY_DELAY = 1000;

export function resolveOptions(options: PoolOptions | undefined): ResolvedOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`Expected options to be an object, got ${describe(options)}`);
  }
  const known = new Set([
    'workers',
    'concurrency',
    'adaptive',
    'timeout',
    'retries',
    'retryErrors',
    'retryDelay',
    'shouldRetry',
    'backend',
    'maxMemoryMb',
    'maxBlockMs',
  ]);
  const backend = options.backend === undefined ? 'thread' : options.backend;
  if (backend !== 'thread' && backend !== 'process') {
    throw new TypeError(
      `Expected \`backend\` to be 'thread' or 'process', got ${describe(options.backend)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new TypeError(`Unknown option \`${key}\``);
  }
  return {
    workers: positiveInteger('workers', options.workers, availableParallelism()),
    concurrency: positiveInteger('concurrency', options.concurrency, DEFAULT_CONCURRENCY, true),
    adaptive: validateBoolean('adaptive', options.adaptive, true),
    timeout: validateTimeout('timeout', options.timeout, Number.POSITIVE_INFINITY),
    retries: nonNegativeInteger('retries', options.retries, DEFAULT_RETRIES),
    retryErrors: nonNegativeInteger('retryErrors', options.retryErrors, 0),
    retryDelay: validateRetryDelay(options.retryDelay),
    shouldRetry: validateShouldRetry(options.shouldRetry),
    backend,
    maxMemoryMb:
      options.maxMemoryMb === undefined
        ? undefined
        : positiveInteger('maxMemoryMb', options.maxMemoryMb, 0),
    maxBlockMs: validateTimeout('maxBlockMs', options.maxBlockMs, DEFAULT_MAX_BLOCK_MS),
  };
}

/** A per-call `timeout`: undefined means "use the pool's". */
export function validateTimeout(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
    throw new TypeError(
      `Expected \`${name}\` to be a positive number of milliseconds or Infinity, got ${describe(value)}`,
    );
  }
  return value;
}

function validateRetryDelay(value: unknown): number {
  if (value === undefined) return DEFAULT_RETRY_DELAY;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(
      `Expected \`retryDelay\` to be a number of milliseconds >= 0, got ${describe(value)}`,
    );
  }
  return value;
}

function validateShouldRetry(value: unknown): ResolvedOptions['shouldRetry'] {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new TypeError(`Expected \`shouldRetry\` to be a function, got ${describe(value)}`);
  }
  return value as ResolvedOptions['shouldRetry'];
}

export function validateSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${describe(value)}`);
  }
  return value;
}

function positiveInteger(
  name: string,
  value: unknown,
  fallback: number,
  allowInfinity = false,
): number {
  if (value === undefined) return fallback;
  const ok =
    typeof value === 'number' &&
    ((Number.isInteger(value) && value >= 1) ||
      (allowInfinity && value === Number.POSITIVE_INFINITY));
  if (!ok) {
    const expected = allowInfinity ? 'an integer >= 1 or Infinity' : 'an integer >= 1';
    throw new TypeError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`);
  }
  return value;
}

function nonNegativeInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`Expected \`${name}\` to be an integer >= 0, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `"${value}" (string)`;
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${String(value)} (${typeof value})`;
}

function validateBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(`Expected \`${name}\` to be a boolean, got ${describe(value)}`);
  }
  return value;
}
