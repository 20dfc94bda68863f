// The seed's experiment, run through the `polyloop` command itself: 10,000 fake-crawler tasks
// on one event loop (`--workers 0`) and then on every core. Each run is a fresh process, timed
// from start to exit, and records how busy each thread and core was (`--chart FILE.json`); both
// charts are then drawn on the same time axis, so the shorter run visibly ends sooner.
//
//   npm run demo                      charts into bench/out/ (ignored by git)
//   npm run demo -- --out docs/images refresh the README's copies
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { recordingFromJson, renderLoadChart } from '../../src/cli/load-chart.ts';
import type { LoadRecording } from '../../src/cli/load-recorder.ts';
import { VARIANTS } from '../workload.js';

const COUNT = VARIANTS.uniform;
const workers = availableParallelism();
const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'dist/cli/main.js');
const task = join(root, 'bench/demo/demo-task.js');
const { values: args } = parseArgs({ options: { out: { type: 'string' } } });
const out = resolve(args.out ?? join(root, 'bench/out'));

interface Run {
  readonly label: string;
  readonly seconds: number;
  readonly values: unknown[];
  readonly title: string;
  readonly recording: LoadRecording;
  readonly chart: string;
}

function run(
  scratch: string,
  input: string,
  label: string,
  workerCount: number,
  name: string,
): Run {
  process.stderr.write(`running ${label}...\n`);
  const output = join(scratch, `${name}.jsonl`);
  const samples = join(scratch, `${name}.json`);
  const started = performance.now();
  const child = spawnSync(
    process.execPath,
    [cli, 'run', task, '-i', input, '-o', output, '-w', String(workerCount), '--chart', samples],
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
  const { title, recording } = recordingFromJson(readFileSync(samples, 'utf8'));
  return { label, seconds, values, title, recording, chart: join(out, `${name}.svg`) };
}

/** The machine's busy share over a run: the mean of every core's samples. */
function machineBusy(recording: LoadRecording): number {
  const values = recording.series
    .filter((series) => series.kind === 'core')
    .flatMap((series) => series.values.filter((value) => !Number.isNaN(value)));
  return values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

// A Ctrl-C reaches the `polyloop run` child too, which stops and exits 130; waiting for it here
// (rather than dying at once) lets the finally below remove the scratch folder.
process.on('SIGINT', () => {});
const scratch = mkdtempSync(join(tmpdir(), 'polyloop-demo-'));
try {
  const input = join(scratch, 'inputs.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < COUNT; i++) lines.push(JSON.stringify({ i, v: 'uniform', count: COUNT }));
  writeFileSync(input, `${lines.join('\n')}\n`);
  console.log(
    `${COUNT.toLocaleString('en-US')} fake-crawler tasks (sleep 0.2-1 s, then sum 100k-500k ints), through \`polyloop run\`\n`,
  );
  const one = run(scratch, input, 'one event loop (--workers 0)', 0, 'demo-one-loop');
  const all = run(scratch, input, `polyloop, ${workers} workers`, workers, 'demo-all-cores');
  const same = one.values.every((value, i) => value === all.values[i]);

  // One time axis for both charts: the longer run's.
  const span = Math.max(one.recording.seconds, all.recording.seconds);
  mkdirSync(out, { recursive: true });
  for (const { recording, title, chart } of [one, all])
    writeFileSync(chart, renderLoadChart(recording, title, { seconds: span }));

  const rows = [
    ['', 'process (s)', 'run (s)', 'machine busy', 'speed-up', 'results equal'],
    ...[one, all].map((r) => [
      r.label,
      r.seconds.toFixed(2),
      r.recording.seconds.toFixed(2),
      `${Math.round(machineBusy(r.recording) * 100)}%`,
      `${(one.seconds / r.seconds).toFixed(2)}x`,
      r === one || same ? 'yes' : 'NO',
    ]),
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
  console.log('\nprocess: start to exit, start-up included (the speed-up is of this).');
  console.log(
    'run: what the charts span, from the workers being ready to the last record written.',
  );
  console.log('\nWhich threads and cores worked, on one time axis (open in a browser):');
  for (const { label, chart } of [one, all])
    console.log(`  ${label}: ${relative(process.cwd(), chart)}`);
  if (!same) process.exitCode = 1;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
