import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import {
  createSyncTaskCell,
  formatWatchdogLine,
  NO_TASK,
  SYNC_TASK_BATCH,
  SYNC_TASK_OFFSET,
  WATCHDOG_FD,
} from '../protocol/sync-task.js';
import { WATCHDOG_CHECK_MS, WATCHDOG_STUCK_MS } from '../protocol/timing.js';

/**
 * A child process cannot share memory with the pool, so a thread in the child watches where its
 * main thread is: a task stuck in its synchronous part for WATCHDOG_STUCK_MS is reported on the
 * WATCHDOG_FD pipe ("batch offset"), and "-1 -1" once it moves on. Then a hung process's culprit
 * is known, as with threads, and its other tasks are not blamed. It also ends the process once
 * the pool's process is gone, whatever its main thread is doing.
 */
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { syncTask, fd, checkMs, stuckMs } = workerData;
const formatLine = ${formatWatchdogLine};
const noTask = ${NO_TASK};
let batch = noTask, offset = noTask, since = Date.now(), reported = false;
const report = (line) => { try { writeSync(fd, line); } catch {} };
// The pool's process is gone (kill -9): the main thread would notice only once its loop turns,
// and a task stuck in a loop would keep an orphan running, so end the process from here.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  const nowBatch = Atomics.load(syncTask, ${SYNC_TASK_BATCH});
  const nowOffset = Atomics.load(syncTask, ${SYNC_TASK_OFFSET});
  if (nowBatch !== batch || nowOffset !== offset) {
    if (reported) report(formatLine(noTask, noTask));
    batch = nowBatch; offset = nowOffset; since = Date.now(); reported = false;
  } else if (!reported && batch !== noTask && Date.now() - since >= stuckMs) {
    report(formatLine(batch, offset));
    reported = true;
  }
}, checkMs);
`;

export function startWatchdog(): Int32Array {
  const syncTask = createSyncTaskCell(true);
  const watchdog = new Worker(WATCHDOG_SOURCE, {
    eval: true,
    workerData: {
      syncTask,
      fd: WATCHDOG_FD,
      checkMs: WATCHDOG_CHECK_MS,
      stuckMs: WATCHDOG_STUCK_MS,
    },
    // It needs none of the parent's loader flags (tsx...).
    execArgv: [],
  });
  // It never keeps the process alive, and it dies with it.
  watchdog.unref();
  return syncTask;
}

/**
 * process.exit() inside a task's synchronous part: tell the pool which task it was, on the
 * watchdog's pipe (written before the process is gone), so only that task's attempt counts.
 */
export function reportSyncTaskOnExit(syncTask: Int32Array): void {
  process.on('exit', () => {
    const batch = Atomics.load(syncTask, SYNC_TASK_BATCH);
    if (batch === NO_TASK) return;
    try {
      writeSync(WATCHDOG_FD, formatWatchdogLine(batch, Atomics.load(syncTask, SYNC_TASK_OFFSET)));
    } catch {
      // The pool is gone too.
    }
  });
}

/** Tell the pool, on the watchdog's pipe, which task (a suspect) the main thread is in now. */
export function reportOnPipe(batch: number, offset: number): void {
  try {
    writeSync(WATCHDOG_FD, formatWatchdogLine(batch, offset));
  } catch {
    // The pool is gone.
  }
}
