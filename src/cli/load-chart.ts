/**
 * Draws a LoadRecording as an SVG: one strip per event loop (main thread, each worker), then one
 * per CPU core — the "Task Manager" picture. On one event loop a single strip is full and the
 * others flat; on every core they are all full. Plain SVG, no dependency, readable in a browser.
 * `--chart FILE.json` writes the recording itself instead, so several runs can be drawn later on
 * one time axis (bench/demo/demo.ts does).
 */
import type { LoadRecording, LoadSeries } from './load-recorder.js';

const WIDTH = 960;
const LABEL_WIDTH = 180;
const PLOT_LEFT = LABEL_WIDTH;
const PLOT_WIDTH = WIDTH - PLOT_LEFT - 24;
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

/** NaN (no sample: a worker not started yet) is written as null, which JSON can hold. */
export function recordingToJson(recording: LoadRecording, title: string): string {
  return `${JSON.stringify({ title, ...recording })}\n`;
}

export function recordingFromJson(text: string): { title: string; recording: LoadRecording } {
  const { title, times, series, seconds } = JSON.parse(text) as {
    title: string;
    times: number[];
    series: Array<Omit<LoadSeries, 'values'> & { values: Array<number | null> }>;
    seconds: number;
  };
  return {
    title,
    recording: {
      times,
      seconds,
      series: series.map((s) => ({ ...s, values: s.values.map((v) => v ?? Number.NaN) })),
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
  if (span > recording.seconds) parts.push(endMarker(recording.seconds, span, y));
  parts.push(axis(span, y));
  const height = y + 34;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    // The title doubles as the picture's alternative text (screen readers, linters).
    `<title>${escapeXml(title)}</title>`,
    '<style>.section{font-weight:600;fill:#111}.label{fill:#111}.average{fill:#555}.tick{fill:#555;font-size:11px}</style>',
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
  const seconds = Math.max(span, 1e-3);
  const bottom = top + ROW_HEIGHT;
  const x = (time: number): string => (PLOT_LEFT + (time / seconds) * PLOT_WIDTH).toFixed(1);
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
  const x = (PLOT_LEFT + (seconds / Math.max(span, 1e-3)) * PLOT_WIDTH).toFixed(1);
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

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
