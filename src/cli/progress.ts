/**
 * Progress on stderr while a run goes: on a terminal a live two-line display (bar, done/total,
 * rate, ETA, failed, in flight; then each worker's load as one glyph, the worker time per task and
 * the tasks' latency); elsewhere (a log file, CI) a plain line every few seconds. A one-line
 * summary at the end either way.
 */
import type { PoolStats } from '../types.js';
import { clock, count, duration, percent, rate } from './format.js';
import { LiveFrame } from './live-frame.js';
import { type Field, fitFields } from './progress-fields.js';
import { RunMeter } from './progress-meter.js';

/** What the display reads, every REDRAW_MS. */
export interface ProgressSnapshot {
  /** Inputs with a record (value or error) in this run. */
  readonly done: number;
  readonly failed: number;
  /** Inputs in the whole input, once known (records already in the output included). */
  readonly total: number | undefined;
  /** Records an earlier run left in the output (`--resume`): shown as done, not in the summary. */
  readonly doneBefore?: number;
  readonly failedBefore?: number;
  /** After a first Ctrl-C the run only finishes what is in flight: no ETA then. */
  readonly state?: 'running' | 'stopping' | 'aborting';
  readonly pool: PoolStats;
}

export type ProgressMode = 'live' | 'plain' | 'quiet';

const REDRAW_MS = 100;
/** Without a terminal (a log, CI), one line this often. */
export const PLAIN_EVERY_MS = 5000;
const BAR_WIDTH = 24;
const LOAD_GLYPHS = ' ▁▂▃▄▅▆▇█';

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = performance.now();
  private readonly meter = new RunMeter();
  private lastPlain = 0;
  private readonly frame: LiveFrame | undefined;

  constructor(
    private readonly mode: ProgressMode,
    private readonly read: () => ProgressSnapshot,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly label = 'polyloop',
  ) {
    this.frame = mode === 'live' ? new LiveFrame(out) : undefined;
  }

  /** `live` on a terminal, `plain` otherwise, `quiet` when asked. */
  static modeFor(stream: { isTTY?: boolean }, quiet: boolean): ProgressMode {
    if (quiet) return 'quiet';
    return stream.isTTY ? 'live' : 'plain';
  }

  start(): void {
    if (this.mode === 'quiet') return;
    this.lastPlain = performance.now();
    this.timer = setInterval(() => this.tick(), REDRAW_MS);
    this.timer.unref();
  }

  /** A message for the user (a Ctrl-C taken): above the live display, never erased by it. */
  notice(text: string): void {
    if (this.mode === 'quiet') return;
    if (this.frame) this.frame.print(`${this.label}: ${text}`);
    else this.out.write(`${this.label}: ${text}\n`);
  }

  /**
   * Take the live display off while records are written to the terminal it is on, so they never
   * share a line with it; `release` draws it again below them.
   */
  hold(): void {
    this.frame?.hold();
  }

  release(): void {
    this.frame?.release();
  }

  /** Stop redrawing and take the display off, printing nothing (the output's reader is gone). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.frame?.clear();
  }

  /** Stop redrawing and print the summary line (also in quiet mode: it is one line). */
  finish(note?: string): string {
    this.stop();
    const snapshot = this.read();
    const seconds = (performance.now() - this.started) / 1000;
    const parts = [
      `${count(snapshot.done)} inputs (${count(snapshot.done - snapshot.failed)} ok, ${count(snapshot.failed)} failed)`,
      `in ${duration(seconds * 1000)}`,
      `${rate(snapshot.done / Math.max(seconds, 1e-3))}/s`,
    ];
    if (snapshot.pool.retried > 0)
      parts.push(`${count(snapshot.pool.retried)} re-run after a crash`);
    const line = `${this.label}: ${parts.join(', ')}${note ? ` — ${note}` : ''}`;
    if (this.mode !== 'quiet') this.out.write(`${line}\n`);
    return line;
  }

  private tick(): void {
    const now = performance.now();
    const snapshot = this.read();
    const { pool } = snapshot;
    const load = pool.workers.reduce((sum, worker) => sum + worker.utilization, 0);
    this.meter.add(now, snapshot.done, pool.done + pool.failed, load);
    if (this.frame) {
      this.frame.draw(liveLines(readings(snapshot, this.meter), this.frame.width()));
    } else if (now - this.lastPlain >= PLAIN_EVERY_MS) {
      this.lastPlain = now;
      this.out.write(`${this.label}: ${plainLine(readings(snapshot, this.meter))}\n`);
    }
  }
}

/** What both displays show, measured. */
export interface Readings {
  /** Records in the output, earlier runs' included. */
  readonly done: number;
  readonly failed: number;
  readonly total: number | undefined;
  /** Records per second, once measurable. */
  readonly perSecond: number | undefined;
  /** Seconds left, once measurable, while running. */
  readonly eta: number | undefined;
  readonly state: 'running' | 'stopping' | 'aborting';
  /** Worker time per task (ms), once measurable. */
  readonly busyPerTask: number | undefined;
  readonly pool: PoolStats;
}

export function readings(snapshot: ProgressSnapshot, meter: RunMeter): Readings {
  const done = snapshot.done + (snapshot.doneBefore ?? 0);
  const state = snapshot.state ?? 'running';
  const { total } = snapshot;
  return {
    done,
    failed: snapshot.failed + (snapshot.failedBefore ?? 0),
    total,
    perSecond: meter.rate(),
    // After Ctrl-C the run ends with what is in flight: a count to the full total would be wrong.
    eta: total === undefined || state !== 'running' ? undefined : meter.eta(total - done),
    state,
    busyPerTask: meter.busyPerTask(),
    pool: snapshot.pool,
  };
}

/** The live display's two lines, each fitted to `width` by leaving out whole fields. */
export function liveLines(r: Readings, width: number): [string, string] {
  const { total, done, pool } = r;
  const fraction = total ? Math.min(1, done / total) : undefined;
  const first: Field[] = [
    { text: fraction === undefined ? '' : bar(fraction), priority: 5 },
    { text: fraction === undefined ? '' : percent(fraction), priority: 2 },
    {
      text: total === undefined ? `${count(done)} done` : `${count(done)}/${count(total)}`,
      priority: 0,
    },
    { text: `${r.perSecond === undefined ? '-' : rate(r.perSecond)}/s`, priority: 4 },
    r.state === 'running'
      ? { text: `ETA ${r.eta === undefined ? '--:--' : clock(r.eta)}`, priority: 3 }
      : { text: r.state, priority: 0 },
    { text: `failed ${count(r.failed)}`, priority: r.failed > 0 ? 1 : 6 },
    { text: `in flight ${count(pool.inFlight)} of ${limitText(pool.limit)}`, priority: 6 },
  ];
  const workers = pool.workers;
  const average =
    workers.reduce((sum, worker) => sum + worker.utilization, 0) / (workers.length || 1);
  const { runTime } = pool;
  const second: Field[] = [
    { text: `workers [${workers.map((w) => loadGlyph(w.utilization)).join('')}]`, priority: 1 },
    { text: `${percent(average)} busy`, priority: 2 },
    { text: r.busyPerTask === undefined ? '' : `${duration(r.busyPerTask)}/task`, priority: 2 },
    {
      text:
        runTime.count > 0
          ? `latency p50 ${duration(runTime.p50)} p99 ${duration(runTime.p99)}`
          : '',
      priority: 4,
    },
    { text: pool.retried > 0 ? `re-run ${count(pool.retried)}` : '', priority: 3 },
  ];
  return [fitFields(first, width), fitFields(second, width)];
}

/** The line a log gets every PLAIN_EVERY_MS. */
export function plainLine(r: Readings): string {
  const { total, done, pool } = r;
  return [
    total === undefined
      ? `${count(done)} done`
      : `${count(done)}/${count(total)} done (${percent(done / Math.max(total, 1))})`,
    `${count(r.failed)} failed`,
    `${r.perSecond === undefined ? '-' : rate(r.perSecond)}/s`,
    r.state === 'running' ? `ETA ${r.eta === undefined ? '--:--' : clock(r.eta)}` : r.state,
    `${count(pool.inFlight)} in flight (limit ${limitText(pool.limit)})`,
    `workers ${pool.workers.map((worker) => percent(worker.utilization)).join(' ')}`,
    ...(r.busyPerTask === undefined ? [] : [`${duration(r.busyPerTask)}/task`]),
  ].join(', ');
}

/** The pool's limit on tasks in flight: a count, or ∞. */
function limitText(limit: number): string {
  return Number.isFinite(limit) ? count(limit) : '∞';
}

function bar(fraction: number): string {
  const filled = Math.round(fraction * BAR_WIDTH);
  return `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`;
}

function loadGlyph(utilization: number): string {
  const level = Math.round(Math.min(1, Math.max(0, utilization)) * (LOAD_GLYPHS.length - 1));
  return LOAD_GLYPHS[level]!;
}
