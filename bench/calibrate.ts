import { median } from './stats.ts';
import { spin, TINY_N } from './workload.js';

export interface Calibration {
  /** CPU cost of one summed integer in spin(), on this machine, now. */
  readonly nsPerInt: number;
  /** Cost of one tiny task's CPU part (spin(TINY_N)). */
  readonly tinyTaskUs: number;
}

const LONG_N = 20_000_000;
const TINY_BATCH = 20_000;

// CPU time rather than wall time: the machine is shared, and time spent descheduled while
// someone else runs is not a cost of spin().
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Times spin() on the main thread after warm-up, so the first (unoptimized) calls don't count. */
export function calibrate(): Calibration {
  let sink = 0;
  for (let k = 0; k < 3; k++) sink ^= spin(LONG_N, k);
  const perInt: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = cpuMs();
    sink ^= spin(LONG_N, k);
    perInt.push(((cpuMs() - t0) * 1e6) / LONG_N);
  }
  const perTiny: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = cpuMs();
    for (let j = 0; j < TINY_BATCH; j++) sink ^= spin(TINY_N, j);
    perTiny.push(((cpuMs() - t0) * 1e3) / TINY_BATCH);
  }
  // Keeps the loops observable so they cannot be optimized away.
  if (sink === 0.5) console.log(sink);
  return { nsPerInt: median(perInt), tinyTaskUs: median(perTiny) };
}

/** Element-wise median of several calibrations, e.g. one taken before each run. */
export function combine(calibrations: readonly Calibration[]): Calibration {
  return {
    nsPerInt: median(calibrations.map((c) => c.nsPerInt)),
    tinyTaskUs: median(calibrations.map((c) => c.tinyTaskUs)),
  };
}
