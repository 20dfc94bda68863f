import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool, TaskError, TimeoutError } from '../dist/index.js';
import { type ControlInput, fixture } from './helpers.ts';

const COUNT = 10_000;

/** What each input is planned to do; kills are random per attempt, inside the task. */
function fateOf(i: number): 'ok' | 'throw' | 'hang' {
  if (i % 2000 === 1234) return 'hang';
  if (i % 101 === 7) return 'throw';
  return 'ok';
}

for (const backend of ['thread', 'process'] as const) {
  // Both backends know which task hung a worker (threads through shared memory, processes
  // through their watchdog thread), so only the hanging inputs time out.
  describe(`chaos, backend: '${backend}'`, () => {
    it(`settles each of ${COUNT} inputs exactly once through kills, hangs and throws`, async () => {
      const workers = 2;
      const pool = new Pool(fixture('control.js'), {
        workers,
        backend,
        concurrency: 64,
        timeout: 3000,
        retries: 20,
      });
      try {
        const inputs: ControlInput[] = Array.from({ length: COUNT }, (_, i) => ({
          op: 'chaos',
          i,
          fate: fateOf(i),
          killOneIn: 1000,
        }));
        const seen = new Uint8Array(COUNT);
        let settled = 0;
        for await (const result of pool.stream(inputs)) {
          settled++;
          assert.equal(seen[result.index], 0, `input ${result.index} settled twice`);
          seen[result.index] = 1;
          const fate = fateOf(result.index);
          if (fate === 'ok') {
            assert.ok(
              result.ok,
              `input ${result.index} failed: ${!result.ok && result.error.message}`,
            );
            assert.equal(result.value, result.index * 2);
          } else if (fate === 'throw') {
            assert.ok(!result.ok && result.error instanceof TaskError, `input ${result.index}`);
          } else {
            assert.ok(!result.ok && result.error instanceof TimeoutError, `input ${result.index}`);
          }
        }
        assert.equal(settled, COUNT);
        // The pool still has all its workers: each serves part of a fresh batch.
        await pool.ready();
        const pids = new Set(
          await pool.map(Array.from({ length: 200 }, (): ControlInput => ({ op: 'pid' }))),
        );
        const ids = new Set(
          (
            (await pool.map(
              Array.from({ length: 200 }, (): ControlInput => ({ op: 'setup-info' })),
            )) as Array<{ workerId: number }>
          ).map((info) => info.workerId),
        );
        assert.equal(backend === 'process' ? pids.size : ids.size, workers);
        // Each of the 5 hangs cost its worker: ids 0 and 1, then at least 5 replacements.
        assert.ok(Math.max(...ids) >= workers + 4, `worker ids ${[...ids]}`);
      } finally {
        await pool.close();
      }
    });
  });
}
