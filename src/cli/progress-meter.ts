/**
 * The progress display's measurements over a recent window: the completion rate (for the ETA)
 * and how much worker time each task takes. Pure arithmetic on samples, so it is unit-tested.
 */

/** The rate and the time per task follow the last this-many ms, so they follow changes. */
export const WINDOW_MS = 10_000;
/**
 * No rate (so no ETA) until completions have been watched for this long: the first results come
 * in bursts (a worker's first batch ends all at once), and a rate over the start-up, when
 * workers load and nothing finishes yet, made the first ETA about 3x too long.
 */
export const MIN_SPAN_MS = 2_000;

interface Sample {
  readonly at: number;
  /** Records written so far (this run). */
  readonly done: number;
  /** Tasks settled on the runner so far (a malformed line has a record but no task). */
  readonly tasks: number;
  /** Worker time spent so far (ms, summed over workers). */
  readonly busyMs: number;
}

export class RunMeter {
  private readonly samples: Sample[] = [];
  private busyMs = 0;
  private lastAt: number | undefined;

  /**
   * One reading, every redraw. `load` is the workers' event-loop utilization summed (a worker fully
   * busy counts 1): integrated over time, it is the worker time the tasks took — their real cost,
   * where a task's start-to-end time also counts its wait behind its worker's other tasks.
   */
  add(at: number, done: number, tasks: number, load: number): void {
    if (this.lastAt !== undefined) this.busyMs += Math.max(0, load) * (at - this.lastAt);
    this.lastAt = at;
    // The window starts with the first completion: the start-up before it is no rate at all.
    if (done === 0 && tasks === 0) return;
    this.samples.push({ at, done, tasks, busyMs: this.busyMs });
    while (this.samples.length > 2 && at - this.samples[0]!.at > WINDOW_MS) this.samples.shift();
  }

  /** Records per second over the window; undefined until MIN_SPAN_MS of completions were seen. */
  rate(): number | undefined {
    const span = this.span();
    if (!span) return undefined;
    return ((span.last.done - span.first.done) * 1000) / (span.last.at - span.first.at);
  }

  /** Seconds until `remaining` more records at the recent rate; undefined if not measurable. */
  eta(remaining: number): number | undefined {
    const perSecond = this.rate();
    if (perSecond === undefined || perSecond <= 0) return undefined;
    return Math.max(0, remaining) / perSecond;
  }

  /** Worker time per task (ms) over the window, once tasks settled in it. */
  busyPerTask(): number | undefined {
    const span = this.span();
    if (!span) return undefined;
    const tasks = span.last.tasks - span.first.tasks;
    return tasks > 0 ? (span.last.busyMs - span.first.busyMs) / tasks : undefined;
  }

  private span(): { first: Sample; last: Sample } | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at - first.at < MIN_SPAN_MS) return undefined;
    return { first, last };
  }
}
