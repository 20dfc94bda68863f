/**
 * Which machine ran how many inputs: enqueue a list, start two `polyloop worker --workers 1`
 * (--until-done) at once, then count each job's `processedBy`.
 *
 *   npm run build && node --import tsx bench/queue/who-ran.ts [--inputs 12000] [--n 2100000] [--chunk 256]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { startRedis } from '../../test/bullmq-redis.ts';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TASK = fileURLToPath(new URL('./queue-task.js', import.meta.url));
const { values } = parseArgs({
  options: {
    inputs: { type: 'string', default: '12000' },
    n: { type: 'string', default: '2100000' },
    chunk: { type: 'string', default: '256' },
    prefetch: { type: 'string' },
  },
});
const inputs = Number(values.inputs);
const dir = mkdtempSync(join(tmpdir(), 'polyloop-who-ran-'));
const redis = await startRedis();
try {
  const file = join(dir, 'in.jsonl');
  writeFileSync(
    file,
    Array.from({ length: inputs }, (_, i) => `{"i":${i},"n":${values.n}}\n`).join(''),
  );
  const target = ['--redis', redis.url, '--queue', 'q'];
  const prefetch = values.prefetch === undefined ? [] : ['--prefetch', values.prefetch];
  const started = performance.now();
  const run = (args: string[]) =>
    new Promise<number>((resolve) => {
      spawn(process.execPath, [CLI, ...args], { stdio: 'inherit' }).once('close', () =>
        resolve((performance.now() - started) / 1000),
      );
    });
  const ends = await Promise.all([
    run(['enqueue', ...target, '-i', file, '--chunk', values.chunk, '-q']),
    run([
      'worker',
      TASK,
      ...target,
      '--workers',
      '1',
      '--until-done',
      '-q',
      '--name',
      'A',
      ...prefetch,
    ]),
    run([
      'worker',
      TASK,
      ...target,
      '--workers',
      '1',
      '--until-done',
      '-q',
      '--name',
      'B',
      ...prefetch,
    ]),
  ]);
  console.log(
    `exits (s): enqueue ${ends[0]!.toFixed(2)}, A ${ends[1]!.toFixed(2)}, B ${ends[2]!.toFixed(2)}`,
  );
  const queue = new Queue('q', { connection: { url: redis.url } });
  const jobs = await queue.getJobs(['completed'], 0, -1);
  const by = new Map<string, { jobs: number; inputs: number }>();
  for (const job of jobs) {
    const who = job.processedBy ?? '?';
    const entry = by.get(who) ?? { jobs: 0, inputs: 0 };
    entry.jobs++;
    entry.inputs += Array.isArray(job.data.indexes) ? job.data.indexes.length : 1;
    by.set(who, entry);
  }
  console.log(Object.fromEntries(by));
  await queue.close();
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
