/**
 * Samples, over a run, how busy each event loop was (the main thread's and each worker's) and how
 * busy each CPU core of the machine was, for `--chart` — and, given the pool's counters, the
 * tasks in flight, their limit and latency (task-recorder.ts). Memory stays bounded on a run of
 * hours: past MAX_SAMPLES, neighbouring samples are merged and the interval doubles.
 */
import { cpus } from 'node:os';
import type { WorkerStats } from '../types.js';
import { type TaskCounts, TaskRecorder, type TaskSeries } from './task-recorder.js';

const FIRST_INTERVAL_MS = 100;
const MAX_SAMPLES = 4096;
/** How often the tasks in flight are read: their mean over an interval needs several readings. */
const TASK_TICK_MS = 25;

export interface LoadSeries {
  readonly label: string;
  readonly kind: 'main' | 'worker' | 'core';
  /** Worker id, or core number. */
  readonly id: number;
  /** Utilization 0–1 per sample; NaN where the series did not exist (a worker not yet started). */
  readonly values: number[];
}

export interface LoadRecording {
  /** Seconds since the start, per sample. */
  readonly times: number[];
  readonly series: LoadSeries[];
  readonly seconds: number;
  /** Absent in recordings made before it existed, or without task counters. */
  readonly tasks?: TaskSeries;
}

export class LoadRecorder {
  private readonly started = performance.now();
  private interval = FIRST_INTERVAL_MS;
  private timer: NodeJS.Timeout | undefined;
  private readonly times: number[] = [];
  private readonly main: LoadSeries = { label: 'main thread', kind: 'main', id: 0, values: [] };
  private readonly workers = new Map<number, LoadSeries>();
  private readonly cores: LoadSeries[];
  private lastElu = performance.eventLoopUtilization();
  private lastCpu = cpuTimes();
  private readonly tasks: TaskRecorder | undefined;
  private tick: NodeJS.Timeout | undefined;

  constructor(
    private readonly workerStats: () => readonly WorkerStats[],
    taskCounts?: () => TaskCounts,
  ) {
    this.tasks = taskCounts && new TaskRecorder(taskCounts, this.started);
    this.cores = this.lastCpu.map((_, core) => ({
      label: `CPU ${core}`,
      kind: 'core' as const,
      id: core,
      values: [],
    }));
  }

  start(): void {
    this.schedule();
    if (this.tasks) {
      const tasks = this.tasks;
      this.tick = setInterval(() => tasks.tick(), TASK_TICK_MS);
      this.tick.unref();
    }
  }

  stop(): LoadRecording {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
    this.sample();
    const workers = [...this.workers.values()].sort((a, b) => a.id - b.id);
    return {
      times: this.times,
      series: [this.main, ...workers, ...this.cores],
      seconds: (performance.now() - this.started) / 1000,
      ...(this.tasks && { tasks: this.tasks.recording() }),
    };
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.sample();
      this.schedule();
    }, this.interval);
    this.timer.unref();
  }

  private sample(): void {
    const n = this.times.length;
    const now = performance.now();
    this.times.push((now - this.started) / 1000);
    this.tasks?.sample(now);
    const elu = performance.eventLoopUtilization();
    this.main.values.push(performance.eventLoopUtilization(elu, this.lastElu).utilization);
    this.lastElu = elu;
    for (const worker of this.workerStats()) {
      let series = this.workers.get(worker.id);
      if (!series) {
        series = { label: `worker ${worker.id}`, kind: 'worker', id: worker.id, values: [] };
        series.values.length = n;
        series.values.fill(Number.NaN);
        this.workers.set(worker.id, series);
      }
      series.values.push(worker.utilization);
    }
    // A worker that is gone (replaced) has no value from now on.
    for (const series of this.workers.values()) {
      if (series.values.length === n) series.values.push(Number.NaN);
    }
    const cpu = cpuTimes();
    for (let core = 0; core < this.cores.length; core++) {
      const before = this.lastCpu[core];
      const after = cpu[core];
      const total = before && after ? after.total - before.total : 0;
      this.cores[core]!.values.push(total > 0 ? (total - (after!.idle - before!.idle)) / total : 0);
    }
    this.lastCpu = cpu;
    if (this.times.length >= MAX_SAMPLES) this.halve();
  }

  /** Merge each pair of samples into one and sample half as often. */
  private halve(): void {
    const merge = (values: number[]): void => {
      const half = Math.floor(values.length / 2);
      for (let i = 0; i < half; i++) values[i] = mean(values[2 * i]!, values[2 * i + 1]!);
      values.length = half;
    };
    const half = Math.floor(this.times.length / 2);
    for (let i = 0; i < half; i++) this.times[i] = this.times[2 * i + 1]!;
    this.times.length = half;
    merge(this.main.values);
    for (const series of this.workers.values()) merge(series.values);
    for (const series of this.cores) merge(series.values);
    this.tasks?.halve();
    this.interval *= 2;
  }
}

function mean(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return (a + b) / 2;
}

function cpuTimes(): Array<{ total: number; idle: number }> {
  return cpus().map(({ times }) => ({
    total: times.user + times.nice + times.sys + times.idle + times.irq,
    idle: times.idle,
  }));
}
