/**
 * One worker as the engine sees it, whatever runs it: the engine only sends messages, hears
 * messages and learns when the worker is gone. A worker thread (thread-worker.ts) or a child
 * process (process-worker.ts) behind the same interface.
 */
import type { MainToWorker, WorkerToMain } from '../protocol/messages.js';

export interface WorkerExit {
  /** Exit code, if it exited. */
  readonly code: number | null;
  /** The signal that killed it (a child process only: SIGSEGV, SIGKILL...), if any. */
  readonly signal: string | null;
  /** The error that killed it (uncaught exception, out of memory...), if any. */
  readonly error: Error | undefined;
}

export interface WorkerHandle {
  send(message: MainToWorker): void;
  /** Whether this worker keeps the process alive (only while it has work, so a forgotten pool does not hang the program). */
  setKeepAlive(keepAlive: boolean): void;
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

export const entryUrl = new URL(
  import.meta.url.endsWith('.ts') ? '../worker/entry.ts' : '../worker/entry.js',
  import.meta.url,
);
// When polyloop itself runs from source (tsx), its worker entry is TypeScript too.
export const entryExecArgv = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];

/**
 * The parent's node options a thread worker should get: only those that change how modules load
 * (`--import tsx`, `--conditions`...). Worker threads refuse per-process flags such as
 * `--max-old-space-size` or `--expose-gc`, and `-e`/`--input-type` describe the parent's own entry.
 */
export function threadExecArgv(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    const name = arg.split('=')[0]!;
    if (!LOADER_FLAGS.has(name)) continue;
    kept.push(arg);
    // The value of `--import x` style flags is the next argument.
    if (!arg.includes('=') && VALUE_FLAGS.has(name) && i + 1 < execArgv.length)
      kept.push(execArgv[++i]!);
  }
  return kept;
}

const VALUE_FLAGS = new Set([
  '--import',
  '--require',
  '-r',
  '--loader',
  '--experimental-loader',
  '--conditions',
  '-C',
]);
const LOADER_FLAGS = new Set([
  ...VALUE_FLAGS,
  '--enable-source-maps',
  '--no-warnings',
  '--experimental-vm-modules',
]);

/** The parent's node options for a child process: all of them but its own entry point. */
export function processExecArgv(execArgv: readonly string[]): string[] {
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
