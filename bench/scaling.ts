// How well this machine's cores run CPU work side by side. ideal(P) assumes each of P busy cores
// is as fast as one core alone; on a shared VM it may not be, and no scheduler can beat that.
import { spinThread } from './spin-thread.ts';

const SPINNER = `
  import { parentPort, workerData } from 'node:worker_threads';
  const { spin } = await import(workerData.workload);
  for (let k = 0; k < 3; k++) spin(5_000_000, k);
  const t0 = performance.now();
  let sink = 0;
  for (let k = 0; k < workerData.rounds; k++) sink ^= spin(workerData.n, k);
  parentPort.postMessage({ ms: performance.now() - t0, sink });
`;

function spinIn(threads: number, n: number, rounds: number): Promise<number> {
  const runs = Array.from({ length: threads }, () =>
    spinThread<{ ms: number }>(SPINNER, { n, rounds }).then((m) => m.ms),
  );
  return Promise.all(runs).then((times) => Math.max(...times));
}

/**
 * Per-thread speed with P threads spinning at once, relative to one thread alone (1.00 = the
 * cores do not slow each other down). Each side spins about a second, the length of a bench run.
 */
export async function measureScaling(threads: number): Promise<number> {
  const n = 20_000_000;
  const rounds = 100;
  const alone = await spinIn(1, n, rounds);
  const together = await spinIn(threads, n, rounds);
  return alone / together;
}
