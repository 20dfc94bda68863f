import { median } from './stats.ts';
import { type FineVariant, makeInputs, spin, sumAtOnce, taskParams } from './workload.js';

export interface Calibration {
  /** CPU cost of one summed integer in spin(), on this machine, now. */
  readonly nsPerInt: number;
  /**
   * Mean CPU of one fine-grained task called on its own (the async function, its promise
   * included; no pool, no scheduling), per variant, in µs.
   */
  readonly taskUs: Readonly<Record<FineVariant, number>>;
}

const LONG_N = 20_000_000;
/** Tasks per fine-grained sample: the variant's first inputs, so n varies as in the run. */
const FINE_BATCH = 20_000;
const FINE_VARIANTS: readonly FineVariant[] = ['tiny', 'tiny10'];

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
  const taskUs = {} as Record<FineVariant, number>;
  for (const variant of FINE_VARIANTS) taskUs[variant] = fineTaskUs(variant);
  // Keeps the loops observable so they cannot be optimized away.
  if (sink === 0.5) console.log(sink);
  return { nsPerInt: median(perInt), taskUs };
}

/** The task's own async function over the variant's first inputs, median of 7 batches. */
function fineTaskUs(variant: FineVariant): number {
  // The n are computed before the timer, so only the task itself is timed.
  const ns = makeInputs(variant, FINE_BATCH).map((input) => taskParams(input).n);
  const perTask: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = cpuMs();
    for (let j = 0; j < FINE_BATCH; j++) void sumAtOnce(ns[j]!, j);
    perTask.push(((cpuMs() - t0) * 1e3) / FINE_BATCH);
  }
  return median(perTask);
}

/** Element-wise median of several calibrations, e.g. one taken before each run. */
export function combine(calibrations: readonly Calibration[]): Calibration {
  const taskUs = {} as Record<FineVariant, number>;
  for (const variant of FINE_VARIANTS) {
    taskUs[variant] = median(calibrations.map((c) => c.taskUs[variant]));
  }
  return { nsPerInt: median(calibrations.map((c) => c.nsPerInt)), taskUs };
}
