/**
 * The main <-> worker protocol. Tasks and results travel in batches: one message carries many
 * tasks, so the main thread's cost per task stays a small fraction of a message.
 */
import type { SerializedError } from './serialize-error.ts';

/** Sent once, as workerData (thread) or the first message (process). */
export interface WorkerInit {
  readonly moduleUrl: string;
  readonly workerId: number;
  /** Results are flushed when this many are pending, or after `flushDelayMs`, whichever comes first. */
  readonly flushCount: number;
  readonly flushDelayMs: number;
}

export type MainToWorker =
  | { readonly type: 'init'; readonly init: WorkerInit }
  /** Start tasks `firstId`, `firstId + 1`, ... with these inputs. */
  | { readonly type: 'run'; readonly firstId: number; readonly inputs: unknown[] }
  /** Fire `ctx.signal` of these tasks (they keep their slot until they actually finish). */
  | { readonly type: 'abort'; readonly ids: number[]; readonly reason: 'timeout' | 'abort' }
  /** No more tasks will come: exit once the last result is flushed. */
  | { readonly type: 'close' };

export type WorkerToMain =
  | { readonly type: 'ready' }
  | { readonly type: 'init-error'; readonly error: SerializedError; readonly reason: InitFailure }
  | {
      readonly type: 'results';
      /** Tasks that fulfilled, and their values, position by position. */
      readonly okIds: number[];
      readonly values: unknown[];
      /** Tasks that threw, or whose value could not be cloned (rare, so one object each). */
      readonly failures: TaskFailure[];
    };

export interface TaskFailure {
  readonly id: number;
  readonly kind: 'threw' | 'output-not-cloneable';
  readonly error: SerializedError;
}

export type InitFailure = 'import' | 'no-default-export' | 'setup';
