/**
 * One worker as the engine sees it, whatever runs it: the engine only sends messages, hears
 * messages and learns when the worker is gone. Threads now; child processes share the interface.
 */
import { Worker } from 'node:worker_threads';
import type { MainToWorker, WorkerInit, WorkerToMain } from './messages.ts';

export interface WorkerExit {
  /** Exit code, if it exited. */
  readonly code: number | null;
  /** The error that killed it (uncaught exception, out of memory...), if any. */
  readonly error: Error | undefined;
}

export interface WorkerHandle {
  send(message: MainToWorker): void;
  /** Whether this worker keeps the process alive (only while it has work, so a forgotten pool does not hang the program). */
  setKeepAlive(keepAlive: boolean): void;
  /** Resolves once the worker is gone, however it ended. */
  readonly exited: Promise<void>;
  /** Stop it now, whatever it is doing. Resolves once it is gone. */
  terminate(): Promise<void>;
}

export interface WorkerEvents {
  message(message: WorkerToMain): void;
  exit(exit: WorkerExit): void;
}

const entryUrl = new URL(
  import.meta.url.endsWith('.ts') ? './worker-entry.ts' : './worker-entry.js',
  import.meta.url,
);
// When polyloop itself runs from source (tsx), its worker entry is TypeScript too.
const entryExecArgv = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];

/**
 * The parent's node options, less those that describe the parent's own entry point: a worker
 * started from `node --input-type=module -e ...` would otherwise refuse to load its file.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (arg === '-e' || arg === '--eval' || arg === '-p' || arg === '--print') {
      i++; // and the code that follows
      continue;
    }
    if (arg.startsWith('--input-type') || arg.startsWith('--eval=') || arg.startsWith('--print=')) {
      continue;
    }
    kept.push(arg);
  }
  return kept;
}

export function startThreadWorker(init: WorkerInit, events: WorkerEvents): WorkerHandle {
  const worker = new Worker(entryUrl, {
    workerData: init,
    execArgv: [...workerExecArgv(process.execArgv), ...entryExecArgv],
  });
  let error: Error | undefined;
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    worker.on('exit', (code) => {
      exited = true;
      events.exit({ code, error });
      resolve();
    });
  });
  worker.on('message', events.message);
  worker.on('error', (err) => {
    error = err;
  });
  return {
    send: (message) => worker.postMessage(message),
    exited: gone,
    setKeepAlive: (keepAlive) => (keepAlive ? worker.ref() : worker.unref()),
    terminate: async () => {
      if (!exited) await worker.terminate();
      await gone;
    },
  };
}
