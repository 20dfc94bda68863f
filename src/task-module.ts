/**
 * Loading a task module the same way wherever it runs (a worker thread, a child process, or the
 * main thread for `polyloop run --workers 0`): import it, check its default export, run `setup`.
 */
import type { InitFailure } from './messages.ts';
import type { TaskModule } from './types.ts';

const TYPESCRIPT = /\.(?:ts|mts|cts)$/;

export type LoadedTaskModule =
  | { readonly ok: true; readonly task: TaskModule['default'] }
  | { readonly ok: false; readonly reason: InitFailure; readonly error: unknown };

export async function loadTaskModule(url: string, workerId: number): Promise<LoadedTaskModule> {
  let module: Partial<TaskModule>;
  try {
    // Node 20 cannot run TypeScript: load a .ts task module through tsx, registered in this
    // thread (hooks passed as `--import` in a worker's execArgv do not reach its imports).
    if (TYPESCRIPT.test(new URL(url).pathname)) {
      const { register } = await import('tsx/esm/api');
      register();
    }
    module = (await import(url)) as Partial<TaskModule>;
  } catch (error) {
    return { ok: false, reason: 'import', error };
  }
  if (typeof module.default !== 'function') {
    const error = new TypeError(initFailureMessage('no-default-export'));
    return { ok: false, reason: 'no-default-export', error };
  }
  if (typeof module.setup === 'function') {
    try {
      await module.setup({ workerId });
    } catch (error) {
      return { ok: false, reason: 'setup', error };
    }
  }
  return { ok: true, task: module.default };
}

/** What a TaskModuleError says for each way a task module can fail to load. */
export function initFailureMessage(reason: InitFailure): string {
  switch (reason) {
    case 'import':
      return 'The task module could not be imported';
    case 'no-default-export':
      return 'The task module has no default export function';
    case 'setup':
      return "The task module's setup() threw";
  }
}
