import type { ContestantName } from './contestants/index.ts';
import { fineTables } from './report-fine.ts';
import type { ChildOutcome } from './spawn-child.ts';
import { median } from './stats.ts';
import { isFine, type VariantName } from './workload.js';

export interface VariantPlan {
  readonly variant: VariantName;
  readonly count: number;
  /** Ideal makespans in ms on 1 core and on P cores. */
  readonly ideal1: number;
  readonly idealP: number;
  /** Integers the variant's tasks sum in all, for CPU per integer. */
  readonly ints: number;
}

/** outcomes.get(variant).get(contestant)[run] */
export type Outcomes = Map<VariantName, Map<ContestantName, ChildOutcome[]>>;

export interface Cell {
  readonly text: string;
  /** Failures and result mismatches, for the notes under the table. */
  readonly problems: string[];
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** One table cell: median normalized ratio (speed-up for tiny, tiny10), median seconds, ✓/✗. */
export function cell(plan: VariantPlan, runs: ChildOutcome[], baseline: ChildOutcome[]): Cell {
  const problems: string[] = [];
  const reference = baseline.find((o) => o.ok)?.checksum;
  const times: number[] = [];
  const ratios: number[] = [];
  const speedups: number[] = [];
  runs.forEach((o, r) => {
    if (!o.ok) {
      problems.push(`run ${r + 1}: ${o.error}`);
      return;
    }
    if (reference !== undefined && o.checksum !== reference) {
      problems.push(`run ${r + 1}: results ${o.checksum} differ from one-loop's ${reference}`);
    }
    times.push(o.ms);
    // Pair with the same run's one-loop time so machine drift cancels out.
    const base = baseline[r];
    if (base?.ok) {
      ratios.push(o.ms / plan.idealP / (base.ms / plan.ideal1));
      speedups.push(base.ms / o.ms);
    }
  });
  const mark = problems.length === 0 && reference !== undefined ? '✓' : '✗';
  if (times.length === 0) return { text: `✗ failed`, problems };
  const t = median(times);
  const text = isFine(plan.variant)
    ? `${s(t)}, ${median(speedups).toFixed(2)}x ${mark}`
    : `${median(ratios).toFixed(2)} (${s(t)}) ${mark}`;
  return { text, problems };
}

export interface ReportHeader {
  readonly machine: string[];
  readonly plans: VariantPlan[];
  readonly contestants: ContestantName[];
  /** The calibration's ns per summed integer, for the per-task table's check of spin()'s speed. */
  readonly nsPerInt: number;
}

/** The Markdown table: rows contestants, columns variants, plus the ideal times. */
export function renderReport(header: ReportHeader, outcomes: Outcomes): string {
  const { plans, contestants } = header;
  const lines = [...header.machine, ''];
  lines.push(
    'Cells: **ratio** = (time / ideal(P)) / (one-loop time / ideal(1)), median over runs, lower is',
    'better: 1.00 means the contestant gets as close to the P-core ideal as one event loop gets to the',
    '1-core ideal. Median wall time in parentheses. `tiny`, `tiny10` (no I/O): median time and',
    'speed-up vs one-loop.',
    "✓ = ordered results equal one-loop's in every run.",
    '',
  );
  lines.push(`| contestant | ${plans.map((p) => `${p.variant} (${p.count})`).join(' | ')} |`);
  lines.push(`|---|${plans.map(() => '---').join('|')}|`);
  const notes: string[] = [];
  for (const c of contestants) {
    const cells = plans.map((plan) => {
      const byContestant = outcomes.get(plan.variant)!;
      const result = cell(plan, byContestant.get(c) ?? [], byContestant.get('one-loop') ?? []);
      for (const p of result.problems) notes.push(`- ${c} / ${plan.variant}: ${p}`);
      if (c === 'one-loop' && !isFine(plan.variant)) {
        // Its own ratio is ideal(1)/ideal(P) by construction; show how close it got to ideal(1).
        const ms = median((byContestant.get(c) ?? []).filter((o) => o.ok).map((o) => o.ms));
        return `ref: ${(ms / plan.ideal1).toFixed(2)}× ideal(1) (${s(ms)})`;
      }
      return result.text;
    });
    lines.push(`| ${c} | ${cells.join(' | ')} |`);
  }
  lines.push(`| *ideal(P)* | ${plans.map((p) => s(p.idealP)).join(' | ')} |`);
  lines.push(`| *ideal(1)* | ${plans.map((p) => s(p.ideal1)).join(' | ')} |`);
  if (contestants.includes('greedy')) lines.push('', ...greedyTable(header, outcomes));
  const fine = fineTables(plans, contestants, outcomes, header.nsPerInt);
  if (fine.length > 0) lines.push('', ...fine);
  if (notes.length > 0) lines.push('', '**Problems:**', '', ...notes);
  return `${lines.join('\n')}\n`;
}

/**
 * Each contestant's time divided by greedy's in the same run (median over runs): greedy is the
 * ideal schedule executed on the same threads at the same moment, so this ratio leaves out how
 * fast the cores happened to run, which the ideal-based ratio cannot.
 */
function greedyTable(header: ReportHeader, outcomes: Outcomes): string[] {
  const { plans, contestants } = header;
  const lines = [
    "Against the greedy reference: time / greedy's time in the same run, median over runs (1.00 =",
    'as fast as the ideal schedule run for real on these threads; one-loop uses one core).',
    '',
    `| contestant | ${plans.map((p) => p.variant).join(' | ')} |`,
    `|---|${plans.map(() => '---').join('|')}|`,
  ];
  for (const c of contestants) {
    if (c === 'greedy') continue;
    const cells = plans.map((plan) => {
      const byContestant = outcomes.get(plan.variant)!;
      const mine = byContestant.get(c) ?? [];
      const greedy = byContestant.get('greedy') ?? [];
      const ratios: number[] = [];
      mine.forEach((o, r) => {
        const g = greedy[r];
        if (o.ok && g?.ok) ratios.push(o.ms / g.ms);
      });
      return ratios.length === 0 ? '—' : median(ratios).toFixed(2);
    });
    lines.push(`| ${c} | ${cells.join(' | ')} |`);
  }
  return lines;
}
