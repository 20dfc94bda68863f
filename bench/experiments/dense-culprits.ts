/**
 * Many culprits at once: 10,000 inputs sleeping 5-50 ms, one in `every` doing `kind` after its
 * await (test/fixtures/culprit.js), 2 workers, concurrency 500, retries 2. Prints how many
 * innocents failed (the guarantee: none) and the wall time (the price of the re-runs).
 *
 *   node --import tsx bench/experiments/dense-culprits.ts [kind=exit] [backend=thread] [every=50]
 */
import { Pool } from '../../dist/index.js';

const kind = process.argv[2] ?? 'exit';
const backend = (process.argv[3] ?? 'thread') as 'thread' | 'process';
const every = Number(process.argv[4] ?? 50);
const n = 10_000;
const pool = new Pool(new URL('../../test/fixtures/culprit.js', import.meta.url), {
  workers: 2,
  concurrency: 500,
  retries: 2,
  backend,
  timeout: kind === 'block' ? 3000 : undefined,
});
const started = performance.now();
const inputs = Array.from({ length: n }, (_, i) => ({
  i,
  ms: 5 + ((i * 7919) % 45),
  bad: i % every === every - 1 ? kind : undefined,
}));
let innocentsFailed = 0;
let culpritsFailed = 0;
for await (const result of pool.stream(inputs)) {
  if (result.ok) continue;
  if (inputs[result.index]!.bad !== undefined) culpritsFailed++;
  else if (++innocentsFailed <= 2) console.error(result.error);
}
await pool.close();
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(JSON.stringify({ kind, backend, every, innocentsFailed, culpritsFailed, seconds }));
