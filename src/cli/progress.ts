/**
 * Progress on stderr while a run goes: on a terminal a live two-line display (bar, done/total,
 * rate, ETA, failed, in flight; then each worker's load as one glyph); elsewhere (a log file, CI)
 * a plain line every few seconds. A one-line summary at the end either way.
 */
import type { PoolStats } from '../types.ts';
import { clock, count, duration, percent, rate } from './format.ts';

/** What the display reads, every REDRAW_MS. */
export interface ProgressSnapshot {
  /** Inputs with a record (value or error) in this run. */
  readonly done: number;
  readonly failed: number;
  /** Inputs expected in this run, once known. */
  readonly total: number | undefined;
  readonly pool: PoolStats;
}

export type ProgressMode = 'live' | 'plain' | 'quiet';

const REDRAW_MS = 100;
const PLAIN_EVERY_MS = 5000;
/** The rate (and so the ETA) is measured over this recent window, so it follows changes. */
const RATE_WINDOW_MS = 10_000;
const BAR_WIDTH = 24;
const LOAD_GLYPHS = ' ▁▂▃▄▅▆▇█';

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = performance.now();
  private readonly history: Array<{ at: number; done: number }> = [];
  private lastPlain = 0;
  /** Lines of the live display now on screen (to erase them before redrawing). */
  private drawnLines = 0;

  constructor(
    private readonly mode: ProgressMode,
    private readonly read: () => ProgressSnapshot,
    private readonly out: NodeJS.WritableStream = process.stderr,
    private readonly label = 'polyloop',
  ) {}

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

  /** Stop redrawing and take the display off, printing nothing (the output's reader is gone). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.erase();
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
    this.history.push({ at: now, done: snapshot.done });
    while (this.history.length > 2 && now - this.history[0]!.at > RATE_WINDOW_MS) {
      this.history.shift();
    }
    if (this.mode === 'live') {
      this.draw(this.liveLines(snapshot, now));
    } else if (now - this.lastPlain >= PLAIN_EVERY_MS) {
      this.lastPlain = now;
      this.out.write(`${this.plainLine(snapshot, now)}\n`);
    }
  }

  /** Inputs per second over the recent window. */
  private recentRate(now: number): number {
    const first = this.history[0];
    const last = this.history.at(-1);
    if (!first || !last || last.at - first.at < 500) {
      const elapsed = (now - this.started) / 1000;
      return elapsed > 0 ? (last?.done ?? 0) / elapsed : 0;
    }
    return ((last.done - first.done) * 1000) / (last.at - first.at);
  }

  private eta(snapshot: ProgressSnapshot, perSecond: number): string {
    if (snapshot.total === undefined || perSecond <= 0) return '--:--';
    return clock(Math.max(0, snapshot.total - snapshot.done) / perSecond);
  }

  private liveLines(snapshot: ProgressSnapshot, now: number): string[] {
    const perSecond = this.recentRate(now);
    const { total, done } = snapshot;
    const fraction = total ? Math.min(1, done / total) : undefined;
    const head =
      fraction === undefined
        ? `${count(done)} done`
        : `${bar(fraction)} ${percent(fraction).padStart(4)} ${count(done)}/${count(total!)}`;
    const first = [
      head,
      `${rate(perSecond)}/s`,
      `ETA ${this.eta(snapshot, perSecond)}`,
      `failed ${count(snapshot.failed)}`,
      `in flight ${count(snapshot.pool.inFlight)}`,
    ].join('  ');
    const workers = snapshot.pool.workers;
    const load = workers.map((worker) => loadGlyph(worker.utilization)).join('');
    const average =
      workers.reduce((sum, worker) => sum + worker.utilization, 0) / (workers.length || 1);
    const { runTime } = snapshot.pool;
    const second = [
      `workers [${load}] ${percent(average)} busy`,
      runTime.count > 0 ? `task p50 ${duration(runTime.p50)} p99 ${duration(runTime.p99)}` : '',
      snapshot.pool.retried > 0 ? `re-run ${count(snapshot.pool.retried)}` : '',
    ]
      .filter(Boolean)
      .join('  ');
    return [first, second];
  }

  private plainLine(snapshot: ProgressSnapshot, now: number): string {
    const perSecond = this.recentRate(now);
    const { total, done } = snapshot;
    const parts = [
      total === undefined
        ? `${count(done)} done`
        : `${count(done)}/${count(total)} done (${percent(done / Math.max(total, 1))})`,
      `${count(snapshot.failed)} failed`,
      `${rate(perSecond)}/s`,
      `ETA ${this.eta(snapshot, perSecond)}`,
      `${count(snapshot.pool.inFlight)} in flight`,
      `workers ${snapshot.pool.workers.map((worker) => percent(worker.utilization)).join(' ')}`,
    ];
    return `${this.label}: ${parts.join(', ')}`;
  }

  private draw(lines: string[]): void {
    // Cut lines to the terminal's width: a wrapped line would break the erasing of the next draw.
    const reported = (this.out as { columns?: number }).columns;
    const columns = reported !== undefined && reported > 0 ? reported : 120;
    this.erase();
    this.out.write(lines.map((line) => line.slice(0, Math.max(20, columns - 1))).join('\n'));
    this.drawnLines = lines.length;
  }

  private erase(): void {
    if (this.drawnLines === 0) return;
    // Clear the lines we drew, from the cursor's line upwards, and return to column 0.
    let sequence = '\r\x1b[2K';
    for (let i = 1; i < this.drawnLines; i++) sequence += '\x1b[1A\x1b[2K';
    this.out.write(sequence);
    this.drawnLines = 0;
  }
}

function bar(fraction: number): string {
  const filled = Math.round(fraction * BAR_WIDTH);
  return `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`;
}

function loadGlyph(utilization: number): string {
  const level = Math.round(Math.min(1, Math.max(0, utilization)) * (LOAD_GLYPHS.length - 1));
  return LOAD_GLYPHS[level]!;
}
