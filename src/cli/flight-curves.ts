/**
 * How long tasks stayed in flight, from nothing but two counters read over time: tasks that
 * entered flight (ended + in flight) and tasks that ended. Drawn as two rising curves, the n-th
 * task to end is matched with the n-th to enter, and the time between is its time in flight —
 * exactly so when tasks end in the order they start; otherwise still exact on average, since the
 * area between the curves is the sum of the tasks' times in flight whatever their order. The pool's
 * own latency numbers are cumulative since the start, so they cannot say what an interval saw.
 *
 * In a steady state this is Little's law (mean in flight ÷ ends per second); where a run starts
 * or drains it is not fooled: tasks ending late in a drain are matched with their early starts.
 */

/** Ends sampled per interval for its mean: enough for a smooth line, cheap at any task rate. */
const PROBES = 32;

interface Point {
  /** ms (performance.now()). */
  readonly at: number;
  /** Tasks that entered flight so far (re-runs enter again). */
  readonly entered: number;
  readonly ended: number;
}

export class FlightCurves {
  private points: Point[] = [];
  /** Points before this one are no longer needed (dropped in bulk, not one shift at a time). */
  private head = 0;

  /** One reading; counts that went back (a torn read) are held at their last value. */
  add(at: number, entered: number, ended: number): void {
    const last = this.points.at(-1);
    const point = {
      at,
      entered: Math.max(entered, last?.entered ?? 0),
      ended: Math.max(ended, last?.ended ?? 0),
    };
    const before = this.points.at(-2);
    // A flat stretch needs only its two ends: the reading now replaces its last one.
    if (last && before && same(last, point) && same(before, point)) this.points.pop();
    this.points.push(point);
  }

  /**
   * The mean time in flight (ms) of the tasks that ended `from` exclusive to `to` inclusive
   * (counts of ended tasks); NaN if none did. Forgets what later calls with `from` ≥ this `to`
   * cannot need.
   */
  meanTimeInFlight(from: number, to: number): number {
    const ends = to - from;
    let mean = Number.NaN;
    if (ends > 0) {
      const probes = Math.min(PROBES, Math.ceil(ends));
      let sum = 0;
      for (let i = 0; i < probes; i++) {
        const n = from + ((i + 0.5) / probes) * ends;
        sum += this.timeOf('ended', n) - this.timeOf('entered', n);
      }
      mean = Math.max(0, sum / probes);
    }
    this.forgetBefore(to);
    return mean;
  }

  /** When the curve first reached `n`, between the readings either side of it. */
  private timeOf(curve: 'entered' | 'ended', n: number): number {
    const points = this.points;
    let lo = this.head;
    let hi = points.length - 1;
    if (hi < lo) return Number.NaN;
    // The first point at or past n (the last one if none is).
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (points[mid]![curve] >= n) hi = mid;
      else lo = mid + 1;
    }
    const after = points[lo]!;
    const before = points[lo - 1];
    if (!before || before[curve] >= n || after[curve] <= before[curve]) return after.at;
    const share = (n - before[curve]) / (after[curve] - before[curve]);
    return before.at + share * (after.at - before.at);
  }

  /** Drop the readings no query for a count past `n` needs (each needs its two neighbours). */
  private forgetBefore(n: number): void {
    while (this.head + 1 < this.points.length - 1 && this.points[this.head + 1]!.entered < n) {
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.points.length) {
      this.points = this.points.slice(this.head);
      this.head = 0;
    }
  }
}

function same(a: Point, b: Point): boolean {
  return a.entered === b.entered && a.ended === b.ended;
}
