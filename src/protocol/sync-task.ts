/**
 * The sync-task cell: which task's synchronous part a worker's event loop is inside, as
 * `[batch, offset]`, batch NO_TASK when none. A loop blocked inside a task cannot say so, so the
 * worker notes the task before calling it and clears the note when the call returns: whoever
 * finds the loop blocked (the pool's hang watch) or the worker dead (its crash recovery) reads
 * the culprit there.
 *
 * A thread shares the cell with the pool. A child process cannot share memory: it notes the task
 * in its own cell, and its watchdog thread reports a task stuck there on the WATCHDOG_FD pipe as
 * a line, which the process backend writes into the pool's copy of the cell.
 */

/** The batch slot's value when the loop is in no task. */
export const NO_TASK = -1;

/** The cell's two slots. */
export const SYNC_TASK_BATCH = 0;
export const SYNC_TASK_OFFSET = 1;

/** A cell reading "no task"; shared memory for a thread's pool and worker to both see. */
export function createSyncTaskCell(shared: boolean): Int32Array {
  const size = 2 * Int32Array.BYTES_PER_ELEMENT;
  return new Int32Array(shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size)).fill(NO_TASK);
}

/** The child process's pipe (after stdin, stdout, stderr and IPC) for its watchdog's lines. */
export const WATCHDOG_FD = 4;

/**
 * One watchdog line: the task the child's main thread is stuck in, or (NO_TASK, NO_TASK) once it
 * moves on. The watchdog thread runs this very function's source (see worker/watchdog.ts), so it
 * must stay one self-contained expression.
 */
export function formatWatchdogLine(batch: number, offset: number): string {
  return `${batch} ${offset}\n`;
}

/**
 * Reads the watchdog's lines from pipe chunks (cut anywhere) and reports the last complete one of
 * each chunk: only the newest position matters.
 */
export function watchdogLineReader(
  onLine: (batch: number, offset: number) => void,
): (chunk: string) => void {
  let carry = '';
  return (chunk) => {
    const lines = (carry + chunk).split('\n');
    carry = lines.pop() ?? '';
    const last = lines.at(-1);
    if (last === undefined) return;
    const [batch, offset] = last.split(' ').map(Number);
    if (Number.isInteger(batch) && Number.isInteger(offset)) onLine(batch!, offset!);
  };
}
