// Where polyloop's time goes on tiny tasks: one event loop, the leanest batching design we could
// write (bench/tasks/batch-worker.js: batches of 256, four in flight per worker, no balancing, no
// timeouts, no crash handling) and polyloop, each in fresh processes, each running the 200,000
// tiny tasks several times in a row. The first run is what `npm run bench` times (V8 still
// compiling); later runs show the steady per-task cost. CPU per thread is read from /proc (Linux).
// Usage: node --import tsx bench/tiny-floor.ts [--rounds 5] [--reps 3] [--designs one-loop,batched,polyloop]
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Pool } from '../dist/index.js';
import { median } from './stats.ts';
import { crawl, makeInputs, type TaskInput, TINY_N, VARIANTS } from './workload.js';

type Design = 'one-loop' | 'batched' | 'polyloop';
const DESIGNS: Design[] = ['one-loop', 'batched', 'polyloop'];
const WORKERS = 2;

/** CPU ms per thread of this process, by thread id. */
function threadCpu(): Map<string, number> {
  const cpu = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu.set(tid, (Number(fields[11]) + Number(fields[12])) * 10);
  }
  return cpu;
}

/** One design's run function; batched: 256 inputs per message, 4 messages in flight per worker. */
async function start(design: Design): Promise<(inputs: TaskInput[]) => Promise<unknown[]>> {
  if (design === 'one-loop') return (inputs) => Promise.all(inputs.map(crawl));
  if (design === 'polyloop') {
    const pool = new Pool(new URL('./tasks/fake-crawler.js', import.meta.url), {
      workers: WORKERS,
      concurrency: Number.POSITIVE_INFINITY,
    });
    await pool.ready();
    return (inputs) => pool.map(inputs);
  }
  const url = new URL('./tasks/batch-worker.js', import.meta.url);
  const workers = Array.from({ length: WORKERS }, () => new Worker(url));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  return (inputs) =>
    new Promise((resolve) => {
      const out = new Array<unknown>(inputs.length);
      let next = 0;
      let done = 0;
      const send = (w: Worker) => {
        if (next >= inputs.length) return;
        w.postMessage({ id: next, inputs: inputs.slice(next, next + 256) });
        next += 256;
      };
      for (const w of workers) {
        w.removeAllListeners('message');
        w.on('message', ({ id, values }: { id: number; values: unknown[] }) => {
          for (let k = 0; k < values.length; k++) out[id + k] = values[k];
          done += values.length;
          if (done === inputs.length) resolve(out);
          else send(w);
        });
        for (let k = 0; k < 4; k++) send(w);
      }
    });
}

/** In a child: run one design `reps` times; print per rep [wall ms, main CPU, workers CPU, rest CPU]. */
async function child(design: Design, reps: number): Promise<void> {
  const run = await start(design);
  await run(makeInputs('warmup', 4));
  const rows: number[][] = [];
  for (let r = 0; r < reps; r++) {
    const inputs = makeInputs('tiny', VARIANTS.tiny);
    const before = threadCpu();
    const t0 = performance.now();
    await run(inputs);
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
      designs: { type: 'string', default: DESIGNS.join(',') },
    },
  });
  const designs = values.designs.split(',') as Design[];
  const unknown = designs.filter((d) => !DESIGNS.includes(d));
  if (unknown.length > 0) throw new Error(`unknown design: ${unknown.join(', ')}`);
  const reps = Number(values.reps);
  if (values.child) return child(values.child as Design, reps);
  const self = fileURLToPath(import.meta.url);
  const results = new Map<Design, number[][][]>(designs.map((d) => [d, []]));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const design of designs) {
      const out = execFileSync(
        process.execPath,
        ['--import', 'tsx', self, '--child', design, '--reps', String(reps)],
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
    `${VARIANTS.tiny} tiny tasks (${TINY_N} integers each), ${WORKERS} workers, medians of ${values.rounds} processes each`,
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
