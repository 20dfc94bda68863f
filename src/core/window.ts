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
  /** Whether all workers share the room (threads) or each has its own (child processes). */
  readonly shared: boolean;
  readonly initialRoom: number;
  room(inFlight: number): number;
  stepped(): void;
}

/**
 * Above the size it was last cut to, the window grows this often (unless a queue probe asked for
 * slower), by an eighth of itself.
 */
const PROBE_EVERY_MS = 100;

export class Window {
  /** Tasks one worker may run at once. */
  size: number;
  /**
   * When the window was last cut (performance.now()): tasks sent before then were let in under
   * a limit the pool has since found too high.
   */
  lastCutAt = Number.NEGATIVE_INFINITY;
  /** Since a cut, the size it was cut to, above which growth is slow (Infinity: none). */
  private threshold = Number.POSITIVE_INFINITY;
  private lastProbe = Number.NEGATIVE_INFINITY;
  private probeEveryMs = PROBE_EVERY_MS;
  /** A queue probe is measuring: the window holds still. */
  held = false;
  /** Whether latency allows growth above the threshold (the queue probe's say). */
  allowCreep = true;

  /**
   * `descriptors`: the room the workers share (threads share their process's descriptors);
   * undefined where it is not known or not shared. `adaptive` false: failures never cut the
   * window (it still grows on idle, up to `concurrency`, so busy workers are not dealt ahead).
   */
  constructor(
    private readonly concurrency: number,
    private readonly workers: number,
    private readonly descriptors?: DescriptorRoom,
    private readonly adaptive = true,
    private readonly now: () => number = () => performance.now(),
  ) {
    const share = descriptors?.shared ? workers : 1;
    const room = descriptors ? Math.max(1, Math.floor(descriptors.initialRoom / share)) : Infinity;
    this.size = Math.min(concurrency, INITIAL_WINDOW, room);
  }

  /**
   * A worker reports an idle event loop while running `running` tasks (`inFlight` on all
   * workers). Grow only a full window (an idle worker with free places is short of inputs, not
   * of room), not while workers are starting (the ready ones would take their share), and not
   * past what the open-file limit leaves. Returns whether the window grew.
   */
  onIdle(running: number, workersStarting: boolean, inFlight: number): boolean {
    if (running < this.size || this.size >= this.concurrency || workersStarting || this.held) {
      return false;
    }
    let next = Math.min(this.concurrency, this.size * 2);
    if (this.descriptors) {
      const { shared } = this.descriptors;
      const room = this.descriptors.room(shared ? inFlight : running);
      next = Math.min(next, this.size + Math.floor(room / (shared ? this.workers : 1)));
    }
    if (next > this.threshold) {
      // Where the pool once let in too much, probe again slowly.
      if (!this.allowCreep) return false;
      const now = this.now();
      if (now - this.lastProbe < this.probeEveryMs) return false;
      next = Math.min(next, this.size + Math.ceil(this.size / 8));
      this.lastProbe = now;
    }
    if (next <= this.size) return false;
    this.size = next;
    this.descriptors?.stepped();
    return true;
  }

  /**
   * A task sent at `sentAt` failed for load (over-admission, a burst of rejections or timeouts,
   * or any of them once the window has grown past its last cut): halve the window (not below its
   * last cut's size, when it had grown past it) — once per
   * generation: failures of tasks sent before the last cut say nothing about the new size — and
   * grow past the new size only slowly from now on. Returns whether it cut.
   */
  onOverload(sentAt: number): boolean {
    if (!this.adaptive || sentAt < this.lastCutAt || this.size === 1) return false;
    const half = Math.max(1, Math.floor(this.size / 2));
    // Grown past a size once cut to, it goes back no lower than that size at first.
    this.cutTo(this.size > this.threshold ? Math.max(this.threshold, half) : half);
    return true;
  }

  /** Whether the window has grown past the size it was last cut to. */
  get aboveLastCut(): boolean {
    return this.size > this.threshold;
  }

  /** Whether the window was cut after `time`: what was let in then was too much. */
  cutSince(time: number): boolean {
    return this.lastCutAt > time;
  }

  /**
   * Set the size to `size` (the queue probe's steps), growing slowly above it from now on.
   * A probe that went too far comes back through `restore`.
   */
  cutTo(size: number): void {
    const now = this.now();
    this.lastCutAt = now;
    this.lastProbe = now;
    this.probeEveryMs = PROBE_EVERY_MS;
    this.size = Math.max(1, Math.min(this.concurrency, size));
    this.threshold = this.size;
  }

  /** Undo a probe's step: back to `size`, slow growth above it. */
  restore(size: number): void {
    this.size = Math.max(1, Math.min(this.concurrency, size));
    this.threshold = this.size;
    this.lastProbe = this.now();
  }

  /** Above the threshold, grow at most once per `ms` (until the next cut). */
  creepEvery(ms: number): void {
    this.probeEveryMs = ms;
  }

  /** The tasks all workers may run at once: how far ahead a job may pull its inputs. */
  poolWindow(): number {
    return this.size * this.workers;
  }
}
