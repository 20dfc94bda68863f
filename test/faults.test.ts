import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AbortError, Pool, TimeoutError, WorkerCrashedError } from '../dist/index.js';
import {
  type ControlInput,
  cells,
  closeWithin,
  fixture,
  gatedInputs,
  reach,
  release,
} from './helpers.ts';

describe('crashed and hung workers', () => {
  it('retries the tasks of a worker that exits, on a fresh worker', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 1, concurrency: 50 });
    try {
      const shared = cells();
      // 20 bystanders wait at a gate on the same worker while one task kills it.
      const bystanders = gatedInputs(20, shared);
      const outputs = pool.map(bystanders);
      await reach(shared, 0, 20);
      const killer = pool.run({
        op: 'exit-first-time',
        cells: shared,
        slot: 2,
        value: 'second try',
      });
      assert.equal(await killer, 'second try');
      assert.equal(Atomics.load(shared, 2), 2, 'the killer ran exactly twice');
      // The bystanders started again on the new worker: 20 more starts.
      await reach(shared, 0, 40);
      release(shared, 1);
      assert.deepEqual(
        await outputs,
        bystanders.map((_, i) => i),
      );
    } finally {
      await pool.close();
    }
  });

  it("one input that kills its worker every time uses up its own retries, not its bystanders'", async () => {
    const pool = new Pool(fixture('control.js'), { workers: 1, concurrency: 50, retries: 2 });
    try {
      const shared = cells();
      const bystanders = gatedInputs(20, shared);
      const outputs = pool.map(bystanders);
      await reach(shared, 0, 20);
      // It dies in its synchronous part: the pool knows it was this one, three times over.
      const killer = pool.run({ op: 'exit-every-time', cells: shared, slot: 2, code: 7 });
      await assert.rejects(killer, WorkerCrashedError);
      assert.equal(Atomics.load(shared, 2), 3, 'one run plus two retries');
      release(shared, 1);
      assert.deepEqual(
        await outputs,
        bystanders.map((_, i) => i),
      );
    } finally {
      await pool.close();
    }
  });

  it('CPU-bound tasks with a timeout: a busy worker still answers, so none is taken for hung', async () => {
    // 400 tasks of 10 ms of CPU each on one worker, all dealt at once. Started in one turn of its
    // loop, they would hold it for 4 s, past the timeout and the pool's 1 s hang grace, and the
    // pool would replace the worker again and again, no input ever finishing. A worker starts
    // tasks in slices that end after about 10 ms, so it keeps answering.
    const pool = new Pool(fixture('control.js'), { workers: 1, timeout: 500 });
    try {
      const inputs: ControlInput[] = Array.from({ length: 400 }, (_, value) => ({
        op: 'spin-ms',
        ms: 10,
        value,
      }));
      let ok = 0;
      let timedOut = 0;
      const drained = (async () => {
        for await (const result of pool.stream(inputs)) {
          if (result.ok) ok++;
          else if (result.error instanceof TimeoutError) timedOut++;
          else assert.fail(result.error);
        }
        return true;
      })();
      // A bound, not a synchronisation: a livelocked pool fails here instead of hanging the suite.
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), 30_000);
      });
      const finished = await Promise.race([drained, bound]);
      clearTimeout(timer);
      if (!finished) {
        await pool.destroy();
        assert.fail(`still running after 30 s: ${JSON.stringify(pool.stats())}`);
      }
      assert.equal(ok + timedOut, 400);
      assert.ok(ok > 0, 'some tasks ran');
      assert.equal(pool.stats().retried, 0, 'no worker was replaced');
    } finally {
      await pool.close();
    }
  });

  it('a task blocking its worker, then aborted by its caller: the worker is replaced, the others run again', async () => {
    // No timeout anywhere: once the blocker's caller gave up, nothing else would free the worker.
    const pool = new Pool(fixture('control.js'), { workers: 1, concurrency: 50 });
    const shared = cells();
    const bystanders = gatedInputs(5, shared);
    const outputs = pool.map(bystanders);
    await reach(shared, 0, 5);
    const abort = new AbortController();
    const blocker = pool.run(
      { op: 'tick-spin-forever', cells: shared, slot: 2 },
      {
        signal: abort.signal,
      },
    );
    await reach(shared, 2, 1);
    abort.abort();
    await assert.rejects(blocker, AbortError);
    release(shared, 1);
    // A bound, not a synchronisation: a blocked worker left in place keeps the bystanders waiting
    // forever.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'stuck'>((resolve) => {
      timer = setTimeout(() => resolve('stuck'), 20_000);
    });
    const settled = await Promise.race([outputs, bound]);
    clearTimeout(timer);
    if (settled === 'stuck') {
      await pool.destroy();
      assert.fail('the bystanders never settled: the blocked worker was not replaced');
    }
    assert.deepEqual(
      settled,
      bystanders.map((_, i) => i),
    );
    await closeWithin(pool, 10_000, 'the blocked worker kept close() waiting');
  });

  it('retries of an aborted call are dropped: nothing stays queued', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 1, concurrency: 50, retries: 0 });
    try {
      const shared = cells();
      const abort = new AbortController();
      const calls = gatedInputs(5, shared).map((input) =>
        pool.run(input, { signal: abort.signal }).catch((error: unknown) => error),
      );
      await reach(shared, 0, 5);
      // Its worker dies: the five wait to run again on the replacement; abort them meanwhile.
      await assert.rejects(pool.run({ op: 'exit-every-time', cells: shared, slot: 3 }));
      abort.abort();
      for (const call of calls) assert.ok((await call) instanceof AbortError);
      assert.equal(pool.stats().queued, 0);
    } finally {
      await pool.close();
    }
  });

  it('a task restarted again and again for named killers is never charged', async () => {
    // retries: 0. Each killer dies in its synchronous part, named: the bystander's re-runs are
    // free however many there are (each killer's deaths are bounded by its own retries).
    const pool = new Pool(fixture('control.js'), { workers: 1, retries: 0 });
    const shared = cells();
    try {
      const bystander = pool.run(gatedInputs(1, shared)[0]!);
      for (let run = 1; run <= 12; run++) {
        await reach(shared, 0, run); // the bystander is running (again)
        await assert.rejects(pool.run({ op: 'exit-every-time', cells: shared, slot: 3 }));
      }
      await reach(shared, 0, 13);
      release(shared, 1);
      assert.equal(await bystander, 0);
    } finally {
      release(shared, 1);
      await pool.close();
    }
  });

  it('a task beside a stream of deaths nobody is named for is not restarted forever', async () => {
    // retries: 0. The killer ends its worker from code outside any task, after an await, once
    // the bystander's run of the same number is in flight: each death is anonymous, so both run
    // again as suspects, and every 8 such re-runs count one attempt.
    const pool = new Pool(fixture('control.js'), { workers: 1, retries: 0 });
    const shared = cells();
    try {
      const bystander = pool.run(gatedInputs(1, shared)[0]!).then(
        () => 'settled with a value',
        (error: unknown) => error,
      );
      const killer = pool.run({ op: 'exit-from-outside', cells: shared, slot: 3 }).then(
        () => 'settled with a value',
        (error: unknown) => error,
      );
      const outcome = await Promise.race([
        bystander,
        reach(shared, 0, 9).then(() => 'ran a 9th time'),
      ]);
      assert.ok(outcome instanceof WorkerCrashedError, String(outcome));
      assert.match(outcome.message, /exited with code 6/);
      assert.ok((await killer) instanceof WorkerCrashedError);
      assert.equal(Atomics.load(shared, 0), 8);
    } finally {
      release(shared, 1); // so a failing run still lets close() end
      await pool.close();
    }
  });

  it('settles with WorkerCrashedError naming the exit once retries run out', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 2, retries: 1 });
    try {
      const shared = cells();
      const input: ControlInput = { op: 'exit-every-time', cells: shared, slot: 0, code: 42 };
      const error = await pool.run(input).then(
        () => assert.fail('should reject'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof WorkerCrashedError);
      assert.equal(error.code, 'ERR_POLYLOOP_WORKER_CRASHED');
      assert.match(error.message, /exited with code 42/);
      assert.equal(Atomics.load(shared, 0), 2, 'one run plus one retry');
      // The pool replaced its workers and goes on.
      assert.deepEqual(
        await pool.map([1, 2, 3].map((value): ControlInput => ({ op: 'value', value }))),
        [1, 2, 3],
      );
    } finally {
      await pool.close();
    }
  });

  it('replaces a worker whose event loop a task blocks past its timeout; bystanders run again', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 1, concurrency: 50 });
    try {
      const shared = cells();
      const bystanders = gatedInputs(10, shared);
      const outputs = pool.map(bystanders);
      await reach(shared, 0, 10);
      const hog = pool.run({ op: 'spin-forever' }, { timeout: 100 });
      const error = await hog.then(
        () => assert.fail('should time out'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof TimeoutError);
      // The worker is replaced (its loop never answers) and the bystanders start again there.
      await reach(shared, 0, 20);
      release(shared, 1);
      assert.deepEqual(
        await outputs,
        bystanders.map((_, i) => i),
      );
      assert.equal(await pool.run({ op: 'value', value: 'alive' }), 'alive');
    } finally {
      await pool.close();
    }
  });

  it('replaces a worker killed by an unhandled rejection outside a task; the task runs again', async () => {
    // The first run leaves a rejection nobody handles (it kills the worker); a later run says 'ok'.
    const strayRejection = (shared: Int32Array): ControlInput => ({
      op: 'stray-rejection-first-time',
      cells: shared,
      slot: 0,
      value: 'ok',
    });
    const pool = new Pool(fixture('control.js'), { workers: 1 });
    try {
      const shared = cells();
      assert.equal(await pool.run(strayRejection(shared)), 'ok');
      assert.equal(Atomics.load(shared, 0), 2, 'ran twice: the first worker died');
    } finally {
      await pool.close();
    }
    const strict = new Pool(fixture('control.js'), { workers: 1, retries: 0 });
    try {
      await assert.rejects(
        strict.run(strayRejection(cells())),
        (error: Error & { code?: string }) => {
          assert.equal(error.code, 'ERR_POLYLOOP_WORKER_CRASHED');
          assert.match(error.message, /stray rejection/);
          return true;
        },
      );
    } finally {
      await strict.close();
    }
  });

  it('replaces a worker whose slots fill with timed-out tasks that ignore their signal', {
    timeout: 60_000,
  }, async () => {
    // Two slots; every other task never ends, whatever its signal says. Without replacing the
    // worker, two such tasks would hold both slots forever and the map would never finish.
    const pool = new Pool(fixture('control.js'), { workers: 1, concurrency: 2, timeout: 200 });
    try {
      const never = cells();
      const inputs: ControlInput[] = Array.from({ length: 12 }, (_, i) =>
        i % 2 === 0 ? { op: 'block', cells: never, slot: 0, value: i } : { op: 'value', value: i },
      );
      const outcomes: string[] = [];
      for await (const result of pool.stream(inputs, { ordered: true })) {
        outcomes.push(
          result.ok ? String(result.value) : (result.error as Error & { code: string }).code,
        );
      }
      assert.deepEqual(
        outcomes,
        inputs.map((input, i) => (input.op === 'block' ? 'ERR_POLYLOOP_TIMEOUT' : String(i))),
      );
    } finally {
      await pool.close();
    }
  });

  it('replaces a worker that runs out of memory (maxMemoryMb), naming the cause', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 1, maxMemoryMb: 32, retries: 1 });
    try {
      const error = await pool.run({ op: 'eat-memory' }).then(
        () => assert.fail('should reject'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof WorkerCrashedError);
      assert.match(error.message, /out of memory/);
      assert.equal(await pool.run({ op: 'value', value: 'recovered' }), 'recovered');
    } finally {
      await pool.close();
    }
  });
});
