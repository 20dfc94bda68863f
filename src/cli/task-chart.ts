/**
 * The `--chart` sections drawn from a recording's TaskSeries: "Tasks in flight" (the tasks in
 * flight and the limit on them, on one scale — what the adaptive limit did) and "Task latency"
 * (mean time in flight of the tasks that ended in each interval: see flight-curves.ts).
 */
import { escapeXml, PLOT_LEFT, PLOT_WIDTH, xOf } from './chart-layout.js';
import { count, duration } from './format.js';
import type { TaskSeries } from './task-recorder.js';

const PLOT_HEIGHT = 110;
/** From a section's top to its plot's: the heading, the note, and the top tick's label. */
const PLOT_OFFSET = 52;
const SECTION_HEIGHT = PLOT_OFFSET + PLOT_HEIGHT + 14;
const COLORS = { inFlight: '#2563eb', limit: '#dc2626', latency: '#7c3aed' } as const;
/** Latencies spread wider than this factor are drawn on a log scale. */
const LOG_SCALE_FROM = 10;

/** The two sections from `top` down; `bottom` is where the next thing goes. */
export function taskSections(
  tasks: TaskSeries,
  times: readonly number[],
  span: number,
  top: number,
): { svg: string; bottom: number } {
  const parts: string[] = [];
  let y = top;
  parts.push(inFlightSection(tasks, times, span, y));
  y += SECTION_HEIGHT;
  const latency = latencySection(tasks, times, span, y);
  if (latency) {
    parts.push(latency);
    y += SECTION_HEIGHT;
  }
  return { svg: parts.join('\n'), bottom: y };
}

function inFlightSection(tasks: TaskSeries, times: readonly number[], span: number, top: number) {
  const finiteLimits = tasks.limit.filter(Number.isFinite);
  const peak = Math.max(0, ...tasks.inFlight.filter(Number.isFinite));
  // One scale for both, topped by whichever is higher: the room the limit left is the point.
  const max = Math.max(1, Math.ceil(Math.max(peak, ...finiteLimits)));
  const plotTop = top + PLOT_OFFSET;
  const bottom = plotTop + PLOT_HEIGHT;
  const y = (value: number): number => bottom - (Math.min(value, max) / max) * PLOT_HEIGHT;
  const ticks: Tick[] = [
    { y: plotTop, text: count(max) },
    { y: bottom, text: '0' },
  ];
  const lastLimit = tasks.limit.at(-1);
  const limitText =
    lastLimit === undefined
      ? 'limit'
      : Number.isFinite(lastLimit)
        ? `limit, last ${count(lastLimit)}`
        : 'limit: none (∞)';
  return [
    '<g class="tasks" data-section="in-flight">',
    heading(top, 'Tasks in flight, and the limit on them'),
    note(top, `mean over each sample interval; one scale, 0 – ${count(max)}`),
    plotFrame(plotTop, ticks),
    `<path d="${stepPath(tasks.inFlight, times, span, y, bottom)}" fill="${COLORS.inFlight}" fill-opacity="0.25"/>`,
    `<path d="${stepPath(tasks.inFlight, times, span, y)}" fill="none" stroke="${COLORS.inFlight}" stroke-width="1.5" data-series="in-flight"/>`,
    `<path d="${stepPath(tasks.limit, times, span, y)}" fill="none" stroke="${COLORS.limit}" stroke-width="2" data-series="limit"/>`,
    tickLabels(ticks),
    legend(plotTop + 40, COLORS.inFlight, `in flight, up to ${count(peak)}`),
    legend(plotTop + 60, COLORS.limit, limitText),
    '</g>',
  ].join('');
}

/** Undefined when no interval had a task end: there is no latency to draw. */
function latencySection(
  tasks: TaskSeries,
  times: readonly number[],
  span: number,
  top: number,
): string | undefined {
  const present = tasks.latencyMs.filter(Number.isFinite);
  if (present.length === 0) return undefined;
  const scale = latencyScale(present);
  const plotTop = top + PLOT_OFFSET;
  const bottom = plotTop + PLOT_HEIGHT;
  const y = (ms: number): number => bottom - scale.at(ms) * PLOT_HEIGHT;
  const ticks = scale.ticks.map((ms) => ({ y: y(ms), text: tickDuration(ms) }));
  const overall = wholeRun(tasks);
  return [
    '<g class="tasks" data-section="latency">',
    heading(top, 'Task latency: mean time in flight of the tasks that ended, per interval'),
    note(
      top,
      `from the counts of tasks started and ended, matched in order; ${scale.log ? 'log' : 'linear'} scale, ${scale.label}`,
    ),
    plotFrame(plotTop, ticks),
    `<path d="${stepPath(tasks.latencyMs, times, span, y)}" fill="none" stroke="${COLORS.latency}" stroke-width="1.5" data-series="latency"/>`,
    tickLabels(ticks),
    overall === undefined
      ? ''
      : legend(plotTop + 50, COLORS.latency, `all tasks: ${duration(overall)}`),
    '</g>',
  ].join('');
}

interface Scale {
  readonly log: boolean;
  readonly label: string;
  readonly ticks: number[];
  /** 0 (bottom) to 1 (top). */
  at(ms: number): number;
}

function latencyScale(values: readonly number[]): Scale {
  const positive = values.filter((ms) => ms > 0);
  const max = Math.max(...values);
  const min = positive.length > 0 ? Math.min(...positive) : 0;
  if (min > 0 && max / min > LOG_SCALE_FROM) {
    const lo = Math.floor(Math.log10(min));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
    // A line per decade, or per few on a wide range: labels need about 14 px each.
    const every = Math.ceil((hi - lo) / 6);
    const ticks: number[] = [];
    for (let power = hi; power >= lo; power -= every) ticks.push(10 ** power);
    return {
      log: true,
      label: `${tickDuration(10 ** lo)} – ${tickDuration(10 ** hi)}`,
      ticks,
      at: (ms) => clamp01((Math.log10(Math.max(ms, 10 ** lo)) - lo) / (hi - lo)),
    };
  }
  const top = niceCeil(max);
  return {
    log: false,
    label: `0 – ${tickDuration(top)}`,
    ticks: [0, top],
    at: (ms) => clamp01(ms / top),
  };
}

/** The mean over every task that ended: each interval's mean, weighted by its ends. */
function wholeRun(tasks: TaskSeries): number | undefined {
  let sum = 0;
  let ended = 0;
  tasks.completed.forEach((ends, i) => {
    const ms = tasks.latencyMs[i] ?? Number.NaN;
    if (!(ends > 0) || Number.isNaN(ms)) return;
    sum += ms * ends;
    ended += ends;
  });
  return ended > 0 ? sum / ended : undefined;
}

/**
 * A series as steps (a sample covers the interval that ends at its time), broken where a value
 * is missing (NaN) or off any scale (an unbounded limit). With `base`: the area down to it.
 */
function stepPath(
  values: readonly number[],
  times: readonly number[],
  span: number,
  y: (value: number) => number,
  base?: number,
): string {
  let path = '';
  let open = false;
  let lastX = '';
  const close = (): void => {
    if (open && base !== undefined) path += `L${lastX},${base}Z`;
    open = false;
  };
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (!Number.isFinite(value)) {
      close();
      continue;
    }
    const from = xOf(i === 0 ? 0 : (times[i - 1] ?? 0), span);
    const to = xOf(times[i] ?? 0, span);
    const at = y(value).toFixed(1);
    if (!open) path += base === undefined ? `M${from},${at}` : `M${from},${base}L${from},${at}`;
    else path += `L${from},${at}`;
    path += `L${to},${at}`;
    open = true;
    lastX = to;
  }
  close();
  return path || `M${PLOT_LEFT},${base ?? 0}`;
}

function heading(top: number, text: string): string {
  return `<text x="12" y="${top + 16}" class="section">${escapeXml(text)}</text>`;
}

function note(top: number, text: string): string {
  return `<text x="12" y="${top + 33}" class="average">${escapeXml(text)}</text>`;
}

type Tick = { readonly y: number; readonly text: string };

/** The plot's background and a faint line at each tick. */
function plotFrame(plotTop: number, ticks: readonly Tick[]): string {
  return [
    `<rect x="${PLOT_LEFT}" y="${plotTop}" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}" fill="#f3f4f6"/>`,
    ...ticks.map(
      ({ y }) =>
        `<line x1="${PLOT_LEFT}" y1="${y.toFixed(1)}" x2="${PLOT_LEFT + PLOT_WIDTH}" y2="${y.toFixed(1)}" stroke="#d1d5db"/>`,
    ),
  ].join('');
}

/**
 * Each tick's value, just above its line, inside the plot (the label column holds the legend);
 * the topmost one sits above the plot, in the room left for it under the note.
 */
function tickLabels(ticks: readonly Tick[]): string {
  return ticks
    .map(({ y, text }) => {
      const labelY = y - 3;
      return `<text x="${PLOT_LEFT + 4}" y="${labelY.toFixed(1)}" class="tick scale">${escapeXml(text)}</text>`;
    })
    .join('');
}

function legend(y: number, color: string, text: string): string {
  return (
    `<line x1="12" y1="${y - 4}" x2="26" y2="${y - 4}" stroke="${color}" stroke-width="3"/>` +
    `<text x="32" y="${y}" class="label">${escapeXml(text)}</text>`
  );
}

/** A round duration as a scale shows it: `100 µs`, `20 ms`, `1 s` (no trailing `.0`). */
function tickDuration(ms: number): string {
  if (ms === 0) return '0';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${Number(ms.toPrecision(3))} ms`;
  return `${Number((ms / 1000).toPrecision(3))} s`;
}

function niceCeil(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= value) return factor * power;
  return 10 * power;
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
