/** Number and duration formatting for the progress display and summaries. */
/** Made on first use: creating a number format costs milliseconds at start-up. */
let integerFormat: Intl.NumberFormat | undefined;
function integer(): Intl.NumberFormat {
  integerFormat ??= new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  return integerFormat;
}

export function count(n: number): string {
  return integer().format(n);
}

/** A rate per second, with a decimal only when it is small. */
export function rate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  return perSecond >= 100 ? integer().format(perSecond) : perSecond.toFixed(1);
}

/** `0:42`, `12:05`, `3:02:17`. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** Milliseconds, readable from microseconds to hours. */
export function duration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms < 100 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return clock(ms / 1000);
}

export function percent(fraction: number): string {
  return `${Math.round(fraction * 100)}%`;
}
