import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool, type PoolStats } from '../dist/index.js';
import { type ControlInput, cells, fixture, gatedInputs, reach, release } from './helpers.ts';

/** Resolves with the first stats() snapshot that satisfies `condition` (workers report every ~100 ms). */
async function statsWhen(pool: Pool, condition: (stats: PoolStats) => boolean): Promise<PoolStats> {
  for (;;) {
    const stats = pool.stats();
    if (condition(stats)) return stats;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('pool.stats()', () => {
  it('counts done, failed, retried and in flight, and the run time percentiles of every task', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 2 });
    try {
      await pool.ready();
      const empty = pool.stats();
      // The limit's start depends on the machine's open-file limit: a positive count of tasks.
      assert.ok(empty.limit >= 2 && empty.limit <= 2 * 1024, `limit ${empty.limit}`);
      assert.deepEqual(
        { ...empty, limit: 0, workers: empty.workers.map((w) => w.state) },
        {
          done: 0,
          failed: 0,
          retried: 0,
          retriedErrors: 0,
          inFlight: 0,
          limit: 0,
          queued: 0,
          workers: ['ready', 'ready'],
          runTime: { count: 0, p50: 0, p99: 0 },
          waitTime: { count: 0, p50: 0, p99: 0 },
        },
      );
      const shared = cells();
      const gated = pool.map(gatedInputs(10, shared));
      await reach(shared, 0, 10);
      const running = pool.stats();
      assert.equal(running.inFlight, 10);
      assert.equal(
        running.workers.reduce((sum, w) => sum + w.running, 0),
        10,
      );
      release(shared, 1);
      await gated;
      // Workers report task times every ~100 ms; run times are a sample (the first task of each
      // batch, then one in 8), wait times cover every task.
      const timed = await statsWhen(pool, (s) => s.waitTime.count >= 10 && s.runTime.count >= 1);
      assert.equal(timed.waitTime.count, 10);
      assert.ok(timed.runTime.count >= 1 && timed.runTime.count <= 10);
      // The gated tasks ran until released: far longer than a microsecond.
      assert.ok(timed.runTime.p50 > 0.001 && timed.runTime.p99 >= timed.runTime.p50);

      await assert.rejects(pool.run({ op: 'throw' }), { code: 'ERR_POLYLOOP_TASK_FAILED' });
      // Alone on its worker, so no bystander is re-run with it.
      const crash = cells();
      assert.equal(
        await pool.run({ op: 'exit-first-time', cells: crash, slot: 0, value: 'again' }),
        'again',
      );
      const after = pool.stats();
      assert.equal(after.done, 11);
      assert.equal(after.failed, 1);
      assert.equal(after.retried, 1);
      assert.equal(after.inFlight, 0);
      assert.equal(after.workers.length, 2, 'the dead worker was replaced');
    } finally {
      await pool.close();
    }
  });

  it('shows each worker busy while its tasks keep its loop busy, and idle afterwards', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 2 });
    try {
      await pool.ready();
      const shared = cells();
      const busy: ControlInput[] = Array.from({ length: 2 }, (_, value) => ({
        op: 'busy-until',
        cells: shared,
        slot: 0,
        value,
      }));
      const done = pool.map(busy);
      const loaded = await statsWhen(pool, (s) => s.workers.every((w) => w.utilization > 0.8));
      assert.deepEqual(
        loaded.workers.map((w) => w.running),
        [1, 1],
      );
      release(shared, 0);
      await done;
      const idle = await statsWhen(pool, (s) => s.workers.every((w) => w.utilization < 0.2));
      assert.equal(idle.inFlight, 0);
    } finally {
      await pool.close();
    }
  });
});
