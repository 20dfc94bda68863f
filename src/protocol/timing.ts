/**
 * Every period and limit the two sides of the protocol agree on. The pool reads a worker's
 * silence as a sign its event loop is blocked, so what a worker promises (how often it talks) and
 * what the pool concludes (how long a silence means trouble) are defined here, side by side, with
 * the inequalities that keep them apart. `test/protocol.test.ts` asserts each one.
 */

// ---- the worker's promises ----

/** How often a worker with tasks checks its event loop (idle report, heartbeat, stats). */
export const IDLE_CHECK_MS = 5;

/** Below this event-loop utilization, a worker with tasks is waiting on them, not working. */
export const IDLE_UTILIZATION = 0.5;

/**
 * A busy worker with tasks says it is alive at least this often, once its loop turns. A check
 * runs every IDLE_CHECK_MS, so the gap between two messages is at most
 * HEARTBEAT_MS + IDLE_CHECK_MS + START_SLICE_MS (a start slice holds the loop): it must stay
 * below SILENCE_MS, or a busy worker would be taken for a blocked one.
 */
export const HEARTBEAT_MS = 40;

/** Tasks started per turn of a worker's event loop, at most... */
export const START_SLICE_TASKS = 512;
/** ...and for about this long of their synchronous parts (ms). */
export const START_SLICE_MS = 10;

/**
 * A worker sends its results when this many are unsent, or FLUSH_DELAY_MS after the first of
 * them, whichever comes first. The delay stays below SILENCE_MS: results count as talk.
 */
export const FLUSH_COUNT = 256;
export const FLUSH_DELAY_MS = 4;

/**
 * A worker with tasks reports its load this often. The reports go out from the loop check, so
 * STATS_MS is at least IDLE_CHECK_MS; the pool counts a report older than STATS_STALE_MS as
 * missing (the worker is idle or blocked).
 */
export const STATS_MS = 100;
export const STATS_STALE_MS = 3 * STATS_MS;

/**
 * A child process's watchdog thread looks at the sync-task cell every WATCHDOG_CHECK_MS, and
 * reports a task stuck in its synchronous part for WATCHDOG_STUCK_MS. Both together stay below
 * HANG_GRACE_MS, so the culprit is known by the time the pool decides the process is hung.
 */
export const WATCHDOG_CHECK_MS = 50;
export const WATCHDOG_STUCK_MS = 200;

// ---- what the pool concludes ----

/**
 * A worker with tasks talks at least every few ms (results, idle reports, heartbeats); one
 * silent this long at a deadline may be blocked, so its overdue tasks wait for the hang watch's
 * verdict. Above the worker's longest gap between messages (see HEARTBEAT_MS).
 */
export const SILENCE_MS = 100;

/**
 * How long a worker with a timed-out task may stay silent before it counts as hung. Above
 * SILENCE_MS (a suspicion comes before a verdict) and above the watchdog's report time.
 */
export const HANG_GRACE_MS = 1000;

/**
 * How long a dead child's watchdog pipe is waited on for its last line (the task it exited in).
 * The line is written before the process exits, so it only has to cross the pipe.
 */
export const LAST_WORD_GRACE_MS = 100;
