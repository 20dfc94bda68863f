/**
 * The window: the most tasks one worker may run at once. It starts at INITIAL_WINDOW (or
 * `concurrency` if lower) and doubles, up to `concurrency`, each time a worker says it sits idle
 * with its window full: I/O-bound tasks get all the concurrency they can use, while CPU-bound
 * ones are not dealt out further ahead than a busy worker can use. One window for all workers,
 * so growing it deals the new inputs evenly instead of to whichever worker asked first.
 */
export const INITIAL_WINDOW = 1024;

export class Window {
  /** Tasks one worker may run at once. */
  size: number;

  constructor(private readonly concurrency: number) {
    this.size = Math.min(concurrency, INITIAL_WINDOW);
  }

  /**
   * A worker reports an idle event loop while running `running` tasks. Grow only a full window
   * (an idle worker with free places is short of inputs, not of room), and not while workers are
   * starting (the ready ones would take their share). Returns whether the window grew.
   */
  onIdle(running: number, workersStarting: boolean): boolean {
    if (running < this.size || this.size >= this.concurrency || workersStarting) return false;
    this.size = Math.min(this.concurrency, this.size * 2);
    return true;
  }

  /** The tasks `workers` workers may run at once: how far ahead a job may pull its inputs. */
  poolWindow(workers: number): number {
    return this.size * workers;
  }
}
