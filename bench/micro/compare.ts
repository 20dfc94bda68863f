/**
 * A change against another build, on one micro-benchmark: fresh processes alternate between this
 * build's `dist/` and `--against DIR` (e.g. `dist/` of a git worktree at the parent commit), each
 * measuring its own cost above the floor in the same process; prints the median of the paired
 * differences (each build in its own processes: no shared heap or JIT feedback). DIR must sit in
 * an ES module package (a checkout): a dist/ copied to /tmp loads as CommonJS through tsx, with a
 * getter call per imported binding, and measured 70 ns per task slower with identical code.
 *
 * Usage: node --import tsx bench/micro/compare.ts --bench worker|main --against DIR
 *        [--runs 5] [-- flags of the benchmark]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from '../stats.ts';

const { values: flags, positionals } = parseArgs({
  options: {
    bench: { type: 'string', default: 'worker' },
    against: { type: 'string' },
    runs: { type: 'string', default: '5' },
  },
  allowPositionals: true,
});
if (!flags.against) throw new TypeError('--against DIR: the dist/ of the build to compare with');
if (flags.bench !== 'worker' && flags.bench !== 'main') throw new TypeError('--bench worker|main');
const script = fileURLToPath(new URL(`./${flags.bench}.ts`, import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
const builds = { this: `${root}dist`, against: flags.against };

function measure(dist: string): { extra: number; cost: number } {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', script, '--dist', dist, '--json', ...positionals],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').at(-1)!) as { extra: number; cost: number };
}

const results = { this: [] as number[], against: [] as number[] };
for (let run = 0; run < Number(flags.runs); run++) {
  // Alternate which goes first, so a drift of the machine hits both alike.
  const order = run % 2 === 0 ? (['this', 'against'] as const) : (['against', 'this'] as const);
  for (const build of order) results[build].push(measure(builds[build]).extra);
  process.stderr.write('.');
}
process.stderr.write('\n');
const diff = median(results.against.map((x, i) => x - results.this[i]!));
console.log(
  `${flags.bench}: above the floor, this build ${median(results.this).toFixed(0)} ns per task, ` +
    `${flags.against} ${median(results.against).toFixed(0)}; against - this: ${diff.toFixed(0)} ns (paired)`,
);
