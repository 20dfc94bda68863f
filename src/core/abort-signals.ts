/**
 * The callers' abort signals, each listened to once however many calls share it: a listener per
 * call would make an AbortSignal shared by more than ten calls warn of a leak
 * (MaxListenersExceededWarning), and removing one is a scan of the signal's listeners. A signal
 * is listened to while some active job holds it, and let go with the last of them.
 */
import type { Job } from './job.js';

export class AbortSignals {
  private readonly jobsBySignal = new Map<AbortSignal, Set<Job>>();

  constructor(
    /** A signal fired: its job must end (each job once). */
    private readonly aborted: (job: Job, signal: AbortSignal) => void,
  ) {}

  /** Listen for `signal` on behalf of `job` (not aborted yet), until `forget`. */
  watch(signal: AbortSignal, job: Job): void {
    let jobs = this.jobsBySignal.get(signal);
    if (!jobs) {
      jobs = new Set();
      this.jobsBySignal.set(signal, jobs);
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    jobs.add(job);
  }

  /** The job ended: it no longer listens; the signal is let go with its last job. */
  forget(signal: AbortSignal, job: Job): void {
    const jobs = this.jobsBySignal.get(signal);
    if (!jobs?.delete(job) || jobs.size > 0) return;
    this.jobsBySignal.delete(signal);
    signal.removeEventListener('abort', this.onAbort);
  }

  private readonly onAbort = (event: Event): void => {
    const signal = event.target as AbortSignal;
    const jobs = this.jobsBySignal.get(signal);
    if (!jobs) return;
    // Let go first: each ending job forgets its signal, which must not touch the set being read.
    this.jobsBySignal.delete(signal);
    for (const job of jobs) this.aborted(job, signal);
  };
}
