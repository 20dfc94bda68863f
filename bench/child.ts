// Runs ONE contestant on ONE variant in this fresh process and prints one JSON line, so JIT state,
// GC pressure and threads never leak between contestants.
// Usage: node --import tsx bench/child.ts <contestant> <variant> <count> <workers>
import { performance } from 'node:perf_hooks';
import { checksum } from './checksum.ts';
import { CONTESTANTS, isContestantName } from './contestants/index.ts';
import { exitWhenDone } from './exit-when-done.ts';
import { makeInputs, type VariantName } from './workload.js';

export interface ChildResult {
  readonly contestant: string;
  readonly variant: string;
  readonly count: number;
  readonly workers: number;
  /** Wall time from first submission to last result. */
  readonly ms: number;
  readonly checksum: string;
}

async function main(): Promise<void> {
  const [name = '', variant = '', countArg = '', workersArg = ''] = process.argv.slice(2);
  if (!isContestantName(name)) throw new Error(`unknown contestant '${name}'`);
  const count = Number(countArg);
  const workers = Number(workersArg);
  const { create } = await CONTESTANTS[name]();
  const contestant = create();
  const inputs = makeInputs(variant as VariantName, count);

  await contestant.start({ workers, taskCount: count });
  const t0 = performance.now();
  const outputs = await contestant.run(inputs);
  const ms = performance.now() - t0;
  await contestant.stop();

  const result: ChildResult = {
    contestant: name,
    variant,
    count,
    workers,
    ms,
    checksum: checksum(outputs),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

exitWhenDone(main);
