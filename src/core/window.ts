/**
 * The window: the most tasks one worker may run at once. It starts at INITIAL_WINDOW (or
 * `concurrency` if lower) and doubles, up to `concurrency`, each time a worker says it sits idle
 * with its window full: I/O-bound tasks get all the concurrency they can use, while CPU-bound
 * ones are not dealt out further ahead than a busy worker can use. One window for all workers,
 * so growing it deals the new inputs evenly instead of to whichever worker asked first.
 */
export const INITIAL_WINDOW = 1024;

/** How many more tasks the process's open-file limit allows (see open-files.ts). */
export interface DescriptorRoom {
  readonly initialRoom: number;
  room(inFlight: number): number;
  stepped(): void;
}

/** After over-admission, the window is cut at most this often: the failures come in bursts. */
const CUT_EVERY_MS = 100;
/** Above the size it was last cut to, the window grows this often, by an eighth of itself. */
const PROBE_EVERY_MS = 100;

export class Window {
  /** Tasks one worker may run at once. */
  size: number;
  /** Since over-admission: the size it was cut to, above which growth is slow (Infinity: none). */
  private threshold = Number.POSITIVE_INFINITY;
  private lastCut = Number.NEGATIVE_INFINITY;
  private lastProbe = Number.NEGATIVE_INFINITY;

  /**
   * `descriptors`: the room the workers share (threads share their process's descriptors);
   * undefined where it is not known or not shared.
   */
  constructor(
    private readonly concurrency: number,
    private readonly workers: number,
    private readonly descriptors?: DescriptorRoom,
    private readonly now: () => number = () => performance.now(),
  ) {
    const room = descriptors
      ? Math.max(1, Math.floor(descriptors.initialRoom / workers))
      : Infinity;
    this.size = Math.min(concurrency, INITIAL_WINDOW, room);
  }

  /**
   * A worker reports an idle event loop while running `running` tasks (`inFlight` on all
   * workers). Grow only a full window (an idle worker with free places is short of inputs, not
   * of room), not while workers are starting (the ready ones would take their share), and not
   * past what the open-file limit leaves. Returns whether the window grew.
   */
  onIdle(running: number, workersStarting: boolean, inFlight: number): boolean {
    if (running < this.size || this.size >= this.concurrency || workersStarting) return false;
    let next = Math.min(this.concurrency, this.size * 2);
    if (this.descriptors) {
      const room = this.descriptors.room(inFlight);
      next = Math.min(next, this.size + Math.floor(room / this.workers));
    }
    if (next > this.threshold) {
      // Where the pool once let in too much, probe again slowly.
      const now = this.now();
      if (now - this.lastProbe < PROBE_EVERY_MS) return false;
      next = Math.min(next, this.size + Math.ceil(this.size / 8));
      this.lastProbe = now;
    }
    if (next <= this.size) return false;
    this.size = next;
    this.descriptors?.stepped();
    return true;
  }

  /**
   * Tasks failed because the pool let in more than the process allows (EMFILE): halve the window,
   * once per burst, and grow past the new size only slowly from now on.
   */
  onOverAdmission(): void {
    const now = this.now();
    if (now - this.lastCut < CUT_EVERY_MS) return;
    this.lastCut = now;
    this.lastProbe = now;
    this.size = Math.max(1, Math.floor(this.size / 2));
    this.threshold = this.size;
  }

  /** The tasks all workers may run at once: how far ahead a job may pull its inputs. */
  poolWindow(): number {
    return this.size * this.workers;
  }
}
