import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AbortError,
  DataCloneError,
  PolyloopError,
  Pool,
  TaskError,
  TaskModuleError,
  TimeoutError,
  WorkerCrashedError,
} from '../dist/index.js';
import { type ControlInput, cells, closeWithin, fixture, reach } from './helpers.ts';

describe('task errors', () => {
  const pool = new Pool(fixture('control.js'), { workers: 2, concurrency: 8 });
  after(() => pool.close());

  it('a throwing task settles that input only in a stream', async () => {
    const inputs: ControlInput[] = Array.from({ length: 40 }, (_, i) =>
      i % 10 === 3 ? { op: 'throw', message: `bad ${i}` } : { op: 'value', value: i },
    );
    const byIndex = new Map<number, unknown>();
    for await (const result of pool.stream(inputs)) {
      assert.equal(byIndex.has(result.index), false, `index ${result.index} settled twice`);
      byIndex.set(result.index, result.ok ? result.value : result.error);
    }
    assert.equal(byIndex.size, 40);
    for (let i = 0; i < 40; i++) {
      const settled = byIndex.get(i);
      if (i % 10 === 3) {
        assert.ok(settled instanceof TaskError);
        assert.equal(settled.code, 'ERR_POLYLOOP_TASK_FAILED');
        assert.equal(settled.message, `bad ${i}`);
      } else {
        assert.equal(settled, i);
      }
    }
  });

  it("map rejects with the task's error as cause, its class name, code and stack kept", async () => {
    const inputs: ControlInput[] = [
      { op: 'value', value: 1 },
      { op: 'throw', message: 'boom' },
      { op: 'value', value: 3 },
    ];
    const error = await pool.map(inputs).then(
      () => assert.fail('map should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TaskError);
    assert.ok(error instanceof PolyloopError);
    assert.equal(error.code, 'ERR_POLYLOOP_TASK_FAILED');
    const cause = error.cause as Error & { code?: string };
    assert.ok(cause instanceof RangeError);
    assert.equal(cause.message, 'boom');
    assert.equal(cause.code, 'E_TASK');
    // The stack points into the task module, inside the worker.
    assert.match(cause.stack ?? '', /fixtures\/control\.js/);
  });

  it('the pool keeps working after task errors', async () => {
    assert.equal(await pool.run({ op: 'value', value: 'still here' }), 'still here');
  });

  it('an input that cannot be cloned fails that input only', async () => {
    const inputs: unknown[] = [
      { op: 'value', value: 1 },
      { op: 'value', value: () => 'a function' },
      { op: 'value', value: 3 },
    ];
    const results = [];
    for await (const result of pool.stream(inputs as ControlInput[], { ordered: true })) {
      results.push(result);
    }
    assert.equal(results.length, 3);
    assert.deepEqual(results[0]?.ok && results[0].value, 1);
    assert.ok(!results[1]?.ok && results[1]?.error instanceof DataCloneError);
    assert.equal(
      results[1]?.ok === false && (results[1].error as DataCloneError).code,
      'ERR_POLYLOOP_DATA_CLONE',
    );
    assert.deepEqual(results[2]?.ok && results[2].value, 3);
  });

  it('a run() whose input cannot be cloned fails alone among the calls sent with it', async () => {
    // Calls made together go to a worker in one message; the bad input must not fail the others.
    const calls = Array.from({ length: 40 }, (_, i) =>
      pool
        .run(
          (i === 7
            ? { op: 'value', value: () => 'a function' }
            : { op: 'value', value: i }) as ControlInput,
        )
        .then(
          (value) => value,
          (error: unknown) => error,
        ),
    );
    const outcomes = await Promise.all(calls);
    for (const [i, outcome] of outcomes.entries()) {
      if (i === 7) assert.ok(outcome instanceof DataCloneError, String(outcome));
      else assert.equal(outcome, i);
    }
  });

  it('a map rejected for an input that cannot be cloned runs none of its other tasks unaborted', async () => {
    // Each worker is sent its share of the dealt inputs in turn; the bad input rejects the map
    // while that happens. Which share holds it is random, so several rounds: a share sent after
    // the rejection once ran untracked, its tasks never aborted (and close() then waited forever).
    for (let round = 0; round < 6; round++) {
      const pool = new Pool(fixture('control.js'), { workers: 2, concurrency: 8 });
      await pool.ready();
      const shared = cells();
      const inputs: unknown[] = Array.from({ length: 40 }, (_, i) =>
        i === 5
          ? { op: 'value', value: () => 'a function' }
          : { op: 'wait-abort', cells: shared, slot: 1, startSlot: 0 },
      );
      await assert.rejects(pool.map(inputs as ControlInput[]), DataCloneError);
      // Returns once every task started has ended: each must have seen its signal fire.
      await closeWithin(pool, 10_000, `round ${round}: a task never saw its signal`);
      assert.equal(Atomics.load(shared, 1), Atomics.load(shared, 0), `round ${round}`);
    }
  });

  it('an output that cannot be cloned fails that input only', async () => {
    const inputs: ControlInput[] = [
      { op: 'value', value: 'a' },
      { op: 'return-function' },
      { op: 'value', value: 'c' },
    ];
    const results = [];
    for await (const result of pool.stream(inputs, { ordered: true })) results.push(result);
    assert.deepEqual(
      results.map((r) => (r.ok ? r.value : (r.error as PolyloopError).code)),
      ['a', 'ERR_POLYLOOP_DATA_CLONE', 'c'],
    );
    assert.match((results[1] as { error: Error }).error.message, /output cannot be cloned/);
  });

  it('a timeout settles the task with TimeoutError and fires its signal; others go on', async () => {
    const results = [];
    const shared = cells();
    const inputs: ControlInput[] = [
      { op: 'wait-abort', cells: shared, slot: 0 },
      { op: 'value', value: 'quick' },
    ];
    for await (const result of pool.stream(inputs, { timeout: 50, ordered: true })) {
      results.push(result);
    }
    const timedOut = results[0]?.ok === false ? results[0].error : undefined;
    assert.ok(timedOut instanceof TimeoutError);
    assert.equal(timedOut.code, 'ERR_POLYLOOP_TIMEOUT');
    assert.deepEqual(results[1]?.ok && results[1].value, 'quick');
    await reach(shared, 0, 1);
  });

  it('an aborted run rejects with AbortError', async () => {
    const controller = new AbortController();
    const running = pool.run({ op: 'wait-abort' }, { signal: controller.signal });
    controller.abort(new Error('changed my mind'));
    const error = await running.then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AbortError);
    assert.equal(error.code, 'ERR_POLYLOOP_ABORTED');
    assert.equal((error.cause as Error).message, 'changed my mind');
  });

  it('1,000 runs share one signal: no listener-leak warning, and an abort rejects them all', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const { signal } = controller;
      // Some run (and wait for their signal), the rest wait for a slot.
      const runs = Array.from({ length: 1000 }, () =>
        pool.run({ op: 'wait-abort' }, { signal }).then(
          () => assert.fail('should reject'),
          (e: unknown) => e,
        ),
      );
      const listeners = getEventListeners(signal, 'abort').length;
      controller.abort();
      assert.ok(listeners <= 1, `one listener for all the calls, not ${listeners}`);
      for (const error of await Promise.all(runs)) assert.ok(error instanceof AbortError);
      // A warning is emitted on a later tick.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.map((w) => w.name),
        [],
      );
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('calls sharing a signal let it go once they have all settled', async () => {
    const { signal } = new AbortController();
    const values = await Promise.all(
      Array.from({ length: 50 }, (_, i) => pool.run({ op: 'value', value: i }, { signal })),
    );
    assert.equal(values.length, 50);
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });

  it('a worker that exits fails its tasks with WorkerCrashedError and is replaced', async () => {
    const crash = new Pool(fixture('control.js'), { workers: 1 });
    try {
      const error = await crash.run({ op: 'exit', code: 7 }).then(
        () => assert.fail('should reject'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof WorkerCrashedError);
      assert.match(error.message, /code 7/);
      assert.equal(await crash.run({ op: 'value', value: 'after the crash' }), 'after the crash');
    } finally {
      await crash.close();
    }
  });
});

describe('task module errors', () => {
  it('a missing task module throws at construction, naming the path', () => {
    const missing = fixture('does-not-exist.js');
    assert.throws(
      () => new Pool(missing),
      (error: unknown) =>
        error instanceof TaskModuleError &&
        error.code === 'ERR_POLYLOOP_TASK_MODULE' &&
        error.message.includes(fileURLToPath(missing)),
    );
  });

  it('a module without a default export rejects calls, naming the module', async () => {
    const pool = new Pool(fixture('no-default.js'), { workers: 1 });
    try {
      const error = await pool.run(1).then(
        () => assert.fail('should reject'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof TaskModuleError);
      assert.match(error.message, /no default export/);
      assert.match(error.message, /no-default\.js/);
    } finally {
      await pool.close();
    }
  });

  it('a module that throws on import rejects calls with the import error as cause', async () => {
    const pool = new Pool(fixture('throws-on-import.js'), { workers: 2 });
    try {
      const error = await pool.map([1, 2, 3]).then(
        () => assert.fail('should reject'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof TaskModuleError);
      assert.equal((error.cause as Error).message, 'broken at import');
    } finally {
      await pool.close();
    }
  });
});
