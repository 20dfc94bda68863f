/**
 * A worker's entry point, thread or child process: it gets its WorkerInit (workerData, or the
 * first IPC message), then hands the channel to a WorkerRuntime. A child process also starts its
 * watchdog and reports the error it dies of.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { CrashMessage, WorkerInit } from '../protocol/messages.js';
import { serializeError } from '../protocol/serialize-error.js';
import { type Channel, processChannel, threadChannel } from './channel.js';
import { WorkerRuntime } from './runtime.js';
import { reportOnPipe, reportSyncTaskOnExit, startWatchdog } from './watchdog.js';

const onThread = !isMainThread && parentPort !== null;
if (onThread) {
  void new WorkerRuntime(threadChannel(), workerData as WorkerInit).start();
} else if (process.send) {
  const channel: Channel = processChannel((init) => {
    const syncTask = startWatchdog();
    reportSyncTaskOnExit(syncTask);
    void new WorkerRuntime(channel, { ...init, syncTask }, reportOnPipe).start();
  });
  // Tell the pool why this process is about to die, so the task's error can name the cause.
  const crash = (error: unknown): void => {
    try {
      const lastWords: CrashMessage = { type: 'crash', error: serializeError(error) };
      process.send!(lastWords);
    } finally {
      process.exit(1);
    }
  };
  // An unhandled rejection comes here too (Node's default: thrown as uncaught), after the
  // 'uncaughtExceptionMonitor' that names a suspect task (task-tracker.ts).
  process.on('uncaughtException', crash);
  // The pool's process is gone (even by kill -9): do not linger as an orphan.
  process.on('disconnect', () => process.exit(0));
}
