import { PolyloopError, TaskError } from '../errors.ts';
import type { ErrorInfo } from './job-data.ts';

/**
 * The `{ code, message }` of a failed input, as `polyloop run` writes it: the task's own error
 * code when it has a string one (`ECONNRESET`, `E_TASK`...), else polyloop's code.
 */
export function errorInfoOf(error: unknown): ErrorInfo {
  if (error instanceof TaskError) {
    const cause = error.cause as { code?: unknown } | undefined;
    if (cause !== null && typeof cause === 'object' && typeof cause.code === 'string') {
      return { code: cause.code, message: error.message };
    }
  }
  if (error instanceof PolyloopError) return { code: error.code, message: error.message };
  const code = (error as { code?: unknown } | null)?.code;
  return {
    code: typeof code === 'string' ? code : 'ERR_POLYLOOP_TASK_FAILED',
    message: error instanceof Error ? error.message : String(error),
  };
}
