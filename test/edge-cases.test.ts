import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { Pool, PoolClosedError, TimeoutError } from '../dist/index.js';
import { type ControlInput, cells, fixture } from './helpers.ts';

describe('edge cases found in review', () => {
  it('a stream over a generator ends once its inputs settle, even if a timed-out task never does', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 1, concurrency: 1, timeout: 50 });
    try {
      const shared = cells();
      function* inputs(): Generator<ControlInput> {
        yield { op: 'block', cells: shared, slot: 0, value: 'never' };
      }
      const results = [];
      for await (const result of pool.stream(inputs())) results.push(result);
      assert.equal(results.length, 1);
      assert.ok(results[0]?.ok === false && results[0].error instanceof TimeoutError);
    } finally {
      await pool.destroy();
    }
  });

  it("return() ends a stream's pending next()", async () => {
    const pool = new Pool(fixture('control.js'), { workers: 1 });
    try {
      const shared = cells();
      const stream = pool.stream([
        { op: 'block', cells: shared, slot: 0, value: 1 } as ControlInput,
      ]);
      const pending = stream.next();
      await stream.return?.();
      assert.deepEqual(await pending, { done: true, value: undefined });
    } finally {
      await pool.destroy();
    }
  });

  it('ready() rejects when the pool is destroyed while workers start', async () => {
    const pool = new Pool(fixture('echo.js'), { workers: 2 });
    const ready = pool.ready().then(
      () => 'resolved',
      (e: unknown) => e,
    );
    await pool.destroy();
    assert.ok((await ready) instanceof PoolClosedError);
  });

  it('works when node runs with flags worker threads refuse (--expose-gc, heap size)', () => {
    const script = `
      import { Pool } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const pool = new Pool(${JSON.stringify(fixture('echo.js').href)}, { workers: 2 });
      console.log(JSON.stringify(await pool.map([1, 2, 3])));
      await pool.close();
    `;
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--max-old-space-size=512', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
    );
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), '[1,2,3]');
  });
});
