// The benchmark: every contestant x variant x run, each in a fresh child process.
// Usage: node --import tsx bench/run.ts [--runs N] [--variants a,b] [--contestants a,b]
//        [--workers P] [--quick] [--inputs holey|packed]
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { parseBenchArgs } from './args.ts';
import { type Calibration, calibrate, combine } from './calibrate.ts';
import type { ContestantName } from './contestants/index.ts';
import { polyloopOptions } from './contestants/polyloop-options.ts';
import { idealMs } from './ideal.ts';
import { type Outcomes, renderReport, type VariantPlan } from './report.ts';
import { measureScaling } from './scaling.ts';
import { runChild } from './spawn-child.ts';
import { FINE, makeInputs, taskParams, VARIANTS } from './workload.js';

const RESULTS_DIR = new URL('./results/', import.meta.url);
const CHILD_TIMEOUT_MS = 180_000;

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const started = Date.now();
  // The machine may be shared; a high load average explains otherwise odd numbers.
  const loadBefore = loadavg()[0]!;

  const jobs = args.variants.map((variant) => ({
    variant,
    count: args.quick ? VARIANTS[variant] / 10 : VARIANTS[variant],
  }));
  const outcomes: Outcomes = new Map(jobs.map((j) => [j.variant, new Map()]));
  const calibrations: Calibration[] = [];
  const scaling = await measureScaling(args.workers);
  log(
    `CPU scaling: ${args.workers} threads spinning at once run at ${scaling.toFixed(2)}x one thread's speed each`,
  );
  const total = args.runs * jobs.length * args.contestants.length;
  let done = 0;
  // Interleaved (run, variant, contestant) so slow drift of the machine hits everyone alike;
  // the contestant order rotates per run so nobody always goes first.
  for (let run = 0; run < args.runs; run++) {
    // Calibrated again each run, for the same reason; the ideal uses the median.
    calibrations.push(calibrate());
    log(`run ${run + 1}: ${calibrations.at(-1)!.nsPerInt.toFixed(3)} ns per summed integer`);
    for (const { variant, count } of jobs) {
      for (const contestant of rotate(args.contestants, run)) {
        const outcome = await runChild({
          contestant,
          variant,
          count,
          workers: args.workers,
          inputs: args.inputs,
          timeoutMs: CHILD_TIMEOUT_MS,
        });
        const byContestant = outcomes.get(variant)!;
        const list = byContestant.get(contestant) ?? [];
        list[run] = outcome;
        byContestant.set(contestant, list);
        done++;
        const what = outcome.ok
          ? `${(outcome.ms / 1000).toFixed(2)} s, CPU ${(outcome.cpuMs / 1000).toFixed(2)} s`
          : `FAILED ${outcome.error}`;
        log(`[${done}/${total}] run ${run + 1} ${variant} ${contestant}: ${what}`);
      }
    }
  }

  const cal = combine(calibrations);
  const plans: VariantPlan[] = jobs.map(({ variant, count }) => ({
    variant,
    count,
    ideal1: idealMs(variant, count, cal.nsPerInt, 1),
    idealP: idealMs(variant, count, cal.nsPerInt, args.workers),
    ints: makeInputs(variant, count).reduce((sum, input) => sum + taskParams(input).n, 0),
  }));
  const machine = [
    '# polyloop benchmark',
    '',
    `- Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${process.platform}/${process.arch}`,
    `- Node ${process.version}; P = ${args.workers} workers; ${args.runs} runs (medians)` +
      `${args.quick ? '; **quick** (1/10 of the tasks)' : ''}; input array ${args.inputs}` +
      (args.inputs === 'holey'
        ? ' (`new Array(n)` filled: polyloop sends its slices packed)'
        : ' (pushed)'),
    `- polyloop options: \`${describe(polyloopOptions)}\` (+ workers)`,
    `- Calibration (CPU time, median of one per run): ${cal.nsPerInt.toFixed(3)} ns per summed ` +
      `integer; a tiny task called alone (${range('tiny')} integers) costs ` +
      `${cal.taskUs.tiny.toFixed(2)} µs of CPU on average, a tiny10 task (${range('tiny10')}) ` +
      `${cal.taskUs.tiny10.toFixed(2)} µs`,
    `- CPU scaling: ${args.workers} threads spinning side by side each run at ${scaling.toFixed(2)}x ` +
      'the speed of one alone (ideal(P) assumes 1.00)',
    `- Date: ${new Date().toISOString()}; total bench time ${((Date.now() - started) / 60_000).toFixed(1)} min`,
    `- Load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${loadavg()[0]!.toFixed(2)}`,
  ];
  const report = renderReport(
    { machine, plans, contestants: args.contestants, nsPerInt: cal.nsPerInt },
    outcomes,
  );
  process.stdout.write(report);
  await mkdir(RESULTS_DIR, { recursive: true });
  // Write then rename, so an interrupted run never leaves a half-written latest.md.
  const tmp = new URL('latest.md.tmp', RESULTS_DIR);
  await writeFile(tmp, report);
  await rename(tmp, new URL('latest.md', RESULTS_DIR));
  log('wrote bench/results/latest.md');
}

// JSON.stringify would print Infinity (an unbounded window) as null.
function describe(options: object): string {
  return JSON.stringify(options, (_key, value) => (value === Infinity ? 'Infinity' : value));
}

function range(variant: keyof typeof FINE): string {
  const { min, max } = FINE[variant];
  return `${min.toLocaleString('en-US')}–${max.toLocaleString('en-US')}`;
}

function rotate(list: readonly ContestantName[], by: number): ContestantName[] {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
