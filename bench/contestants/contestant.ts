import { makeInputs, type TaskInput } from '../workload.js';

/** What every contestant needs to know before its timer starts. */
export interface ContestantOptions {
  /** Worker threads to use (ignored by one-loop). */
  readonly workers: number;
  /** How many inputs the timed run will submit, for pools that need a per-worker concurrency cap. */
  readonly taskCount: number;
}

/** One way of running the fake crawler; a fresh child process hosts exactly one. */
export interface Contestant {
  /** Creates the pool and warms it up; not timed. */
  start(options: ContestantOptions): Promise<void>;
  /** Runs every input, resolving to the outputs in input order; this is what the timer measures. */
  run(inputs: readonly TaskInput[]): Promise<unknown[]>;
  stop(): Promise<void>;
}

/** A few CPU-only tasks per worker so module loading and JIT warm-up happen before the timer. */
export function warmupInputs(workers: number): TaskInput[] {
  return makeInputs('warmup', 4 * workers);
}
