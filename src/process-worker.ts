/**
 * A child process: the isolated backend. A native crash (SIGSEGV), an abort or an OOM kill takes
 * down only that process; the pool sees an exit like any other and replaces it.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerInit, WorkerToMain } from './messages.ts';
import { reviveError } from './serialize-error.ts';
import {
  entryExecArgv,
  entryUrl,
  processExecArgv,
  type WorkerEvents,
  type WorkerHandle,
  type WorkerLimits,
} from './worker-handle.ts';

export function startProcessWorker(
  init: WorkerInit,
  events: WorkerEvents,
  limits: WorkerLimits,
): WorkerHandle {
  const memory =
    limits.maxMemoryMb === undefined ? [] : [`--max-old-space-size=${limits.maxMemoryMb}`];
  const child = fork(fileURLToPath(entryUrl), [], {
    // Structured clone, like threads: Maps, Dates, typed arrays and errors survive the trip.
    serialization: 'advanced',
    execArgv: [...processExecArgv(process.execArgv), ...entryExecArgv, ...memory],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let error: Error | undefined;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      events.exit({ code, signal, error });
      resolve();
    });
  });
  child.on('message', (message: WorkerToMain) => {
    // The child reports its own uncaught error just before it exits, so the exit can name it.
    if (message.type === 'crash') {
      error = reviveError(message.error);
      return;
    }
    events.message(message);
  });
  child.on('error', (err) => {
    error ??= err;
  });
  child.send({ type: 'init', init });
  return {
    send: (message) => {
      if (!child.connected) throw new Error('The worker process is gone');
      child.send(message);
    },
    setKeepAlive: (keepAlive) => {
      // Both the process handle and its IPC channel hold the event loop open.
      if (keepAlive) {
        child.ref();
        child.channel?.ref();
      } else {
        child.unref();
        child.channel?.unref();
      }
    },
    get connected() {
      return child.connected;
    },
    exited: gone,
    terminate: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await gone;
    },
  };
}
