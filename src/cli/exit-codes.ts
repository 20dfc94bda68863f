/** The CLI's exit codes (documented in the README). */
export const EXIT_OK = 0;
/** The run finished, but some inputs have an error record. */
export const EXIT_SOME_FAILED = 1;
/** Bad arguments, or the run could not start: a missing or broken task module, an unreadable input. */
export const EXIT_USAGE = 2;
/** Stopped by SIGINT or SIGTERM (128 + SIGINT's number, as shells report it). */
export const EXIT_INTERRUPTED = 130;
