/**
 * A child process: the isolated backend. A native crash (SIGSEGV), an abort or an OOM kill takes
 * down only that process; the pool sees an exit like any other and replaces it.
 */
import { fork } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ChildToMain, MainToChild, WorkerInit } from '../protocol/messages.js';
import { reviveError } from '../protocol/serialize-error.js';
import {
  SYNC_TASK_BATCH,
  SYNC_TASK_OFFSET,
  WATCHDOG_FD,
  watchdogLineReader,
} from '../protocol/sync-task.js';
import { LAST_WORD_GRACE_MS } from '../protocol/timing.js';
import { entryExecArgv, entryUrl, processExecArgv } from './exec-argv.js';
import type { WorkerEvents, WorkerHandle, WorkerLimits } from './worker-handle.js';

export function startProcessWorker(
  init: WorkerInit,
  events: WorkerEvents,
  limits: WorkerLimits,
  /** Where to put what the child's watchdog reports: the task its main thread is stuck in. */
  syncTask: Int32Array,
): WorkerHandle {
  const memory =
    limits.maxMemoryMb === undefined ? [] : [`--max-old-space-size=${limits.maxMemoryMb}`];
  const child = fork(fileURLToPath(entryUrl), [], {
    // Structured clone, like threads: Maps, Dates, typed arrays and errors survive the trip.
    serialization: 'advanced',
    execArgv: [...processExecArgv(process.execArgv), ...entryExecArgv, ...memory],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'],
    // Its own process group: a Ctrl-C or a SIGTERM sent to the caller's whole group (a terminal,
    // a service manager) must reach the caller only, which then lets the tasks in flight finish.
    // Were the children killed with it, those tasks would count as crashed and run again.
    detached: true,
  });
  const watchdogPipe = child.stdio[WATCHDOG_FD] as Socket;
  listenToWatchdog(watchdogPipe, syncTask);
  const pipeDone = new Promise<void>((resolve) => {
    watchdogPipe.once('end', resolve).once('close', resolve).once('error', resolve);
  });
  let error: Error | undefined;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      // The pipe may still hold the child's last word (the task it exited in): read it first —
      // but not for long, should a process the task started keep the pipe open.
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((done) => {
        timer = setTimeout(done, LAST_WORD_GRACE_MS);
      });
      void Promise.race([pipeDone, grace]).then(() => {
        clearTimeout(timer);
        events.exit({ code, signal, error });
        resolve();
      });
    });
  });
  child.on('message', (message: ChildToMain) => {
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
  const initMessage: MainToChild = { type: 'init', init };
  child.send(initMessage);
  return {
    pid: child.pid,
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

/** The child's watchdog reports where its main thread is stuck. The pipe never keeps this process alive. */
function listenToWatchdog(pipe: Socket, syncTask: Int32Array): void {
  pipe.unref();
  pipe.setEncoding('utf8');
  pipe.on(
    'data',
    watchdogLineReader((batch, offset) => {
      syncTask[SYNC_TASK_BATCH] = batch;
      syncTask[SYNC_TASK_OFFSET] = offset;
    }),
  );
  pipe.on('error', () => {});
}
