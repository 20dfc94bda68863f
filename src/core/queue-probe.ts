/**
 * Finds a queue that no error reveals: a server that queues what it cannot serve yet, a client's
 * connection pool, or a worker's own busy loop — each answers everything, only later. Latency
 * alone cannot tell such a queue from tasks that are simply slow (sleeps take as long at any
 * load), and the window grows faster than the first answers come, so the pool probes: while its
 * window is what holds inputs back, it cuts the window by a quarter and compares tasks sent after
 * the cut with tasks sent before — their median latency, and the pool's throughput meanwhile.
 * Latency down in step and throughput held means the rest only waited in a queue: the cut stays,
 * and the next step (by half, now that a queue is known) is probed at once. Otherwise the tasks
 * needed that concurrency: the window goes back, and the next probe comes later — each time twice
 * as late, up to MAX_PROBE_PERIOD_MS, while probes find nothing.
 *
 * Cost: nothing per task outside a probe (one flag test); a probe of tasks that need their
 * concurrency runs at three quarters of the window for about one and a half median latencies.
 */
import type { Window } from './window.js';

/** A run first probed after its window has held inputs back this long (ms)... */
export const FIRST_PROBE_MS = 1000;
/** ...then again this long after a probe that found no queue, doubling up to the max. */
export const PROBE_PERIOD_MS = 10_000;
export const MAX_PROBE_PERIOD_MS = 160_000;
/** Tasks whose latency a probe compares, sent before the cut and after it. */
export const COHORT_TASKS = 128;
/** A probe's first step keeps this share of the window; the next ones, once a queue is known... */
export const FIRST_STEP = 0.75;
export const NEXT_STEP = 0.5;
/**
 * After a cut to `step` of the window, a queue shows as a median latency at most halfway between
 * `step` and 1 of the one before...
 */
export function queueLatency(step: number): number {
  return (1 + step) / 2;
}
/** ...with throughput at least this share of the one before... */
export const QUEUE_THROUGHPUT = 0.93;
/** ...each measured over at least this long (ms), for a throughput that means something. */
export const MIN_MEASURE_MS = 300;
/** Above where a probe left it, the window grows at most this often (ms)... */
export const CREEP_AFTER_PROBE_MS = 250;
/** ...and only while the median run time stays within this factor of the one it left at. */
export const CREEP_LATENCY = 1.5;
/** The window holds inputs back when this share of it is in flight and inputs wait. */
const BOUND_SHARE = 0.9;

/** Tasks sent from one moment on, until there are COHORT_TASKS of them, and their latencies. */
class Cohort {
  sent = 0;
  /** Batch ids from `first` on belong to it, up to `end` (set once it is full). */
  end = Number.POSITIVE_INFINITY;
  readonly latencies: number[] = [];
  constructor(
    readonly first: number,
    /** When it started, and the tasks ended in the pool by then: its throughput's baseline. */
    readonly startedAt: number,
    readonly endedBefore: number,
  ) {}

  /** The median latency, once half of it ended; NaN before. */
  median(): number {
    if (this.end === Number.POSITIVE_INFINITY || this.latencies.length * 2 < this.sent) {
      return Number.NaN;
    }
    const sorted = this.latencies.slice().sort((a, b) => a - b);
    return sorted[Math.ceil(this.sent / 2) - 1]!;
  }

  /** Tasks ended in the pool per ms since it started. */
  throughput(now: number, ended: number): number {
    return (ended - this.endedBefore) / Math.max(1, now - this.startedAt);
  }
}

type Phase = 'watching' | 'before' | 'draining' | 'after';

/** What the probe reads about the pool on each tick. */
export interface PoolLoad {
  /** The median run time of the tasks that ended since the last tick (NaN: none did). */
  readonly runTime: number;
  /** Tasks running on all workers. */
  readonly inFlight: number;
  /** Tasks ended so far (settled, or taken for a re-run). */
  readonly ended: number;
  /** Whether inputs wait for room in the window. */
  readonly inputsWaiting: boolean;
}

export class QueueProbe {
  /** Whether task ends and sends matter now: a cohort is forming or ending. */
  collecting = false;
  private phase: Phase = 'watching';
  /** Since when the window has held inputs back (NaN: it does not now). */
  private boundSince = Number.NaN;
  private wait = FIRST_PROBE_MS;
  private period = PROBE_PERIOD_MS;
  /** The share of the window the current step kept. */
  private step = FIRST_STEP;
  private cohort: Cohort | undefined;
  private medianBefore = Number.NaN;
  private throughputBefore = Number.NaN;
  private sizeBefore = 0;
  /** When this probe last cut the window: another cut since (a failure's) ends the probe. */
  private cutAt = Number.NaN;
  private nextBatch = 0;
  /** The median run time where the last probe left the window (NaN: no probe yet). */
  private floor = Number.NaN;
  private lastRunTime = Number.NaN;

  constructor(
    private readonly window: Window,
    private readonly enabled: boolean,
  ) {}

  /** A batch of `count` tasks went out with id `id` (told of every batch: ids start cohorts). */
  sent(id: number, count: number): void {
    this.nextBatch = id + 1;
    const cohort = this.cohort;
    if (!cohort || id < cohort.first || cohort.end !== Number.POSITIVE_INFINITY) return;
    cohort.sent += count;
    if (cohort.sent >= COHORT_TASKS) cohort.end = id + 1;
  }

  /** `count` tasks of batch `id`, sent at `sentAt`, ended at `now`. */
  ended(id: number, sentAt: number, now: number, count: number): void {
    const cohort = this.cohort;
    if (!cohort || id < cohort.first || id >= cohort.end) return;
    for (let i = 0; i < count; i++) cohort.latencies.push(now - sentAt);
  }

  /** About every 100 ms, with the pool's load. */
  tick(now: number, load: PoolLoad): void {
    if (!this.enabled) return;
    const bound = load.inputsWaiting && load.inFlight >= this.window.poolWindow() * BOUND_SHARE;
    if (!Number.isNaN(load.runTime)) this.lastRunTime = load.runTime;
    if (this.phase === 'watching') {
      this.watch(now, load, bound);
      return;
    }
    if (this.window.lastCutAt !== this.cutAt) {
      this.stop(); // a failure cut the window: that says more than this probe
      return;
    }
    if (!load.inputsWaiting) {
      this.giveBack(); // the inputs ran out: nothing to learn
      return;
    }
    switch (this.phase) {
      case 'before': {
        const median = this.cohort!.median();
        if (Number.isNaN(median) || now - this.cohort!.startedAt < MIN_MEASURE_MS) return;
        this.medianBefore = median;
        this.throughputBefore = this.cohort!.throughput(now, load.ended);
        this.cut(FIRST_STEP);
        return;
      }
      case 'draining':
        if (load.inFlight <= this.window.poolWindow()) this.startCohort('after', now, load);
        return;
      case 'after':
        this.judge(now, load, bound);
        return;
    }
  }

  private watch(now: number, load: PoolLoad, bound: boolean): void {
    // Vegas's rule between probes: grow while latency stays near where the probe left it.
    if (this.lastRunTime < this.floor) this.floor = this.lastRunTime;
    this.window.allowCreep = !(this.lastRunTime > CREEP_LATENCY * this.floor);
    if (!bound) {
      this.boundSince = Number.NaN;
    } else if (Number.isNaN(this.boundSince)) {
      this.boundSince = now;
    } else if (now - this.boundSince >= this.wait) {
      this.cutAt = this.window.lastCutAt;
      // The window holds still from here: the tasks compared must see one size each.
      this.window.held = true;
      this.startCohort('before', now, load);
    }
  }

  private judge(now: number, load: PoolLoad, bound: boolean): void {
    const cohort = this.cohort!;
    const median = cohort.median();
    if (Number.isNaN(median) || now - cohort.startedAt < MIN_MEASURE_MS) return;
    const throughput = cohort.throughput(now, load.ended);
    const queue =
      median <= queueLatency(this.step) * this.medianBefore &&
      throughput >= QUEUE_THROUGHPUT * this.throughputBefore;
    if (!queue) {
      this.giveBack();
      return;
    }
    this.period = PROBE_PERIOD_MS;
    if (this.window.size > 1 && bound) {
      // A queue: keep the cut, and probe the next step from here.
      this.medianBefore = median;
      this.throughputBefore = throughput;
      this.cut(NEXT_STEP);
    } else {
      this.stop();
    }
  }

  private startCohort(phase: 'before' | 'after', now: number, load: PoolLoad): void {
    this.phase = phase;
    this.cohort = new Cohort(this.nextBatch, now, load.ended);
    this.collecting = true;
  }

  private cut(step: number): void {
    this.step = step;
    this.sizeBefore = this.window.size;
    this.window.cutTo(Math.max(1, Math.floor(this.window.size * step)));
    this.window.held = true;
    this.cutAt = this.window.lastCutAt;
    this.phase = 'draining';
    this.cohort = undefined;
    this.collecting = false;
  }

  /** The cut cost throughput or saved no latency, or the probe ends early: undo its last step. */
  private giveBack(): void {
    if (this.phase === 'draining' || this.phase === 'after') this.window.restore(this.sizeBefore);
    const foundNothing = this.step === FIRST_STEP;
    this.stop();
    if (foundNothing) this.period = Math.min(MAX_PROBE_PERIOD_MS, this.period * 2);
  }

  /** The probe is over: above where it left the window, growth is slow. */
  private stop(): void {
    if (this.window.lastCutAt === this.cutAt) this.window.creepEvery(CREEP_AFTER_PROBE_MS);
    this.floor = this.lastRunTime;
    this.window.held = false;
    this.phase = 'watching';
    this.cohort = undefined;
    this.collecting = false;
    this.boundSince = Number.NaN;
    this.wait = this.period;
  }
}
