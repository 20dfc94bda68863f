/**
 * The main <-> worker protocol. Tasks and results travel in batches: one message carries many
 * tasks, so the main thread's cost per task stays a small fraction of a message.
 */
import type { Columns } from './columns.js';
import type { SerializedError } from './serialize-error.js';

/** Sent once, as workerData (thread) or the first message (process). */
export interface WorkerInit {
  readonly moduleUrl: string;
  readonly workerId: number;
  /**
   * Threads: the sync-task cell, shared with the pool (see sync-task.ts). Undefined for a child
   * process, which makes its own for its watchdog. Timings come from timing.ts, on both sides.
   */
  readonly syncTask: Int32Array | undefined;
}

/** Inputs or values as they travel: as they are, or as columns when they are flat objects. */
export type WireValues = unknown[] | Columns;

/**
 * Tasks are addressed as (batch id, offset in the batch): the main thread tracks batches, not
 * tasks, so its bookkeeping per task is a few array slots rather than an object and a map entry.
 */
export type MainToWorker =
  /**
   * Start one task per input. `sentAt` (epoch ms) lets the worker measure how long they waited.
   * `track`: the tasks are suspects of a crash or hang, to be tracked across awaits.
   */
  | {
      readonly type: 'run';
      readonly batch: number;
      readonly inputs: WireValues;
      readonly sentAt: number;
      readonly track?: boolean;
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

/**
 * The 'run' messages of one dealing turn to one worker, as one message: the worker's channel
 * hands them over one by one. Many jobs of one input each (run() calls) then cost the main
 * thread one message per worker and turn, not one per call.
 */
export interface RunBundle {
  readonly type: 'runs';
  readonly batches: number[];
  readonly inputs: WireValues[];
  readonly sentAt: number;
}

/** What travels to a worker: a message for its runtime, or a bundle of them. */
export type MainToChannel = MainToWorker | RunBundle;

export type WorkerToMain =
  | { readonly type: 'ready' }
  /** Busy, but its event loop turns: not hung. */
  | { readonly type: 'alive' }
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
  | ResultsMessage;

/** Settled tasks; written and read only by results.ts, which describes the format. */
export interface ResultsMessage {
  readonly type: 'results';
  /** Tasks that fulfilled: [batch, count, batch, count, ...]. */
  readonly okBatches: number[];
  readonly okOffsets: Int32Array;
  readonly values: WireValues;
  /** Tasks that threw, or whose value could not be cloned. */
  readonly failures: TaskFailure[];
}

export interface TaskFailure {
  readonly batch: number;
  readonly offset: number;
  readonly kind: 'threw' | 'output-not-cloneable';
  readonly error: SerializedError;
}

export type InitFailure = 'import' | 'no-default-export' | 'setup';

// ---- the process backend's own messages ----
// A thread gets its WorkerInit as workerData and its crash as an 'error' event; a child process
// needs a message for each. They travel only between a child and its handle (backends/process.ts
// and worker/channel.ts), never through the engine.

/** What the process backend sends a child: first its init, then the shared messages. */
export type MainToChild = MainToChannel | { readonly type: 'init'; readonly init: WorkerInit };

/** A child process's last words before an uncaught error kills it, so its exit can name it. */
export interface CrashMessage {
  readonly type: 'crash';
  readonly error: SerializedError;
}

export type ChildToMain = WorkerToMain | CrashMessage;
