import { describeThrown } from './serialize-error.ts';

/**
 * Every error polyloop creates is a `PolyloopError` with a stable `code`, so callers can branch on
 * `err.code` without parsing messages. A task's own error is kept as `cause`, stack included.
 */
export class PolyloopError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The task threw or rejected; `cause` is its error, revived with name, message, stack and own properties. */
export class TaskError extends PolyloopError {
  constructor(cause: unknown) {
    const message = cause instanceof Error ? cause.message : describeThrown(cause);
    super('ERR_POLYLOOP_TASK_FAILED', message, { cause });
  }
}

/** The task ran past its `timeout`. */
export class TimeoutError extends PolyloopError {
  readonly timeout: number;
  constructor(timeout: number) {
    super('ERR_POLYLOOP_TIMEOUT', `Task timed out after ${timeout} ms`);
    this.timeout = timeout;
  }
}

/** The task was cancelled: its `signal` fired, its stream was abandoned, or the pool was destroyed. */
export class AbortError extends PolyloopError {
  constructor(message = 'The task was aborted', options?: ErrorOptions) {
    super('ERR_POLYLOOP_ABORTED', message, options);
  }
}

/** `run`, `map` or `stream` was called after `close()` or `destroy()`. */
export class PoolClosedError extends PolyloopError {
  constructor(message = 'The pool is closed') {
    super('ERR_POLYLOOP_POOL_CLOSED', message);
  }
}

/** An input or an output cannot be sent between threads (a function, a socket, a class with private state...). */
export class DataCloneError extends PolyloopError {
  constructor(what: 'input' | 'output', cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('ERR_POLYLOOP_DATA_CLONE', `The task's ${what} cannot be cloned: ${detail}`, { cause });
  }
}

/** The task module could not be used: missing file, no default export, or it (or its `setup`) threw. */
export class TaskModuleError extends PolyloopError {
  readonly module: string;
  constructor(module: string, message: string, options?: ErrorOptions) {
    super('ERR_POLYLOOP_TASK_MODULE', `${message} (task module ${module})`, options);
    this.module = module;
  }
}

/** A worker died while running the task (exit, uncaught error, out of memory) and retries ran out. */
export class WorkerCrashedError extends PolyloopError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_POLYLOOP_WORKER_CRASHED', message, options);
  }
}
