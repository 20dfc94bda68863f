/**
 * The active jobs, in the order they came, and whoever waits for none to be left. A job is here
 * from its submission until it finishes: every input settled, or failed, or dropped.
 */
import type { Job } from './job.js';

export class Jobs {
  private readonly list: Job[] = [];
  /** Rotates which job is served first, so none is favoured. */
  private turn = 0;
  private readonly idleWaiters: Array<() => void> = [];

  get size(): number {
    return this.list.length;
  }

  add(job: Job): void {
    this.list.push(job);
  }

  /** Remove a job; returns whether it was active. */
  delete(job: Job): boolean {
    const index = this.list.indexOf(job);
    if (index === -1) return false;
    this.list.splice(index, 1);
    return true;
  }

  /** The job whose turn it is to be served, then the next one's turn. */
  next(): Job {
    return this.list[this.turn++ % this.list.length]!;
  }

  /** A copy, for loops whose body may finish jobs. */
  snapshot(): Job[] {
    return [...this.list];
  }

  /** Inputs pulled from their sources and not yet dealt, over every job. */
  undealt(): number {
    let count = 0;
    for (const job of this.list) count += job.pulled - job.dispatched;
    return count;
  }

  /** Whether some job has inputs left to deal. */
  anyInputsLeft(): boolean {
    for (const job of this.list) if (job.hasMoreInputs()) return true;
    return false;
  }

  /** Resolves once no job is active. */
  whenIdle(): Promise<void> {
    if (this.list.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Tell the waiters, once no job is left. */
  notifyIdle(): void {
    if (this.list.length > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
