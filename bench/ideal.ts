import { makeInputs, taskParams, type VariantName } from './workload.js';

/**
 * The best any scheduler could do on `cores` cores with zero overhead: each task becomes ready
 * when its sleep ends and is placed, in ready order, on the core that frees up first.
 * Returns the makespan in ms.
 */
export function idealMs(variant: VariantName, count: number, nsPerInt: number, cores: number) {
  const tasks = makeInputs(variant, count).map((input) => {
    const { sleepMs, n } = taskParams(input);
    return { ready: sleepMs, cpu: (n * nsPerInt) / 1e6 };
  });
  tasks.sort((a, b) => a.ready - b.ready);
  const free = new Array<number>(cores).fill(0);
  for (const { ready, cpu } of tasks) {
    // Few cores, so a linear scan for the earliest-free one is cheaper than a heap.
    let best = 0;
    for (let c = 1; c < cores; c++) if (free[c]! < free[best]!) best = c;
    free[best] = Math.max(ready, free[best]!) + cpu;
  }
  return Math.max(...free);
}
