/** A worker thread: the default backend, cheap to start, sharing the process. */
import { Worker } from 'node:worker_threads';
import type { WorkerInit } from '../protocol/messages.js';
import { entryExecArgv, entryUrl, threadExecArgv } from './exec-argv.js';
import type { WorkerEvents, WorkerHandle, WorkerLimits } from './worker-handle.js';

export function startThreadWorker(
  init: WorkerInit,
  events: WorkerEvents,
  limits: WorkerLimits,
): WorkerHandle {
  const worker = new Worker(entryUrl, {
    workerData: init,
    execArgv: [...threadExecArgv(process.execArgv), ...entryExecArgv],
    ...(limits.maxMemoryMb !== undefined && {
      resourceLimits: { maxOldGenerationSizeMb: limits.maxMemoryMb },
    }),
  });
  let error: Error | undefined;
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    worker.on('exit', (code) => {
      exited = true;
      events.exit({ code, signal: null, error });
      resolve();
    });
  });
  worker.on('message', events.message);
  worker.on('error', (err) => {
    error = err;
  });
  return {
    pid: undefined,
    send: (message) => worker.postMessage(message),
    get connected() {
      return !exited;
    },
    exited: gone,
    setKeepAlive: (keepAlive) => (keepAlive ? worker.ref() : worker.unref()),
    terminate: async () => {
      if (!exited) await worker.terminate();
      await gone;
    },
  };
}
