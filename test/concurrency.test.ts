import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AbortError, Pool } from '../dist/index.js';
import { type ControlInput, cells, fixture, gatedInputs, reach, release } from './helpers.ts';

describe('concurrency and backpressure', () => {
  it('runs many tasks at once on a single worker', async () => {
    // 200 tasks that can only finish once all 200 have started: they must overlap on the one loop.
    const pool = new Pool(fixture('control.js'), { workers: 1, concurrency: 200 });
    try {
      const shared = cells();
      const inputs: ControlInput[] = Array.from({ length: 200 }, () => ({
        op: 'rendezvous',
        cells: shared,
        n: 200,
      }));
      const workerIds = await pool.map(inputs);
      assert.equal(Atomics.load(shared, 0), 200);
      assert.deepEqual(new Set(workerIds), new Set([0]));
    } finally {
      await pool.close();
    }
  });

  it('with unbounded concurrency, grows its window until waiting tasks all run at once', async () => {
    // 3,000 tasks that only finish once all have started: more than the starting window, so the
    // pool must see its worker idle with a full window and widen it.
    const pool = new Pool(fixture('control.js'), {
      workers: 1,
      concurrency: Number.POSITIVE_INFINITY,
    });
    try {
      const shared = cells();
      const inputs: ControlInput[] = Array.from({ length: 3000 }, () => ({
        op: 'rendezvous',
        cells: shared,
        n: 3000,
      }));
      await pool.map(inputs);
      assert.equal(Atomics.load(shared, 0), 3000);
    } finally {
      await pool.close();
    }
  });

  it('grows its window just the same for an async source (its read-ahead takes no slots)', {
    timeout: 60_000,
  }, async () => {
    // The same rendezvous fed by an async generator. Were the inputs it prefetched counted against
    // the window, it would never look full, never grow, and the rendezvous would never complete.
    const pool = new Pool(fixture('control.js'), {
      workers: 1,
      concurrency: Number.POSITIVE_INFINITY,
    });
    try {
      const shared = cells();
      async function* inputs(): AsyncGenerator<ControlInput> {
        for (let i = 0; i < 3000; i++) yield { op: 'rendezvous', cells: shared, n: 3000 };
      }
      await pool.map(inputs());
      assert.equal(Atomics.load(shared, 0), 3000);
    } finally {
      await pool.close();
    }
  });

  it('never runs more than `concurrency` tasks at once on a worker', async () => {
    // Room for 10 tasks in all; 11 tasks that each count themselves in, then wait at a gate.
    const pool = new Pool(fixture('control.js'), { workers: 2, concurrency: 5 });
    try {
      const shared = cells();
      const inputs = gatedInputs(11, shared);
      const outputs = pool.map(inputs);
      await reach(shared, 0, 10);
      // The 11th would have gone out with the first 10; give its worker time to show it.
      for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(Atomics.load(shared, 0), 10, 'an 11th task started while 10 were running');
      release(shared, 1);
      assert.deepEqual(await outputs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      assert.equal(Atomics.load(shared, 0), 11);
    } finally {
      await pool.close();
    }
  });

  for (const kind of ['sync', 'async'] as const) {
    it(`pulls a lazy ${kind} generator no further ahead than the in-flight window`, async () => {
      const workers = 2;
      const concurrency = 3;
      const window = workers * concurrency;
      const pool = new Pool(fixture('echo.js'), { workers, concurrency });
      try {
        let pulled = 0;
        function* numbers() {
          for (let i = 0; i < 200; i++) {
            pulled++;
            yield i;
          }
        }
        // An async source once read 256 ahead of the window.
        async function* asyncNumbers() {
          yield* numbers();
        }
        let consumed = 0;
        let widest = 0;
        for await (const result of pool.stream(kind === 'sync' ? numbers() : asyncNumbers())) {
          consumed++;
          widest = Math.max(widest, pulled - consumed);
          assert.ok(result.ok);
          // A slow consumer: the generator must wait for it.
          await new Promise((resolve) => setImmediate(resolve));
          assert.ok(pulled - consumed <= window, `pulled ${pulled}, consumed ${consumed}`);
        }
        assert.equal(consumed, 200);
        assert.ok(widest >= concurrency, `the pool never used its window (widest ${widest})`);
      } finally {
        await pool.close();
      }
    });
  }

  it('pulls nothing more from a generator whose own reading aborted the call, and cleans it up', async () => {
    const pool = new Pool(fixture('echo.js'), { workers: 2 });
    try {
      const abort = new AbortController();
      let pulled = 0;
      let cleanedUp = false;
      function* inputs() {
        try {
          for (let i = 0; ; i++) {
            pulled++;
            if (i === 3) abort.abort();
            yield i;
          }
        } finally {
          cleanedUp = true;
        }
      }
      await assert.rejects(pool.map(inputs(), { signal: abort.signal }), AbortError);
      assert.equal(pulled, 4);
      assert.equal(cleanedUp, true);
    } finally {
      await pool.close();
    }
  });

  it('stops pulling and runs the generator cleanup when the consumer breaks out', async () => {
    const pool = new Pool(fixture('echo.js'), { workers: 2, concurrency: 4 });
    try {
      let pulled = 0;
      let cleanedUp = false;
      function* inputs() {
        try {
          for (let i = 0; i < 1_000_000; i++) {
            pulled++;
            yield i;
          }
        } finally {
          cleanedUp = true;
        }
      }
      let seen = 0;
      for await (const _ of pool.stream(inputs())) {
        if (++seen === 20) break;
      }
      assert.equal(cleanedUp, true);
      assert.ok(pulled <= 20 + 8, `pulled ${pulled}`);
      assert.equal(await pool.run(42), 42);
    } finally {
      await pool.close();
    }
  });

  it('spreads a large map over every worker', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 2, concurrency: 50 });
    try {
      const shared = cells();
      // 100 tasks that wait for each other: with 50 per worker, both workers must hold 50.
      const inputs: ControlInput[] = Array.from({ length: 100 }, () => ({
        op: 'rendezvous',
        cells: shared,
        n: 100,
      }));
      const workerIds = await pool.map(inputs);
      assert.equal(workerIds.filter((id) => id === 0).length, 50);
      assert.equal(workerIds.filter((id) => id === 1).length, 50);
    } finally {
      await pool.close();
    }
  });
});
