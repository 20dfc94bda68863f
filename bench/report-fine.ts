// The per-task table (issue 19): on the fine-grained variants, polyloop against the lean design's
// floor and the one event loop, in CPU and wall time, with the issue's targets.
import type { ContestantName } from './contestants/index.ts';
import type { Outcomes, VariantPlan } from './report.ts';
import type { ChildOutcome } from './spawn-child.ts';
import { median } from './stats.ts';
import { type FineVariant, isFine } from './workload.js';

type Ok = Extract<ChildOutcome, { ok: true }>;

/** Issue 19's targets for polyloop on this 2-core machine. */
const TARGETS: Record<FineVariant, { cpuVsLean: number; speedUp: number }> = {
  tiny: { cpuVsLean: 1.1, speedUp: 1.0 },
  tiny10: { cpuVsLean: 1.05, speedUp: 1.7 },
};

/** polyloop's rows: the thread backend, which the targets are for, and the process backend. */
const POLYLOOPS: readonly ContestantName[] = ['polyloop', 'polyloop-process'];

/** f(mine, theirs) for every run where both succeeded: same run index = same moment, paired. */
function paired(mine: ChildOutcome[], theirs: ChildOutcome[], f: (a: Ok, b: Ok) => number) {
  const values: number[] = [];
  mine.forEach((a, r) => {
    const b = theirs[r];
    if (a.ok && b?.ok) values.push(f(a, b));
  });
  return values;
}

/** Median, with the range over runs when there are several. */
function spread(values: readonly number[]): string {
  if (values.length === 0) return '—';
  const m = median(values).toFixed(2);
  if (values.length === 1) return m;
  return `${m} (${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)})`;
}

function check(values: readonly number[], ok: (m: number) => boolean, target: string): string {
  if (values.length === 0) return `${target} ✗`;
  return `${target} ${ok(median(values)) ? '✓' : '✗'}`;
}

const cpuRatio = (a: Ok, b: Ok) => a.cpuMs / b.cpuMs;
const wallRatio = (a: Ok, b: Ok) => a.ms / b.ms;

/** The per-task tables, or nothing when no fine-grained variant ran or lean did not. */
export function fineTables(
  plans: readonly VariantPlan[],
  contestants: readonly ContestantName[],
  outcomes: Outcomes,
  nsPerInt: number,
): string[] {
  const fine = plans.filter((p) => isFine(p.variant));
  if (fine.length === 0 || !contestants.includes('lean')) return [];
  const runs = (p: VariantPlan, c: ContestantName) => outcomes.get(p.variant)?.get(c) ?? [];

  const lines = [
    '### Per-task cost: polyloop against the lean design (issue 19)',
    '',
    'Fine-grained variants only. `lean` is the floor: chunks of 256 inputs posted round-robin,',
    'each worker runs a chunk at once and answers once per event-loop turn, nothing else. CPU = all',
    "threads of the contestant's process (and its child processes) over the timed run. Ratios are",
    'paired (same run index, so the same moment of the machine): median, range over runs in',
    'parentheses. Speed-up = one-loop wall / the other wall.',
    '',
    '| workload | contestant | CPU / lean | target | wall / lean | speed-up over one loop | target | lean over one loop |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const plan of fine) {
    const lean = runs(plan, 'lean');
    const oneLoop = runs(plan, 'one-loop');
    const leanSpeedUp = spread(paired(oneLoop, lean, wallRatio));
    for (const c of POLYLOOPS) {
      if (!contestants.includes(c)) continue;
      const mine = runs(plan, c);
      const cpu = paired(mine, lean, cpuRatio);
      const speedUp = paired(oneLoop, mine, wallRatio);
      const target = TARGETS[plan.variant as FineVariant];
      // The targets are the thread backend's; the process backend's row is for comparison.
      const targeted = c === 'polyloop';
      lines.push(
        `| ${plan.variant} | ${c} | ${spread(cpu)} | ${
          targeted
            ? check(cpu, (m) => m <= target.cpuVsLean, `≤ ${target.cpuVsLean.toFixed(2)}`)
            : '—'
        } | ${spread(paired(mine, lean, wallRatio))} | ${spread(speedUp)} | ${
          targeted
            ? check(speedUp, (m) => m >= target.speedUp, `≥ ${target.speedUp.toFixed(2)}`)
            : '—'
        } | ${leanSpeedUp} |`,
      );
    }
  }

  lines.push(
    '',
    'Medians per contestant (main thread: Linux /proc schedstat):',
    '',
    '| workload | contestant | wall | CPU, all threads | main thread CPU | CPU per task |',
    '|---|---|---|---|---|---|',
  );
  for (const plan of fine) {
    for (const c of contestants) {
      const ok = runs(plan, c).filter((o): o is Ok => o.ok);
      if (ok.length === 0) continue;
      const cpu = median(ok.map((o) => o.cpuMs));
      const mains = ok.flatMap((o) => (o.mainCpuMs === null ? [] : [o.mainCpuMs]));
      const main = mains.length === 0 ? '—' : `${Math.round(median(mains))} ms`;
      lines.push(
        `| ${plan.variant} | ${c} | ${Math.round(median(ok.map((o) => o.ms)))} ms | ` +
          `${Math.round(cpu)} ms | ${main} | ${((cpu * 1000) / plan.count).toFixed(2)} µs |`,
      );
    }
  }
  lines.push(...spinCheck(fine, contestants, outcomes, nsPerInt));
  return lines;
}

/**
 * Each contestant's CPU per summed integer, from its CPU on tiny10 minus tiny in the same run (the
 * same task count, so the per-task costs cancel): near the calibration's when the task's loop runs
 * at full speed in that contestant's threads (workload.js explains the slow inlined copy this
 * guards against); above it when a design's cost grows with the task's length.
 */
function spinCheck(
  fine: readonly VariantPlan[],
  contestants: readonly ContestantName[],
  outcomes: Outcomes,
  nsPerInt: number,
): string[] {
  const tiny = fine.find((p) => p.variant === 'tiny');
  const tiny10 = fine.find((p) => p.variant === 'tiny10');
  if (!tiny || !tiny10 || tiny.count !== tiny10.count) return [];
  const parts: string[] = [];
  // Only the designs this table compares: a peer's per-task cost varies too much between the two
  // runs for the difference to mean anything.
  const compared: readonly ContestantName[] = ['one-loop', 'lean', ...POLYLOOPS];
  for (const c of contestants.filter((name) => compared.includes(name))) {
    const a = outcomes.get('tiny')?.get(c) ?? [];
    const b = outcomes.get('tiny10')?.get(c) ?? [];
    const ns = paired(b, a, (x, y) => ((x.cpuMs - y.cpuMs) * 1e6) / (tiny10.ints - tiny.ints));
    if (ns.length > 0) parts.push(`${c} ${median(ns).toFixed(3)}`);
  }
  if (parts.length === 0) return [];
  return [
    '',
    `CPU per summed integer, from tiny10's CPU minus tiny's (paired), ns: ${parts.join(', ')} ` +
      `(calibration, spin() alone: ${nsPerInt.toFixed(3)}).`,
  ];
}
