// How steady this machine's cores are: P threads spin the workload's own loop side by side for a
// while and each reports its speed (ns per summed integer) every ~10 ms. On a shared VM a core can
// drop to 60 % of its speed for seconds while the other keeps going: no scheduler can balance
// work already pinned to it, and one bench run cannot resolve a 5 % difference when that happens.
// Usage: node --import tsx bench/experiments/core-speed.ts [--seconds S] [--threads P]
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { spinThread } from '../spin-thread.ts';
import { median } from '../stats.ts';

const SPINNER = `
  import { parentPort, workerData } from 'node:worker_threads';
  const { spin } = await import(workerData.workload);
  const n = 20_000_000;
  let sink = 0;
  for (let k = 0; k < 3; k++) sink ^= spin(n, k);
  const readings = [];
  const end = performance.now() + workerData.ms;
  while (performance.now() < end) {
    const t0 = performance.now();
    sink ^= spin(n, readings.length);
    readings.push(((performance.now() - t0) * 1e6) / n);
  }
  parentPort.postMessage({ readings, sink });
`;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    threads: { type: 'string', default: String(availableParallelism()) },
  },
});
const ms = Number(values.seconds) * 1000;
const threads = Number(values.threads);

const all = await Promise.all(
  Array.from({ length: threads }, () =>
    spinThread<{ readings: number[] }>(SPINNER, { ms }).then((m) => m.readings),
  ),
);

console.log(`${threads} threads spinning side by side for ${values.seconds} s (ns per integer):`);
console.log('| thread | fastest | median | slowest | readings ≥ 1.25× its fastest |');
console.log('|---|---|---|---|---|');
all.forEach((readings, t) => {
  const fastest = Math.min(...readings);
  const slow = readings.filter((r) => r >= 1.25 * fastest).length / readings.length;
  const cells = [fastest, median(readings), Math.max(...readings)].map((x) => x.toFixed(3));
  console.log(`| ${t} | ${cells.join(' | ')} | ${(slow * 100).toFixed(0)} % |`);
});
