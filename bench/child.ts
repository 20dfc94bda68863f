// Runs ONE contestant on ONE variant in this fresh process and prints one JSON line, so JIT state,
// GC pressure and threads never leak between contestants.
// Usage: node --import tsx bench/child.ts <contestant> <variant> <count> <workers> [holey|packed]
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { checksum } from './checksum.ts';
import { CONTESTANTS, isContestantName } from './contestants/index.ts';
import { exitWhenDone } from './exit-when-done.ts';
import { childProcessesCpu, mainThreadCpu } from './thread-cpu.ts';
import { makeInputs, type VariantName } from './workload.js';

export interface ChildResult {
  readonly contestant: string;
  readonly variant: string;
  readonly count: number;
  readonly workers: number;
  /** Wall time from first submission to last result. */
  readonly ms: number;
  /**
   * CPU time over the same span, all threads of this process (process.cpuUsage) plus its child
   * processes' (Linux /proc, 10 ms ticks; a process backend's workers), in ms.
   */
  readonly cpuMs: number;
  /** The main thread's share of cpuMs (Linux /proc schedstat; null elsewhere). */
  readonly mainCpuMs: number | null;
  readonly checksum: string;
}

async function main(): Promise<void> {
  const [name = '', variant = '', countArg = '', workersArg = '', shape = 'holey'] =
    process.argv.slice(2);
  if (!isContestantName(name)) throw new Error(`unknown contestant '${name}'`);
  const count = Number(countArg);
  const workers = Number(workersArg);
  const { create } = await CONTESTANTS[name]();
  const contestant = create();
  if (shape !== 'holey' && shape !== 'packed') throw new Error(`unknown input shape '${shape}'`);
  const inputs = makeInputs(variant as VariantName, count, shape);

  await contestant.start({ workers, taskCount: count });
  perfControl('enable');
  const cpu0 = cpuNow();
  const t0 = performance.now();
  const outputs = await contestant.run(inputs);
  const ms = performance.now() - t0;
  const cpu1 = cpuNow();
  perfControl('disable');

  // Only child processes alive at both ends count: a process backend's workers are.
  let childrenMs = 0;
  for (const [pid, used] of cpu1.children) childrenMs += used - (cpu0.children.get(pid) ?? used);

  const result: ChildResult = {
    contestant: name,
    variant,
    count,
    workers,
    ms,
    cpuMs: (cpu1.process - cpu0.process) / 1000 + childrenMs,
    mainCpuMs: cpu1.main === null || cpu0.main === null ? null : cpu1.main - cpu0.main,
    checksum: checksum(outputs),
  };
  // Out before stop(): poolifier's destroy() at times left the event loop empty with its promise
  // pending (1 in 3-8 runs), and the process exited 0 without a result.
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await contestant.stop();
}

const onLinux = process.platform === 'linux';

/**
 * With BENCH_PERF_CTL set to `perf record --control fifo:PATH -D -1`'s fifo, Linux perf samples
 * the timed run only (see bench/README.md).
 */
function perfControl(command: 'enable' | 'disable'): void {
  const fifo = process.env.BENCH_PERF_CTL;
  if (fifo) writeFileSync(fifo, `${command}\n`);
}

/** This process's CPU in µs (all threads), its main thread's and its child processes' in ms. */
function cpuNow() {
  const { user, system } = process.cpuUsage();
  return {
    process: user + system,
    main: onLinux ? mainThreadCpu() : null,
    children: onLinux ? childProcessesCpu() : new Map<string, number>(),
  };
}

exitWhenDone(main);
