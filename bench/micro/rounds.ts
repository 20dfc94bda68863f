import { median } from '../stats.ts';
import { GcTime, processCpuNs, threadCpuNs } from './cpu.ts';

/** One design of a micro-benchmark: runs every input, resolves with the outputs. */
export type Design<I> = (all: I[]) => Promise<unknown[]>;

/** ns per task of one round: this thread's CPU, every thread's, and GC pauses. */
export interface Cost {
  readonly cpu: number;
  readonly all: number;
  readonly gc: number;
}

/**
 * Runs every design once per round, alternating, after a warm-up round: fresh inputs each time
 * (`inputs()`), outputs checked by `check`. Returns each design's costs, round by round.
 */
export async function measureRounds<I>(
  designs: Record<string, Design<I>>,
  rounds: number,
  inputs: () => I[],
  check: (outputs: unknown[]) => boolean,
): Promise<Map<string, Cost[]>> {
  const gc = new GcTime();
  gc.start();
  const costs = new Map<string, Cost[]>();
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  for (let round = -1; round < rounds; round++) {
    for (const [name, run] of Object.entries(designs)) {
      const all = inputs();
      await turn();
      gc.take();
      const cpu0 = threadCpuNs();
      const all0 = processCpuNs();
      const out = await run(all);
      const cpu = threadCpuNs() - cpu0;
      const allCpu = processCpuNs() - all0;
      // GC entries are delivered on a later turn.
      await turn();
      if (!check(out)) throw new Error(`${name}: wrong outputs`);
      if (round < 0) continue;
      const n = all.length;
      const list = costs.get(name) ?? [];
      list.push({ cpu: cpu / n, all: allCpu / n, gc: (gc.take() * 1e6) / n });
      costs.set(name, list);
    }
  }
  gc.stop();
  return costs;
}

/**
 * Prints the costs (medians) and `design - floor` paired by round; with `json`, one JSON line
 * of that difference instead, for compare.ts.
 */
export function report(
  title: string,
  costs: Map<string, Cost[]>,
  design: string,
  json: boolean,
): void {
  const mine = costs.get(design)!;
  const floor = costs.get('floor')!;
  const extra = median(mine.map((c, i) => c.all - floor[i]!.all));
  if (json) {
    console.log(JSON.stringify({ extra, cost: median(mine.map((c) => c.all)) }));
    return;
  }
  console.log(`${title}; medians of ${mine.length} rounds, ns per task`);
  console.log('| design | this thread CPU | all threads CPU | of which GC pauses |');
  console.log('|---|---:|---:|---:|');
  for (const [name, list] of costs) {
    const cell = (k: keyof Cost) => median(list.map((c) => c[k])).toFixed(0);
    console.log(`| ${name} | ${cell('cpu')} | ${cell('all')} | ${cell('gc')} |`);
  }
  console.log(`${design} - floor, all threads: ${extra.toFixed(0)} ns per task (paired by round)`);
}
