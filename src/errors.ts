import { clip, readCause, readMessage } from './protocol/serialize-error.js';

const MAX_CAUSES = 8;

/** "message: its cause's message: its cause's message", each first line once, on one line. */
export function messageWithCauses(error: unknown): string {
  let text = firstLine(error);
  let cause = readCause(error);
  for (let depth = 0; cause !== undefined && depth < MAX_CAUSES; depth++) {
    const message = firstLine(cause);
    if (message !== '' && !text.includes(message)) text += `: ${message}`;
    cause = readCause(cause);
  }
  return text;
}

/**
 * The first non-empty string `code` on an error's cause chain, the error itself first: a wrapped
 * error's real reason (`fetch failed` → `ECONNREFUSED`) is usually the deepest one with a code.
 */
export function codeInChain(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; current !== undefined && depth <= MAX_CAUSES; depth++) {
    let code: unknown;
    try {
      code = (current as { code?: unknown } | null)?.code;
    } catch {}
    if (typeof code === 'string' && code !== '') return code;
    current = readCause(current);
  }
  return undefined;
}

// Messages and causes are read as a worker reads them (never throwing; a thrown { code, message }
// reads as its message; what cannot be read says why): with --workers 0 the task's own error is
// read here, getters, Proxies and all. Clipped: joined, huge ones overflow V8's longest string.
function firstLine(error: unknown): string {
  return clip(readMessage(error).split('\n', 1)[0]!);
}

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

/**
 * The task threw or rejected; `cause` is its error, revived with name, message, stack, own
 * properties, nested causes and an AggregateError's `errors`. The message is the error's with
 * its causes' (`fetch failed: connect ECONNREFUSED 127.0.0.1:9`): the useful part of a wrapped
 * error is often one level down.
 */
export class TaskError extends PolyloopError {
  constructor(cause: unknown) {
    super('ERR_POLYLOOP_TASK_FAILED', messageWithCauses(cause), { cause });
  }
}

/** The task ran past its `timeout`. */
export class TimeoutError extends PolyloopError {
  readonly timeout: number;
  constructor(timeout: number, message = `Task timed out after ${timeout} ms`) {
    super('ERR_POLYLOOP_TIMEOUT', message);
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
