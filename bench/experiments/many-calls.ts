// The main thread's cost per call: N concurrent `run()` calls against one `stream()` of the same
// inputs, same trivial task. Each call is a job of its own; a cost per call that grew with the
// calls pending would make the run() side quadratic.
// Wall time is what a caller sees; the main thread's CPU time (Linux: /proc) is the pool's cost
// there, and steadier on a shared machine.
// Usage: node --import tsx bench/experiments/many-calls.ts [--calls 200000] [--backend thread,process] [--rounds 3]
import { parseArgs } from 'node:util';
import { Pool } from '../../dist/index.js';
import { median } from '../stats.ts';
import { mainThreadCpu } from '../thread-cpu.ts';

interface Timing {
  wall: number;
  cpu: number;
}

async function timed(body: () => Promise<void>): Promise<Timing> {
  const cpu0 = mainThreadCpu();
  const t0 = performance.now();
  await body();
  return { wall: performance.now() - t0, cpu: mainThreadCpu() - cpu0 };
}

const TASK = new URL('./tasks/trivial.js', import.meta.url);

function runCalls(pool: Pool, n: number): Promise<Timing> {
  return timed(async () => {
    const calls: Promise<unknown>[] = new Array(n);
    for (let i = 0; i < n; i++) calls[i] = pool.run(i);
    await Promise.all(calls);
  });
}

function oneStream(pool: Pool, n: number): Promise<Timing> {
  const inputs = Array.from({ length: n }, (_, i) => i);
  return timed(async () => {
    let count = 0;
    for await (const result of pool.stream(inputs)) if (result.ok) count++;
    if (count !== n) throw new Error(`stream: ${count} of ${n} ok`);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '200000' },
      backend: { type: 'string', default: 'thread,process' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const n = Number(values.calls);
  const rounds = Number(values.rounds);
  console.log(`${n} inputs, trivial async task, medians of ${rounds} rounds (alternating)`);
  console.log(
    '| backend | workers | run() calls ms | one stream() ms | ratio | main-thread CPU ms: run() | stream() | ratio |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const backend of values.backend.split(',') as Array<'thread' | 'process'>) {
    const pool = new Pool(TASK, { backend });
    await pool.ready();
    // Warm both paths up (V8 compiles them) before timing.
    await runCalls(pool, Math.min(n, 10_000));
    await oneStream(pool, Math.min(n, 10_000));
    const calls: Timing[] = [];
    const streams: Timing[] = [];
    for (let r = 0; r < rounds; r++) {
      calls.push(await runCalls(pool, n));
      streams.push(await oneStream(pool, n));
    }
    await pool.close();
    const c = median(calls.map((t) => t.wall));
    const s = median(streams.map((t) => t.wall));
    const cc = median(calls.map((t) => t.cpu));
    const sc = median(streams.map((t) => t.cpu));
    console.log(
      `| ${backend} | ${pool.workers} | ${Math.round(c)} | ${Math.round(s)} | ${(c / s).toFixed(1)} | ${Math.round(cc)} | ${Math.round(sc)} | ${(cc / sc).toFixed(1)} |`,
    );
  }
}

await main();
