/**
 * Whether overload failures come in a burst — many at once, a share of everything that ended
 * lately — or one at a time. A burst says the pool let in more than a peer or the process takes;
 * a lone reset among thousands of answers is that task's own bad luck, and must not cut the
 * limit (a limit halved on every stray error would sink to nothing on a flaky network).
 */

/** The span a burst is judged over: this bucket and the one before it (ms). */
export const BURST_MS = 100;
/** At least this many overload failures make a burst... */
export const BURST_MIN = 3;
/** ...and at least this share of the tasks that ended meanwhile. */
export const BURST_SHARE = 0.05;

export class OverloadBursts {
  private bucketStart = Number.NEGATIVE_INFINITY;
  private current = 0;
  private previous = 0;
  /** `ended()` at the start of the current and the previous bucket. */
  private endedAtCurrent = 0;
  private endedAtPrevious = 0;

  /** `ended`: tasks settled so far (overload failures held back for judgement excluded). */
  constructor(private readonly ended: () => number) {}

  /**
   * Count an overload failure at `now`; returns how many came within the span, and whether they
   * make a burst.
   */
  record(now: number): { readonly recent: number; readonly burst: boolean } {
    this.roll(now);
    this.current++;
    const recent = this.current + this.previous;
    const ended = this.ended() - this.endedAtPrevious + recent;
    return { recent, burst: recent >= BURST_MIN && recent >= BURST_SHARE * ended };
  }

  private roll(now: number): void {
    const age = now - this.bucketStart;
    if (age < BURST_MS) return;
    const ended = this.ended();
    if (age < 2 * BURST_MS) {
      this.previous = this.current;
      this.endedAtPrevious = this.endedAtCurrent;
    } else {
      this.previous = 0;
      this.endedAtPrevious = ended;
    }
    this.current = 0;
    this.endedAtCurrent = ended;
    this.bucketStart = now;
  }
}
