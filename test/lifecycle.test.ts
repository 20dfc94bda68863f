import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { AbortError, Pool, PoolClosedError, TaskModuleError, TimeoutError } from '../dist/index.js';
import { IDLE_CHECK_MS } from '../dist/protocol/timing.js';
import {
  type ControlInput,
  cells,
  closeWithin,
  fixture,
  gatedInputs,
  reach,
  release,
} from './helpers.ts';

/** How long the idle pool is watched. */
const IDLE_MS = 500;

describe('lifecycle', () => {
  it('close() lets started work finish, then stops the workers', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 2, concurrency: 10 });
    const shared = cells();
    const inputs = gatedInputs(30, shared);
    const outputs = pool.map(inputs);
    await reach(shared, 0, 20);
    let closed = false;
    const closing = pool.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, false, 'close() resolved while tasks were still running');
    release(shared, 1);
    assert.deepEqual(
      await outputs,
      inputs.map((_, i) => i),
    );
    await closing;
    assert.equal(closed, true);
  });

  it('run, map and stream reject after close()', async () => {
    const pool = new Pool(fixture('echo.js'), { workers: 1 });
    await pool.close();
    await assert.rejects(
      pool.run(1),
      (e: unknown) => e instanceof PoolClosedError && e.code === 'ERR_POLYLOOP_POOL_CLOSED',
    );
    await assert.rejects(pool.map([1, 2]), PoolClosedError);
    await assert.rejects(pool.stream([1]).next(), PoolClosedError);
  });

  it('a stream ended by return() before its first next() never starts', async () => {
    const pool = new Pool(fixture('echo.js'), { workers: 1 });
    let pulled = 0;
    function* inputs(): Generator<number> {
      for (;;) yield pulled++;
    }
    const stream = pool.stream(inputs());
    assert.deepEqual(await stream.return?.(), { done: true, value: undefined });
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
    assert.equal(pulled, 0);
    assert.equal(pool.stats().inFlight, 0);
    // A hidden job would hold close() forever.
    await closeWithin(pool, 10_000, 'a job was started after all');
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

  it('a stream first iterated after close() rejects, saying why', async () => {
    const pool = new Pool(fixture('echo.js'), { workers: 1 });
    const stream = pool.stream([1, 2, 3]);
    await pool.close();
    await assert.rejects(
      stream.next(),
      (e: unknown) => e instanceof PoolClosedError && /first next\(\)/.test(e.message),
    );
  });

  it('destroy() settles everything in flight with AbortError and stops the workers', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 2, concurrency: 10 });
    const shared = cells();
    const settled = (promise: Promise<unknown>) =>
      promise.then(
        () => 'fulfilled',
        (e: unknown) => e,
      );
    const running = settled(
      pool.map(
        Array.from(
          { length: 6 },
          (): ControlInput => ({ op: 'wait-abort', cells: shared, slot: 1 }),
        ),
      ),
    );
    const single = settled(
      pool.run({ op: 'tick-block', cells: shared, slot: 0, gate: 2, value: 1 }),
    );
    await reach(shared, 0, 1);
    await pool.destroy();
    assert.ok((await running) instanceof AbortError);
    const error = await single;
    assert.ok(error instanceof AbortError);
    assert.equal(error.code, 'ERR_POLYLOOP_ABORTED');
    await assert.rejects(pool.run({ op: 'value', value: 1 }), PoolClosedError);
  });

  it('ready() resolves once every worker has started, and rejects for a broken module', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 2 });
    await pool.ready();
    const infos = (await pool.map(
      Array.from({ length: 20 }, (): ControlInput => ({ op: 'setup-info' })),
    )) as Array<{ setupCalls: number }>;
    assert.ok(infos.every((info) => info.setupCalls === 1));
    await pool.close();

    const broken = new Pool(fixture('throws-on-import.js'), { workers: 2 });
    await assert.rejects(broken.ready(), TaskModuleError);
    await broken.close();
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

  it('supports `await using` through Symbol.asyncDispose', async () => {
    const pool = new Pool(fixture('echo.js'), { workers: 1 });
    assert.equal(typeof pool[Symbol.asyncDispose], 'function');
    assert.equal(await pool.run('x'), 'x');
    await pool[Symbol.asyncDispose]();
    await assert.rejects(pool.run('y'), PoolClosedError);
  });

  it('runs setup once per worker, before its first task', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 2, concurrency: 4 });
    try {
      const infos = (await pool.map(
        Array.from({ length: 50 }, (): ControlInput => ({ op: 'setup-info' })),
      )) as Array<{ setupCalls: number; setupWorker: number; workerId: number }>;
      for (const info of infos) {
        assert.equal(info.setupCalls, 1);
        assert.equal(info.setupWorker, info.workerId);
      }
    } finally {
      await pool.close();
    }
  });

  it('a forgotten pool does not keep the process alive once idle', async () => {
    const script = `
      import { Pool } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const pool = new Pool(${JSON.stringify(fixture('echo.js').href)}, { workers: 2 });
      console.log(await pool.map([1, 2, 3]));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
      // Not a test-runner child: the runner's variable would make it wait for a parent.
      env: { ...process.env, NODE_TEST_CONTEXT: undefined },
    });
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /\[ 1, 2, 3 \]/);
  });

  for (const backend of ['thread', 'process'] as const) {
    it(`an idle pool sleeps: nothing wakes a worker without tasks (${backend} backend)`, {
      skip: process.platform !== 'linux' && 'reads /proc/thread-self (Linux)',
    }, async () => {
      // The worker reports how often its thread was woken up. Checking its loop every
      // IDLE_CHECK_MS while idle would wake it about IDLE_MS / IDLE_CHECK_MS times; a worker
      // that sleeps is woken only by the second call (and at most a check or two after the
      // first), however slow the machine.
      const pool = new Pool(fixture('thread-clock.js'), { workers: 1, backend });
      try {
        const clock = () => pool.run(null) as Promise<{ switches: number; cpuNs: number }>;
        const before = await clock();
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
        const after = await clock();
        const wakeUps = after.switches - before.switches;
        const cpuMs = (after.cpuNs - before.cpuNs) / 1e6;
        const expectedIfPolling = IDLE_MS / IDLE_CHECK_MS;
        assert.ok(
          wakeUps < expectedIfPolling / 5,
          `woken ${wakeUps} times (${cpuMs.toFixed(1)} ms of CPU) in ${IDLE_MS} ms idle`,
        );
      } finally {
        await pool.close();
      }
    });
  }

  it('starts its workers when node runs with flags worker threads refuse (--expose-gc, heap size)', () => {
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

  it('destroy() holds the process open until its workers are gone, so the code after it runs', async () => {
    // The aborted tasks' results arrive during destroy(); they must not let the workers be unref'd,
    // or the process exits (code 13) before destroy() resolves.
    const script = `
      import { Pool } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};
      const pool = new Pool(${JSON.stringify(fixture('control.js').href)}, { workers: 1 });
      const controller = new AbortController();
      async function* inputs() {
        yield { op: 'value', value: 1 };
        yield { op: 'wait-abort' };
      }
      try {
        for await (const r of pool.stream(inputs(), { signal: controller.signal })) controller.abort();
      } catch {}
      await pool.destroy();
      console.log('after destroy');
    `;
    for (let attempt = 0; attempt < 5; attempt++) {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, NODE_TEST_CONTEXT: undefined },
      });
      assert.equal(child.status, 0, child.stderr);
      assert.match(child.stdout, /after destroy/);
    }
  });

  it('close() ends even when a timed-out task ignores its signal and never ends', {
    timeout: 30_000,
  }, async () => {
    const pool = new Pool(fixture('control.js'), { workers: 1 });
    const shared = cells();
    // 'block' waits on shared memory that is never set: its loop turns, it just never ends.
    await assert.rejects(
      pool.run({ op: 'block', cells: shared, slot: 0, value: 1 }, { timeout: 50 }),
      {
        code: 'ERR_POLYLOOP_TIMEOUT',
      },
    );
    await pool.close();
    assert.equal(Atomics.load(shared, 0), 0);
  });

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
});
