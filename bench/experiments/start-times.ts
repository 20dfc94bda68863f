// How soon each design gets its tasks' I/O going. The ideal starts every task's sleep at once;
// a task started late ends late, and on `uniform` the last ones to end set the wall time. Runs
// polyloop and the static slices in fresh processes, alternating, and reports when the tasks
// started (ms after the call), the wall time and the main thread's CPU, as medians.
// Usage: node --import tsx bench/experiments/start-times.ts [--rounds 5] [--variant uniform] [--designs polyloop,static]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Pool } from '../../dist/index.js';
import { warmupInputs } from '../contestants/contestant.ts';
import { polyloopOptions } from '../contestants/polyloop-options.ts';
import { median } from '../stats.ts';
import { mainThreadCpu } from '../thread-cpu.ts';
import { makeInputs, type TaskInput, VARIANTS } from '../workload.js';
import { create as createTimedStatic } from './timed-static.ts';

const DESIGNS = ['polyloop', 'static'] as const;
type Design = (typeof DESIGNS)[number];
const WORKERS = 2;
const TASK_FILE = new URL('./tasks/timed-crawler.js', import.meta.url);
const COLUMNS = ['wall', 'first start', 'median start', 'p90 start', 'last start', 'main CPU'];

interface Timed {
  readonly startedAt: number;
}

/** Starts one design, runs the variant once, prints one JSON row: the COLUMNS, in ms. */
async function child(design: Design, variant: keyof typeof VARIANTS): Promise<void> {
  let run: (inputs: TaskInput[]) => Promise<unknown[]>;
  let stop: () => Promise<void>;
  if (design === 'polyloop') {
    const pool = new Pool(TASK_FILE, { ...polyloopOptions, workers: WORKERS });
    await pool.ready();
    await pool.map(warmupInputs(WORKERS));
    run = (inputs) => pool.map(inputs);
    stop = () => pool.close();
  } else {
    const contestant = createTimedStatic();
    await contestant.start({ workers: WORKERS, taskCount: VARIANTS[variant] });
    run = (inputs) => contestant.run(inputs);
    stop = () => contestant.stop();
  }
  const inputs = makeInputs(variant, VARIANTS[variant]);
  const cpu0 = mainThreadCpu();
  const t0 = performance.timeOrigin + performance.now();
  const results = (await run(inputs)) as Timed[];
  const wall = performance.timeOrigin + performance.now() - t0;
  const cpu = mainThreadCpu() - cpu0;
  const starts = results.map((r) => r.startedAt - t0).sort((a, b) => a - b);
  const at = (q: number) => starts[Math.floor((starts.length - 1) * q)]!;
  process.stdout.write(`${JSON.stringify([wall, at(0), at(0.5), at(0.9), at(1), cpu])}\n`);
  await stop();
  process.exit(0);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '5' },
      variant: { type: 'string', default: 'uniform' },
      designs: { type: 'string', default: DESIGNS.join(',') },
      child: { type: 'string' },
    },
  });
  const variant = values.variant as keyof typeof VARIANTS;
  if (!(variant in VARIANTS) || variant === 'tiny')
    throw new Error(`not an I/O variant: ${variant}`);
  if (values.child) return child(values.child as Design, variant);
  const designs = values.designs.split(',') as Design[];
  const unknown = designs.filter((d) => !DESIGNS.includes(d));
  if (unknown.length > 0) throw new Error(`unknown design: ${unknown.join(', ')}`);
  const self = fileURLToPath(import.meta.url);
  const rows = new Map<Design, number[][]>(designs.map((d) => [d, []]));
  for (let round = 0; round < Number(values.rounds); round++) {
    // Alternate, so that a slow spell of this shared machine hits both designs alike.
    for (const design of designs) {
      const out = execFileSync(
        process.execPath,
        ['--import', 'tsx', self, '--child', design, '--variant', variant],
        { encoding: 'utf8' },
      );
      rows.get(design)!.push(JSON.parse(out.trim().split('\n').at(-1)!) as number[]);
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  console.log(
    `${variant} (${VARIANTS[variant]} tasks), ${WORKERS} workers: ms after the call, medians of ${values.rounds} fresh processes each`,
  );
  console.log(`| design | ${COLUMNS.join(' | ')} |`);
  console.log(`|---|${COLUMNS.map(() => '---').join('|')}|`);
  for (const design of designs) {
    const cells = COLUMNS.map((_, k) => Math.round(median(rows.get(design)!.map((r) => r[k]!))));
    console.log(`| ${design} | ${cells.join(' | ')} |`);
  }
}

await main();
