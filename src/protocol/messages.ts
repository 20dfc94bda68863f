/**
 * The main <-> worker protocol. Tasks and results travel in batches: one message carries many
 * tasks, so the main thread's cost per task stays a small fraction of a message.
 */
import type { SerializedError } from './serialize-error.js';

/** The child process's pipe (after stdin, stdout, stderr and IPC) for its watchdog's reports. */
export const WATCHDOG_FD = 4;

/** Sent once, as workerData (thread) or the first message (process). */
export interface WorkerInit {
  readonly moduleUrl: string;
  readonly workerId: number;
  /** Results are flushed when this many are pending, or after `flushDelayMs`, whichever comes first. */
  readonly flushCount: number;
  readonly flushDelayMs: number;
  /**
   * Threads: shared memory where the worker notes the task whose synchronous part is running (see
   * engine). Processes cannot share memory with the pool: they note it in their own, and a
   * watchdog thread in the child reports a task stuck there on the WATCHDOG_FD pipe.
   */
  readonly current: Int32Array | undefined;
  /** How often the worker checks whether it is idle while it has tasks (see 'idle'). */
  readonly idleCheckMs: number;
  /** How often a worker with tasks reports its load and task times (see 'stats'). */
  readonly statsMs: number;
}

/**
 * Tasks are addressed as (batch id, offset in the batch): the main thread tracks batches, not
 * tasks, so its bookkeeping per task is a few array slots rather than an object and a map entry.
 */
export type MainToWorker =
  | { readonly type: 'init'; readonly init: WorkerInit }
  /** Start one task per input. `sentAt` (epoch ms) lets the worker measure how long they waited. */
  | {
      readonly type: 'run';
      readonly batch: number;
      readonly inputs: unknown[];
      readonly sentAt: number;
    }
  /** Fire `ctx.signal` of these tasks (they keep their slot until they actually finish). */
  | {
      readonly type: 'abort';
      readonly batch: number;
      readonly offsets: number[];
      readonly reason: 'timeout' | 'abort';
    }
  /** No more tasks will come: exit once the last result is flushed. */
  | { readonly type: 'close' };

export type WorkerToMain =
  | { readonly type: 'ready' }
  /** Busy, but its event loop turns: not hung. */
  | { readonly type: 'alive' }
  /** A child process's last words before an uncaught error kills it. */
  | { readonly type: 'crash'; readonly error: SerializedError }
  /** The worker's event loop sat mostly idle while it had tasks: they wait on I/O, send more. */
  | { readonly type: 'idle' }
  | { readonly type: 'init-error'; readonly error: SerializedError; readonly reason: InitFailure }
  /**
   * Load report: the event loop's busy and idle time since the worker started (ms), and the task
   * run and wait times since the last report (histogram deltas, see Histogram.takeDelta).
   */
  | {
      readonly type: 'stats';
      readonly active: number;
      readonly idle: number;
      readonly runTimes: number[];
      readonly waitTimes: number[];
    }
  | {
      readonly type: 'results';
      /**
       * Tasks that fulfilled: `okRuns` is [batch, count, batch, count, ...] (results of one batch
       * come in runs), the next `count` entries of `okOffsets` are offsets in that batch, and
       * `values` holds their values, position by position. Offsets travel as raw bytes: cloning
       * a typed array is a copy, a plain array costs a tagged write and read per number.
       */
      readonly okRuns: number[];
      readonly okOffsets: Int32Array;
      readonly values: unknown[];
      /** Tasks that threw, or whose value could not be cloned (rare, so one object each). */
      readonly failures: TaskFailure[];
    };

export interface TaskFailure {
  readonly batch: number;
  readonly offset: number;
  readonly kind: 'threw' | 'output-not-cloneable';
  readonly error: SerializedError;
}

export type InitFailure = 'import' | 'no-default-export' | 'setup';
