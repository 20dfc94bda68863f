/**
 * One worker as the engine sees it, whatever runs it: the engine only sends messages, hears
 * messages and learns when the worker is gone. A worker thread (thread.ts) or a child process
 * (process.ts) behind the same interface.
 */
import type { MainToChannel, WorkerInit, WorkerToMain } from '../protocol/messages.js';

export interface WorkerExit {
  /** Exit code, if it exited. */
  readonly code: number | null;
  /** The signal that killed it (a child process only: SIGSEGV, SIGKILL...), if any. */
  readonly signal: string | null;
  /** The error that killed it (uncaught exception, out of memory...), if any. */
  readonly error: Error | undefined;
}

export interface WorkerHandle {
  send(message: MainToChannel): void;
  /** Whether this worker keeps the process alive (only while it has work, so a forgotten pool does not hang the program). */
  setKeepAlive(keepAlive: boolean): void;
  /** A child process's pid (its descriptors are its own); undefined for a thread. */
  readonly pid: number | undefined;
  /** False once the worker can no longer receive messages (it is exiting or gone). */
  readonly connected: boolean;
  /** Resolves once the worker is gone, however it ended. */
  readonly exited: Promise<void>;
  /** Stop it now, whatever it is doing. Resolves once it is gone. */
  terminate(): Promise<void>;
}

/** How a worker is started, whatever runs it. */
export interface WorkerLimits {
  /** V8 old-generation heap limit in MiB, if any. */
  readonly maxMemoryMb: number | undefined;
}

export interface WorkerEvents {
  message(message: WorkerToMain): void;
  exit(exit: WorkerExit): void;
}

/**
 * Starts one worker: the thread and process backends, or a stand-in that drives the engine alone
 * (bench/micro/main.ts). `syncTask` is the cell a thread shares; a process's watchdog reports it.
 */
export type StartWorker = (
  init: WorkerInit,
  events: WorkerEvents,
  limits: WorkerLimits,
  syncTask: Int32Array,
) => WorkerHandle;
