// The seed's experiment: 10,000 fake-crawler tasks on one event loop vs polyloop on every core.
// Each side runs in its own fresh process, timed from first submission to last result.
import { availableParallelism } from 'node:os';
import { type ChildOutcome, runChild } from './spawn-child.ts';
import { VARIANTS } from './workload.js';

const COUNT = VARIANTS.uniform;
const workers = availableParallelism();

async function time(contestant: string, label: string): Promise<ChildOutcome> {
  process.stderr.write(`  running ${label}...\n`);
  return runChild({ contestant, variant: 'uniform', count: COUNT, workers, timeoutMs: 25_000 });
}

async function main(): Promise<void> {
  console.log(
    `${COUNT.toLocaleString('en-US')} fake-crawler tasks (sleep 0.2-1 s, then sum 100k-500k ints)\n`,
  );
  const one = await time('one-loop', 'one event loop');
  const poly = await time('polyloop', `polyloop, ${workers} workers`);
  if (!one.ok) throw new Error(`one event loop failed: ${one.error}`);

  const rows: string[][] = [['contestant', 'time (s)', 'speedup', 'results equal']];
  rows.push(['one event loop', (one.ms / 1000).toFixed(2), '1.00x', 'yes']);
  if (poly.ok) {
    const same = poly.checksum === one.checksum ? 'yes' : 'NO';
    rows.push([
      `polyloop (${workers} workers)`,
      (poly.ms / 1000).toFixed(2),
      `${(one.ms / poly.ms).toFixed(2)}x`,
      same,
    ]);
  } else {
    rows.push([`polyloop (${workers} workers)`, 'failed', '-', poly.error]);
  }
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => r[k]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, k) => c.padEnd(widths[k]!))
      .join('  ')
      .trimEnd();
  for (const r of rows) console.log(line(r));
  if (!poly.ok || poly.checksum !== one.checksum) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
