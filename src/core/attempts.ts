/**
 * How often a task was cut short, by a dying worker or by its own error. A death that was the
 * task's own fault counts against its `retries`; a re-run caused by another task (its worker was
 * replaced for that one's hang or crash) is free, and so is one after a death the pool could not
 * pin on a task: then every task there is a suspect, re-run tracked until the culprit names
 * itself (see worker/task-tracker.ts). Re-runs for a named culprit are free without limit: each
 * culprit's deaths are bounded by its own `retries`. Re-runs for deaths nobody could be named for
 * (a worker killed from outside, a crash in `setup` code, a culprit the tracker cannot see) are
 * not: every FREE_RERUNS_PER_ATTEMPT of them count as one attempt, so a task beside a stream of
 * anonymous deaths is not restarted forever. Error retries (`retryErrors`) are counted apart.
 */
export interface Attempts {
  /** Attempts that count against `retries`. */
  readonly counted: number;
  /** Free re-runs for anonymous deaths since the last counted attempt. */
  readonly free: number;
  /** Attempts that failed with the task's own error and were retried (`retryErrors`). */
  readonly errors: number;
  /** Runs that failed because the pool let in too much at once (EMFILE), run again unreported. */
  readonly overAdmitted: number;
  /** It was on a worker that died or hung of an unknown task's fault: it runs tracked since. */
  readonly suspect: boolean;
}

export const NO_ATTEMPTS: Attempts = {
  counted: 0,
  free: 0,
  errors: 0,
  overAdmitted: 0,
  suspect: false,
};

export const FREE_RERUNS_PER_ATTEMPT = 8;

/**
 * Whose fault a run cut short was: its own (counted); another task's, named (free); not this
 * task's, which ran tracked and so would have been named (free); or nobody knows which task's
 * (free up to the backstop, and it runs again as a suspect).
 */
export type Fault = 'own' | 'other' | 'tracked' | 'unknown';

/** The attempts after one more run cut short. */
export function nextAttempts(attempts: Attempts, fault: Fault): Attempts {
  // A culprit named while tracked stays tracked: after an await it could not be named otherwise.
  // A suspect stays one: its re-runs are few, and tracked it can only be named or cleared.
  if (fault === 'own') return { ...attempts, counted: attempts.counted + 1 };
  if (fault === 'other' || fault === 'tracked') return attempts;
  const free = attempts.free + 1;
  return free >= FREE_RERUNS_PER_ATTEMPT
    ? { ...attempts, counted: attempts.counted + 1, free: 0, suspect: true }
    : { ...attempts, free, suspect: true };
}

/** The attempts after a run that failed with the task's own error, to be retried. */
export function afterError(attempts: Attempts): Attempts {
  return { ...attempts, errors: attempts.errors + 1 };
}

/** The attempts after a run that failed for the pool's over-admission, to be run again. */
export function afterOverAdmission(attempts: Attempts): Attempts {
  return { ...attempts, overAdmitted: attempts.overAdmitted + 1 };
}

/** The runs a task's outcome took, counting error retries only (crash re-runs are `retries`). */
export function runsOf(attempts: readonly Attempts[] | undefined, offset: number): number {
  return attempts === undefined ? 1 : attempts[offset]!.errors + 1;
}
