// The seed's experiment, run through the `polyloop` command itself: 10,000 fake-crawler tasks
// on one event loop (`--workers 0`) and then on every core, each with a chart of which cores
// worked. Each run is a fresh process, timed from start to exit.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VARIANTS } from './workload.js';

const COUNT = VARIANTS.uniform;
const workers = availableParallelism();
const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const task = join(root, 'bench/demo-task.js');
const charts = join(root, 'bench/results');
const scratch = mkdtempSync(join(tmpdir(), 'polyloop-demo-'));
const input = join(scratch, 'inputs.jsonl');

interface Run {
  readonly label: string;
  readonly seconds: number;
  readonly values: unknown[];
  readonly chart: string;
}

function run(label: string, workerCount: number, chartName: string): Run {
  process.stderr.write(`running ${label}...\n`);
  const output = join(scratch, `${chartName}.jsonl`);
  const chart = join(charts, `${chartName}.svg`);
  const started = performance.now();
  const child = spawnSync(
    process.execPath,
    [cli, 'run', task, '-i', input, '-o', output, '-w', String(workerCount), '--chart', chart],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const seconds = (performance.now() - started) / 1000;
  if (child.status !== 0) throw new Error(`${label} exited with ${child.status ?? child.signal}`);
  const values: unknown[] = new Array(COUNT);
  for (const line of readFileSync(output, 'utf8').split('\n')) {
    if (line === '') continue;
    const record = JSON.parse(line) as { index: number; value: unknown };
    values[record.index] = record.value;
  }
  return { label, seconds, values, chart };
}

const lines: string[] = [];
for (let i = 0; i < COUNT; i++) lines.push(JSON.stringify({ i, v: 'uniform', count: COUNT }));
writeFileSync(input, `${lines.join('\n')}\n`);
console.log(
  `${COUNT.toLocaleString('en-US')} fake-crawler tasks (sleep 0.2-1 s, then sum 100k-500k ints), through \`polyloop run\`\n`,
);
const one = run('one event loop (--workers 0)', 0, 'demo-one-loop');
const all = run(`polyloop, ${workers} workers`, workers, 'demo-all-cores');
const same = one.values.every((value, i) => value === all.values[i]);

const rows = [
  ['', 'time (s)', 'speed-up', 'results equal'],
  [one.label, one.seconds.toFixed(2), '1.00x', 'yes'],
  [
    all.label,
    all.seconds.toFixed(2),
    `${(one.seconds / all.seconds).toFixed(2)}x`,
    same ? 'yes' : 'NO',
  ],
];
const widths = rows[0]!.map((_, k) => Math.max(...rows.map((row) => row[k]!.length)));
console.log('');
for (const row of rows)
  console.log(
    row
      .map((cell, k) => cell.padEnd(widths[k]!))
      .join('  ')
      .trimEnd(),
  );
console.log('\nWhich cores worked (open in a browser):');
for (const { label, chart } of [one, all])
  console.log(`  ${label}: ${relative(process.cwd(), chart)}`);
if (!same) process.exitCode = 1;
