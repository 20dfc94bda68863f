/**
 * One timer standing for many: whoever keeps items due at different times (deadlines, delayed
 * retries) asks to be woken at the earliest, and is, once. Arming for a later time than already
 * armed is a no-op; the owner re-arms for its next item when woken.
 */

/** The longest delay Node's timers take (2^31 - 1 ms, ~24.8 days). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export class WakeUp {
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (Infinity: not armed). */
  private at = Number.POSITIVE_INFINITY;

  /**
   * `keepAlive`: whether an armed timer keeps the process alive. A pool's timers do not: its
   * workers hold the process open while a job is active.
   */
  constructor(
    private readonly wake: () => void,
    private readonly keepAlive = false,
  ) {}

  /** Be woken at `at` (performance.now() time), unless already armed for sooner. */
  armFor(at: number): void {
    if (at >= this.at) return;
    if (this.timer) clearTimeout(this.timer);
    this.at = at;
    // Node fires a longer delay after 1 ms instead (TimeoutOverflowWarning): a far time is
    // checked again after the longest delay a timer takes, not every millisecond.
    const delay = Math.min(MAX_TIMER_DELAY_MS, Math.max(0, at - performance.now()));
    this.timer = setTimeout(this.fired, delay);
    if (!this.keepAlive) this.timer.unref();
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.at = Number.POSITIVE_INFINITY;
  }

  private readonly fired = (): void => {
    this.timer = undefined;
    this.at = Number.POSITIVE_INFINITY;
    this.wake();
  };
}
