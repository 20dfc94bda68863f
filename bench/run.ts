// The benchmark: every contestant x variant x run, each in a fresh child process.
// Usage: node --import tsx bench/run.ts [--runs N] [--variants a,b] [--contestants a,b]
//        [--workers P] [--quick]
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { parseBenchArgs } from './args.ts';
import { calibrate } from './calibrate.ts';
import type { ContestantName } from './contestants/index.ts';
import { idealMs } from './ideal.ts';
import { type Outcomes, renderReport, type VariantPlan } from './report.ts';
import { runChild } from './spawn-child.ts';
import { TINY_N, VARIANTS } from './workload.js';

const RESULTS_DIR = new URL('./results/', import.meta.url);
const CHILD_TIMEOUT_MS = 180_000;

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const started = Date.now();

  log('calibrating...');
  const cal = calibrate();
  const plans: VariantPlan[] = args.variants.map((variant) => {
    const count = args.quick ? VARIANTS[variant] / 10 : VARIANTS[variant];
    return {
      variant,
      count,
      ideal1: idealMs(variant, count, cal.nsPerInt, 1),
      idealP: idealMs(variant, count, cal.nsPerInt, args.workers),
    };
  });

  const outcomes: Outcomes = new Map(plans.map((p) => [p.variant, new Map()]));
  const total = args.runs * plans.length * args.contestants.length;
  let done = 0;
  // Interleaved (run, variant, contestant) so slow drift of the machine hits everyone alike;
  // the contestant order rotates per run so nobody always goes first.
  for (let run = 0; run < args.runs; run++) {
    for (const plan of plans) {
      const order = rotate(args.contestants, run);
      for (const contestant of order) {
        const outcome = await runChild({
          contestant,
          variant: plan.variant,
          count: plan.count,
          workers: args.workers,
          timeoutMs: CHILD_TIMEOUT_MS,
        });
        const byContestant = outcomes.get(plan.variant)!;
        const list = byContestant.get(contestant) ?? [];
        list[run] = outcome;
        byContestant.set(contestant, list);
        done++;
        const what = outcome.ok ? `${(outcome.ms / 1000).toFixed(2)} s` : `FAILED ${outcome.error}`;
        log(`[${done}/${total}] run ${run + 1} ${plan.variant} ${contestant}: ${what}`);
      }
    }
  }

  const machine = [
    '# polyloop benchmark',
    '',
    `- Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${process.platform}/${process.arch}`,
    `- Node ${process.version}; P = ${args.workers} workers; ${args.runs} runs (medians)` +
      `${args.quick ? '; **quick** (1/10 of the tasks)' : ''}`,
    `- Calibration: ${cal.nsPerInt.toFixed(3)} ns per summed integer; a tiny task (${TINY_N} ` +
      `integers) costs ${cal.tinyTaskUs.toFixed(2)} µs of CPU`,
    `- Date: ${new Date().toISOString()}; total bench time ${((Date.now() - started) / 60_000).toFixed(1)} min`,
  ];
  const report = renderReport({ machine, plans, contestants: args.contestants }, outcomes);
  process.stdout.write(report);
  await mkdir(RESULTS_DIR, { recursive: true });
  // Write then rename, so an interrupted run never leaves a half-written latest.md.
  const tmp = new URL('latest.md.tmp', RESULTS_DIR);
  await writeFile(tmp, report);
  await rename(tmp, new URL('latest.md', RESULTS_DIR));
  log('wrote bench/results/latest.md');
}

function rotate(list: readonly ContestantName[], by: number): ContestantName[] {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
