import { performance } from 'node:perf_hooks';
import { median } from './stats.ts';
import { spin, TINY_N } from './workload.js';

export interface Calibration {
  /** CPU cost of one summed integer in spin(), on this machine, now. */
  readonly nsPerInt: number;
  /** Cost of one tiny task's CPU part (spin(TINY_N)). */
  readonly tinyTaskUs: number;
}

const LONG_N = 4_000_000;
const TINY_BATCH = 20_000;

/** Times spin() on the main thread after warm-up, so the first (unoptimized) calls don't count. */
export function calibrate(): Calibration {
  let sink = 0;
  for (let k = 0; k < 5; k++) sink ^= spin(LONG_N, k);
  const perInt: number[] = [];
  for (let k = 0; k < 9; k++) {
    const t0 = performance.now();
    sink ^= spin(LONG_N, k);
    perInt.push(((performance.now() - t0) * 1e6) / LONG_N);
  }
  const perTiny: number[] = [];
  for (let k = 0; k < 9; k++) {
    const t0 = performance.now();
    for (let j = 0; j < TINY_BATCH; j++) sink ^= spin(TINY_N, j);
    perTiny.push(((performance.now() - t0) * 1e3) / TINY_BATCH);
  }
  // Keeps the loops observable so they cannot be optimized away.
  if (sink === 0.5) console.log(sink);
  return { nsPerInt: median(perInt), tinyTaskUs: median(perTiny) };
}
