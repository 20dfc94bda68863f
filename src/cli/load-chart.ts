/**
 * Draws a LoadRecording as an SVG: one strip per event loop (main thread, each worker), then one
 * per CPU core — the "Task Manager" picture. On one event loop a single strip is full and the
 * others flat; on every core they are all full. Then, when the recording has them, the tasks in
 * flight against their limit and the task latency (task-chart.ts). Plain SVG, no dependency,
 * readable in a browser. `--chart FILE.json` writes the recording itself instead, so several
 * runs can be drawn later on one time axis (bench/demo/demo.ts does).
 */
import { escapeXml, PLOT_LEFT, PLOT_WIDTH, WIDTH, xOf } from './chart-layout.js';
import type { LoadRecording, LoadSeries } from './load-recorder.js';
import { taskSections } from './task-chart.js';
import type { TaskSeries } from './task-recorder.js';

const ROW_HEIGHT = 30;
const ROW_GAP = 6;
const HEADER_HEIGHT = 26;
const COLORS = { main: '#d97706', worker: '#2563eb', core: '#6b7280' } as const;

export interface ChartOptions {
  /**
   * Seconds the time axis spans, when longer than the run: charts of several runs drawn with the
   * same span compare at a glance (a shorter run ends part-way, marked by a line).
   */
  readonly seconds?: number;
}

/** What `--chart FILE` writes: the recording as JSON for a `.json` file, else the SVG. */
export function renderChartFile(file: string, recording: LoadRecording, title: string): string {
  return /\.json$/i.test(file)
    ? recordingToJson(recording, title)
    : renderLoadChart(recording, title);
}

/**
 * NaN (no sample: a worker not started yet; no latency: no task ended) is written as null, which
 * JSON can hold; so is an unbounded limit (Infinity), read back as Infinity.
 */
export function recordingToJson(recording: LoadRecording, title: string): string {
  return `${JSON.stringify({ title, ...recording })}\n`;
}

type Nullable<T> = { [K in keyof T]: T[K] extends number[] ? Array<number | null> : T[K] };

/** Reads what recordingToJson wrote; a recording from before `tasks` existed has none. */
export function recordingFromJson(text: string): { title: string; recording: LoadRecording } {
  const { title, times, series, seconds, tasks } = JSON.parse(text) as {
    title: string;
    times: number[];
    series: Array<Nullable<LoadSeries>>;
    seconds: number;
    tasks?: Nullable<TaskSeries>;
  };
  const orNaN = (values: Array<number | null>): number[] => values.map((v) => v ?? Number.NaN);
  return {
    title,
    recording: {
      times,
      seconds,
      series: series.map((s) => ({ ...s, values: orNaN(s.values) })),
      ...(tasks && {
        tasks: {
          inFlight: orNaN(tasks.inFlight),
          limit: tasks.limit.map((v) => v ?? Number.POSITIVE_INFINITY),
          completed: orNaN(tasks.completed),
          latencyMs: orNaN(tasks.latencyMs),
        },
      }),
    },
  };
}

export function renderLoadChart(
  recording: LoadRecording,
  title: string,
  options: ChartOptions = {},
): string {
  const span = Math.max(recording.seconds, options.seconds ?? 0);
  const loops = recording.series.filter((series) => series.kind !== 'core');
  const cores = recording.series.filter((series) => series.kind === 'core');
  const parts: string[] = [];
  let y = 58;
  const section = (heading: string, rows: LoadSeries[]): void => {
    parts.push(`<text x="12" y="${y + 16}" class="section">${escapeXml(heading)}</text>`);
    y += HEADER_HEIGHT;
    for (const series of rows) {
      parts.push(row(series, recording, span, y));
      y += ROW_HEIGHT + ROW_GAP;
    }
    y += 8;
  };
  section('Event loops: how busy each JavaScript thread was', loops);
  section('CPU cores: the whole machine (os.cpus)', cores);
  if (recording.tasks) {
    const drawn = taskSections(recording.tasks, recording.times, span, y);
    parts.push(drawn.svg);
    y = drawn.bottom;
  }
  if (span > recording.seconds) parts.push(endMarker(recording.seconds, span, y));
  parts.push(axis(span, y));
  const height = y + 34;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    // The title doubles as the picture's alternative text (screen readers, linters).
    `<title>${escapeXml(title)}</title>`,
    '<style>.section{font-weight:600;fill:#111}.label{fill:#111}.average{fill:#555}.tick{fill:#555;font-size:11px}.scale{stroke:#f3f4f6;stroke-width:3px;paint-order:stroke}</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="26" font-size="16" font-weight="700" fill="#111">${escapeXml(title)}</text>`,
    `<text x="12" y="44" fill="#555">utilization over ${recording.seconds.toFixed(1)} s; a full strip is 100 % busy</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function row(series: LoadSeries, recording: LoadRecording, span: number, top: number): string {
  const present = series.values.filter((value) => !Number.isNaN(value));
  const average = present.length > 0 ? present.reduce((a, b) => a + b, 0) / present.length : 0;
  const color = COLORS[series.kind];
  return [
    `<g class="series" data-kind="${series.kind}" data-id="${series.id}">`,
    `<text x="12" y="${top + ROW_HEIGHT / 2 + 4}" class="label">${escapeXml(series.label)}</text>`,
    `<text x="${PLOT_LEFT - 10}" y="${top + ROW_HEIGHT / 2 + 4}" text-anchor="end" class="average">${Math.round(average * 100)}%</text>`,
    `<rect x="${PLOT_LEFT}" y="${top}" width="${PLOT_WIDTH}" height="${ROW_HEIGHT}" fill="#f3f4f6"/>`,
    `<path d="${areaPath(series.values, recording, span, top)}" fill="${color}" fill-opacity="0.85"/>`,
    '</g>',
  ].join('');
}

/** The area under a series, one segment per stretch of samples that exist. */
function areaPath(values: number[], recording: LoadRecording, span: number, top: number): string {
  const bottom = top + ROW_HEIGHT;
  const x = (time: number): string => xOf(time, span);
  const y = (value: number): string =>
    (bottom - Math.min(1, Math.max(0, value)) * ROW_HEIGHT).toFixed(1);
  let path = '';
  let open = false;
  let lastTime = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    const time = recording.times[i] ?? 0;
    // A sample covers the interval that ends at its time: draw it as a step.
    const from = i === 0 ? 0 : (recording.times[i - 1] ?? 0);
    if (Number.isNaN(value)) {
      if (open) path += `L${x(lastTime)},${bottom}Z`;
      open = false;
      continue;
    }
    if (!open) path += `M${x(from)},${bottom}`;
    path += `L${x(from)},${y(value)}L${x(time)},${y(value)}`;
    open = true;
    lastTime = time;
  }
  if (open) path += `L${x(lastTime)},${bottom}Z`;
  return path || `M${PLOT_LEFT},${bottom}`;
}

/** A dashed line where a run drawn on a longer axis ended, from the first strip to the axis. */
function endMarker(seconds: number, span: number, bottom: number): string {
  const x = xOf(seconds, span);
  return [
    '<g class="end">',
    `<line x1="${x}" y1="52" x2="${x}" y2="${bottom - 6}" stroke="#111" stroke-dasharray="4 3"/>`,
    `<text x="${x}" y="${bottom + 28}" text-anchor="middle" class="label">ended at ${seconds.toFixed(1)} s</text>`,
    '</g>',
  ].join('');
}

function axis(seconds: number, top: number): string {
  const step = niceStep(seconds / 8);
  const ticks: string[] = [];
  for (let t = 0; t <= seconds + 1e-9; t += step) {
    const x = PLOT_LEFT + (t / Math.max(seconds, 1e-3)) * PLOT_WIDTH;
    ticks.push(
      `<line x1="${x.toFixed(1)}" y1="${top - 6}" x2="${x.toFixed(1)}" y2="${top}" stroke="#999"/>`,
      `<text x="${x.toFixed(1)}" y="${top + 14}" text-anchor="middle" class="tick">${formatSeconds(t, step)}</text>`,
    );
  }
  return `<g class="axis">${ticks.join('')}<text x="${PLOT_LEFT - 20}" y="${top + 14}" text-anchor="end" class="tick">seconds</text></g>`;
}

function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
  return 10 * power;
}

function formatSeconds(t: number, step: number): string {
  return step < 1 ? t.toFixed(1) : String(Math.round(t));
}
