// One memory pass in this fresh process (maxRSS is a per-process peak, so one pass per process).
// Usage: node --import tsx bench/memory/memory-child.ts <inputCount> <ordered|unordered>
import { performance } from 'node:perf_hooks';
import { Pool } from '../../dist/index.js';
import { polyloopOptions } from '../contestants/polyloop-options.ts';
import { exitWhenDone } from '../exit-when-done.ts';
import type { TaskInput } from '../workload.js';

export interface MemoryResult {
  readonly size: number;
  readonly ordered: boolean;
  readonly results: number;
  readonly failed: number;
  readonly missing: number;
  readonly duplicates: number;
  /** Results yielded out of input order (must be 0 when ordered). */
  readonly outOfOrder: number;
  readonly ms: number;
  /** Peak RSS after creating the pool, before any input, to separate the fixed cost. */
  readonly baseRssKiB: number;
  readonly maxRssKiB: number;
}

// Inputs are made lazily; holding 10M of them at once is exactly what the test must not need.
function* inputs(size: number): Generator<TaskInput> {
  for (let i = 0; i < size; i++) yield { i, v: 'tiny', count: size };
}

async function main(): Promise<void> {
  const size = Number(process.argv[2]);
  const ordered = process.argv[3] === 'ordered';
  const pool = new Pool(new URL('../tasks/fake-crawler.js', import.meta.url), polyloopOptions);
  const baseRssKiB = process.resourceUsage().maxRSS;
  // A bitmap: 1.25 MB for 10M indexes, where a Set would cost hundreds of MB and skew the RSS.
  const seen = new Uint8Array(Math.ceil(size / 8));
  let results = 0;
  let failed = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  const t0 = performance.now();
  for await (const r of pool.stream(inputs(size), { ordered })) {
    if (r.index !== results) outOfOrder++;
    results++;
    if (!r.ok) failed++;
    const byte = r.index >>> 3;
    const bit = 1 << (r.index & 7);
    if ((seen[byte]! & bit) !== 0) duplicates++;
    seen[byte] = seen[byte]! | bit;
  }
  const ms = performance.now() - t0;
  await pool.close();
  let present = 0;
  for (let i = 0; i < size; i++) if ((seen[i >>> 3]! & (1 << (i & 7))) !== 0) present++;
  const result: MemoryResult = {
    size,
    ordered,
    results,
    failed,
    missing: size - present,
    duplicates,
    outOfOrder: ordered ? outOfOrder : 0,
    ms,
    baseRssKiB,
    maxRssKiB: process.resourceUsage().maxRSS,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

exitWhenDone(main);
