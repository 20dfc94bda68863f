// The seed's fake crawler, deterministic from the input index. Plain ESM JavaScript because
// pool workers load it without a TypeScript loader; workload.d.ts types it for the bench.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The fine-grained variants (issue 19): no I/O, each task sums a hash-chosen number of integers
 * in [min, max], ~0.45 µs (tiny) and ~4.2 µs (tiny10) of CPU at 0.41 ns per integer, where a
 * pool's own per-task cost decides the speed. run.ts prints what they cost on the machine at hand.
 */
export const FINE = {
  tiny: { min: 500, max: 1500 },
  tiny10: { min: 5000, max: 15000 },
};

/** Warm-up tasks: no sleep, enough work for the JIT to optimize spin() before timing starts. */
export const WARMUP_N = 200_000;

/** How many inputs each variant has at full size; `--quick` divides these by 10. */
export const VARIANTS = {
  uniform: 10_000,
  skewed: 10_000,
  'skewed-tail': 10_000,
  'skewed-scattered': 10_000,
  tiny: 200_000,
  tiny10: 200_000,
};

const HEAVY_FACTOR = 8;

/**
 * splitmix32-style finalizer: cheap, well mixed, and the same in every thread. Returns 30 bits so
 * V8 keeps everything derived from it a small integer: a loop bound stored as a heap double made
 * spin() measurably slower and noisier than the calibration loop.
 */
export function hash30(x) {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 2;
}

/** Whether input i of a variant with `count` inputs carries 8x the CPU work. */
export function isHeavy(v, i, count) {
  switch (v) {
    case 'skewed':
      return i < count / 5;
    case 'skewed-tail':
      return i >= count - count / 5;
    case 'skewed-scattered':
      // ~20% of inputs, spread by hash so no clustering can be relied on.
      return hash30(i ^ 0x5bd1e995) % 5 === 0;
    default:
      return false;
  }
}

/** Whether a variant is one of the fine-grained ones (no I/O, a few µs of CPU per task). */
export function isFine(v) {
  return v === 'tiny' || v === 'tiny10';
}

/**
 * Sleep and CPU size of one task: sleepMs in [200, 1000], n in [100000, 500000] (x8 if heavy);
 * the fine-grained variants have no sleep and n in FINE's range.
 */
export function taskParams(input) {
  const { i, v, count } = input;
  if (v === 'tiny') return { sleepMs: 0, n: pick(FINE.tiny, i) };
  if (v === 'tiny10') return { sleepMs: 0, n: pick(FINE.tiny10, i) };
  if (v === 'warmup') return { sleepMs: 0, n: WARMUP_N };
  const sleepMs = 200 + (hash30(i) % 801);
  const n = 100_000 + (hash30(i + 0x6a09e667) % 400_001);
  return { sleepMs, n: isHeavy(v, i, count) ? n * HEAVY_FACTOR : n };
}

/** An integer in [range.min, range.max], fixed by i. */
function pick(range, i) {
  return range.min + (hash30(i) % (range.max - range.min + 1));
}

/** The CPU part: a loop the JIT cannot remove, since its result is returned and depends on seed. */
export function spin(n, seed) {
  let s = 0;
  for (let k = 0; k < n; k++) s = (s + (k ^ seed)) | 0;
  return s;
}

/**
 * One fake-crawler task: wait for the "response", then "parse" it.
 *
 * Deliberately not an `async` function. Written as one (await the sleep, then spin), V8 11.3
 * (Node 20) inlines spin() into it once it is hot, and in some processes, not others, that
 * inlined loop runs 1.4-1.5x slower than spin() on its own: the same inputs, alternated in one
 * process, cost 0.49-0.69 ns per integer through the async crawl and 0.36 called directly
 * (`--no-turbo-inlining` makes both 0.37). Which copy a thread got was a coin toss per run and
 * per worker, so it swamped the scheduling it should measure, and calibrate() timed the fast copy.
 * Run from a `.then` callback, the loop costs what calibrate() measures, plus ~3 % for the
 * promise and timer, in every process.
 */
export function crawl(input) {
  const { sleepMs, n } = taskParams(input);
  if (sleepMs === 0) return sumAtOnce(n, input.i);
  return sleep(sleepMs).then(() => spin(n, input.i));
}

/**
 * The no-I/O path (tiny, tiny10, warm-up): an async function that sums, as issue 19's task is and
 * as polyloop's users write. It calls spin() through a Proxy because V8 never inlines a call
 * through one, so the loop always runs as spin()'s own compiled code, whoever calls the task.
 * Called directly, V8 11.3 inlined spin() into this function's implicit try block, and with
 * hash-varied n that copy cost 0.55 ns per integer where spin() alone costs 0.41, in every
 * process, through the one loop and through a try-wrapped caller like a pool worker's. The loop
 * written in this body instead was fast there, but ran at up to 2x once V8 inlined this function
 * into calibrate()'s loop. Through the Proxy: 0.41-0.43 everywhere, for ~30 ns more per task.
 */
export async function sumAtOnce(n, seed) {
  return spinApart(n, seed);
}

const spinApart = new Proxy(spin, {});

/**
 * The inputs of a variant, in submission order. 'holey' (the default): an array made by
 * `new Array(count)` and filled, as issue 19 measured; V8 clones its slices slot by slot, and
 * polyloop copies them packed first (src/protocol/dense-slice.ts). 'packed': made by pushing.
 */
export function makeInputs(v, count, shape = 'holey') {
  if (shape === 'packed') {
    const inputs = [];
    for (let i = 0; i < count; i++) inputs.push({ i, v, count });
    return inputs;
  }
  const inputs = new Array(count);
  for (let i = 0; i < count; i++) inputs[i] = { i, v, count };
  return inputs;
}
