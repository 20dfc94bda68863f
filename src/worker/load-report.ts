/**
 * What a worker with tasks tells the pool about its load, from one check of its event loop every
 * `idleCheckMs`: 'idle' when its tasks wait on I/O (the pool may send more), 'alive' when it is
 * busy but turning (the pool must not take it for blocked), and 'stats' every `statsMs`. The
 * checks run only while the worker has tasks, and until the report after its last one is out:
 * an idle worker's loop sleeps, with no timer to wake it.
 */
import { type EventLoopUtilization, performance } from 'node:perf_hooks';
import { Histogram } from '../histogram.js';
import { HEARTBEAT_MS, IDLE_UTILIZATION } from '../protocol/timing.js';
import type { Channel } from './channel.js';

export class LoadReport {
  /** Task run and wait times since the last 'stats', filled by the runtime. */
  readonly runTimes = new Histogram();
  readonly waitTimes = new Histogram();
  // Times start as -Infinity, not 0: a field that goes from a small integer to a double changes
  // the object's hidden class, and V8 drops the code it compiled against the old one.
  private lastStats = Number.NEGATIVE_INFINITY;
  /**
   * Whether one more report is due once no task runs: tasks came since the last one, or it still
   * showed some running. It carries their last run times and the loop's idle time.
   */
  private finalStatsDue = false;
  private lastUtilization: EventLoopUtilization = performance.eventLoopUtilization();
  /** When the last 'idle' or 'alive' went out. */
  private lastPost = Number.NEGATIVE_INFINITY;
  /** How often to check (set by start); the checks' timer while they run. */
  private idleCheckMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly channel: Channel,
    private readonly statsMs: number,
    /** The tasks running now. */
    private readonly running: () => number,
  ) {}

  /** The worker is ready for tasks: check every `idleCheckMs` whenever it has some. */
  start(idleCheckMs: number): void {
    this.idleCheckMs = idleCheckMs;
    if (this.finalStatsDue) this.startChecks();
  }

  /** New tasks arrived: a report is due, even if they all end before the next check. */
  tasksArrived(): void {
    this.finalStatsDue = true;
    this.startChecks();
  }

  private startChecks(): void {
    if (this.timer || this.idleCheckMs === undefined) return;
    // The first check measures the loop from now, not over the idle time before.
    this.lastUtilization = performance.eventLoopUtilization();
    this.timer = setInterval(this.check, this.idleCheckMs).unref();
  }

  /**
   * Tasks that wait on I/O leave the loop idle: then this worker can take more of them at once,
   * and says so. A busy loop never asks, so CPU-bound tasks are not piled onto it.
   */
  private readonly check = (): void => {
    const now = performance.eventLoopUtilization();
    const { utilization } = performance.eventLoopUtilization(now, this.lastUtilization);
    this.lastUtilization = now;
    const time = performance.now();
    const running = this.running();
    if ((running > 0 || this.finalStatsDue) && time - this.lastStats >= this.statsMs) {
      this.postStats(now, time, running);
    }
    if (running === 0) {
      // No task, and the report after the last one is out: nothing to check until tasks come.
      if (!this.finalStatsDue) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
      return;
    }
    if (utilization < IDLE_UTILIZATION) {
      this.channel.post({ type: 'idle' });
      this.lastPost = time;
    } else if (time - this.lastPost >= HEARTBEAT_MS) {
      // Busy but turning its loop: say so, or the pool would take it for blocked (SILENCE_MS).
      this.channel.post({ type: 'alive' });
      this.lastPost = time;
    }
  };

  private postStats(utilization: EventLoopUtilization, time: number, running: number): void {
    this.lastStats = time;
    this.finalStatsDue = running > 0;
    this.channel.post({
      type: 'stats',
      active: utilization.active,
      idle: utilization.idle,
      runTimes: this.runTimes.takeDelta(),
      waitTimes: this.waitTimes.takeDelta(),
    });
  }
}
