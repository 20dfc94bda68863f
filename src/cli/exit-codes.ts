/** The CLI's exit codes (documented in the README). */
export const EXIT_OK = 0;
/** The run finished, but some inputs have an error record. */
export const EXIT_SOME_FAILED = 1;
/** Bad arguments, or the run could not start: a missing or broken task module, an unreadable input. */
export const EXIT_USAGE = 2;
/**
 * A queue command lost its Redis mid-run and it did not come back within --redis-down-timeout
 * (ERR_POLYLOOP_REDIS_DOWN).
 */
export const EXIT_REDIS_DOWN = 3;
/**
 * The queue lost state it had, most often because Redis restarted without its data: some inputs
 * have no job (ERR_POLYLOOP_QUEUE_STATE_LOST). Enqueueing the same list again adds them.
 */
export const EXIT_QUEUE_STATE_LOST = 4;
/** Stopped by SIGINT or SIGTERM (128 + SIGINT's number, as shells report it). */
export const EXIT_INTERRUPTED = 130;

/** The exit code of a command that failed with this error (EXIT_USAGE unless it has its own). */
export function exitCodeOf(error: unknown): number {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ERR_POLYLOOP_REDIS_DOWN') return EXIT_REDIS_DOWN;
  if (code === 'ERR_POLYLOOP_QUEUE_STATE_LOST') return EXIT_QUEUE_STATE_LOST;
  return EXIT_USAGE;
}
