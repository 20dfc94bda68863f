/**
 * How often a task was cut short by a dying worker. A death that was the task's own fault (or
 * that cannot be pinned on another task) counts against its `retries`; a re-run caused by another
 * task (its worker was replaced for that one's hang or crash) is free — but not without end:
 * every FREE_RERUNS_PER_ATTEMPT free re-runs count as one attempt, so a task beside a stream of
 * hangs or crashes is not restarted forever.
 */
export interface Attempts {
  /** Attempts that count against `retries`. */
  readonly counted: number;
  /** Free re-runs since the last counted attempt. */
  readonly free: number;
}

export const NO_ATTEMPTS: Attempts = { counted: 0, free: 0 };

export const FREE_RERUNS_PER_ATTEMPT = 8;

/** The attempts after one more run cut short: `counted` if it was the task's own fault. */
export function nextAttempts(attempts: Attempts, counted: boolean): Attempts {
  if (counted) return { counted: attempts.counted + 1, free: attempts.free };
  const free = attempts.free + 1;
  return free >= FREE_RERUNS_PER_ATTEMPT
    ? { counted: attempts.counted + 1, free: 0 }
    : { counted: attempts.counted, free };
}
