// Where polyloop's time goes on tiny tasks: one event loop, the leanest batching design we could
// write (batched.ts) and polyloop, each in fresh processes, each running the 200,000
// tiny tasks several times in a row. The first run is what `npm run bench` times (V8 still
// compiling); later runs show the steady per-task cost. CPU per thread is read from /proc (Linux).
// Usage: node --import tsx bench/experiments/tiny-floor.ts [--rounds 5] [--reps 3]
//        [--designs one-loop,lean,polyloop] [--variant tiny|tiny10]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CONTESTANTS } from '../contestants/index.ts';
import { median } from '../stats.ts';
import { threadCpu } from '../thread-cpu.ts';
import { FINE, makeInputs, VARIANTS } from '../workload.js';

type Design = 'one-loop' | 'batched' | 'lean' | 'polyloop';
const DESIGNS: Design[] = ['one-loop', 'batched', 'lean', 'polyloop'];
const WORKERS = 2;

/** In a child: run one design `reps` times; print per rep [wall ms, main CPU, workers CPU, rest CPU]. */
async function child(design: Design, reps: number, variant: 'tiny' | 'tiny10'): Promise<void> {
  const { create } =
    design === 'batched' ? await import('./batched.ts') : await CONTESTANTS[design]();
  const contestant = create();
  // Starts the threads and warms the task up, as `npm run bench` does.
  await contestant.start({ workers: WORKERS, taskCount: VARIANTS[variant] });
  const rows: number[][] = [];
  for (let r = 0; r < reps; r++) {
    const inputs = makeInputs(variant, VARIANTS[variant]);
    const before = threadCpu();
    const t0 = performance.now();
    await contestant.run(inputs);
    const wall = performance.now() - t0;
    const used = [...threadCpu()].map(([tid, ms]) => ({ tid, ms: ms - (before.get(tid) ?? 0) }));
    const main = used.find((u) => u.tid === String(process.pid))?.ms ?? 0;
    // The pool's workers are the busiest other threads; the rest are V8's compiler and GC
    // helpers and libuv's.
    const others = used.filter((u) => u.tid !== String(process.pid)).map((u) => u.ms);
    others.sort((a, b) => b - a);
    const workers = design === 'one-loop' ? 0 : others.slice(0, WORKERS).reduce((a, b) => a + b, 0);
    const rest = others.reduce((a, b) => a + b, 0) - workers;
    rows.push([wall, main, workers, rest]);
  }
  process.stdout.write(`${JSON.stringify(rows)}\n`);
  process.exit(0);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      reps: { type: 'string', default: '3' },
      child: { type: 'string' },
      designs: { type: 'string', default: 'one-loop,lean,polyloop' },
      variant: { type: 'string', default: 'tiny' },
    },
  });
  const designs = values.designs.split(',') as Design[];
  const unknown = designs.filter((d) => !DESIGNS.includes(d));
  if (unknown.length > 0) throw new Error(`unknown design: ${unknown.join(', ')}`);
  const reps = Number(values.reps);
  const variant = values.variant === 'tiny10' ? 'tiny10' : 'tiny';
  if (values.child) return child(values.child as Design, reps, variant);
  const self = fileURLToPath(import.meta.url);
  const results = new Map<Design, number[][][]>(designs.map((d) => [d, []]));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const design of designs) {
      const out = execFileSync(
        process.execPath,
        ['--import', 'tsx', self, '--child', design, '--reps', String(reps), '--variant', variant],
        {
          encoding: 'utf8',
        },
      );
      results.get(design)!.push(JSON.parse(out.trim().split('\n').at(-1)!) as number[][]);
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  const ms = (x: number) => `${Math.round(x)}`;
  console.log(
    `${VARIANTS[variant]} ${variant} tasks (${FINE[variant].min}–${FINE[variant].max} integers each), ${WORKERS} workers, medians of ${values.rounds} processes each`,
  );
  console.log(
    '| design | run | wall ms | main thread CPU ms | workers CPU ms | other threads CPU ms |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const design of designs) {
    for (let rep = 0; rep < reps; rep++) {
      const cells = [0, 1, 2, 3].map((k) =>
        ms(median(results.get(design)!.map((runs) => runs[rep]![k]!))),
      );
      console.log(
        `| ${design} | ${rep === 0 ? '1 (what npm run bench times)' : rep + 1} | ${cells.join(' | ')} |`,
      );
    }
  }
}

await main();
