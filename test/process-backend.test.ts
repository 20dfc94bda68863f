import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DataCloneError,
  Pool,
  TaskError,
  TimeoutError,
  WorkerCrashedError,
} from '../dist/index.js';
import { type ControlInput, fixture } from './helpers.ts';

/** Whether a process with this pid is still running. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("backend: 'process'", () => {
  it('runs tasks in child processes, with the same results and errors as threads', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 2, backend: 'process' });
    try {
      await pool.ready();
      const pids = (await pool.map(
        Array.from({ length: 40 }, (): ControlInput => ({ op: 'pid' })),
      )) as number[];
      assert.ok(pids.every((pid) => pid !== process.pid));
      assert.equal(new Set(pids).size, 2);
      const inputs: ControlInput[] = [
        { op: 'value', value: new Map([['a', 1]]) },
        { op: 'throw', message: 'from a process' },
        { op: 'return-function' },
      ];
      const results = [];
      for await (const result of pool.stream(inputs, { ordered: true })) results.push(result);
      assert.deepEqual(results[0]?.ok && results[0].value, new Map([['a', 1]]));
      const thrown = results[1]?.ok === false ? results[1].error : undefined;
      assert.ok(thrown instanceof TaskError);
      assert.equal((thrown.cause as Error & { code?: string }).code, 'E_TASK');
      const uncloneable = results[2]?.ok === false ? results[2].error : undefined;
      assert.ok(uncloneable instanceof DataCloneError);
    } finally {
      await pool.close();
    }
  });

  it('flat objects cross to and from a child process as columns, arriving as a clone makes them', async () => {
    const pool = new Pool(fixture('echo.js'), { workers: 1, backend: 'process' });
    try {
      const inputs = new Array<unknown>(600);
      for (let i = 0; i < inputs.length; i++) {
        inputs[i] = { i, name: `n${i}`, none: null, big: BigInt(i), zero: i === 9 ? -0 : 0 };
      }
      const outputs = await pool.map(inputs);
      assert.deepEqual(outputs, structuredClone(inputs));
      assert.ok(Object.is((outputs[9] as { zero: number }).zero, -0));
    } finally {
      await pool.close();
    }
  });

  it('survives a native crash (SIGSEGV): retries, then WorkerCrashedError naming the signal', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 2, backend: 'process', retries: 1 });
    try {
      const error = await pool.run({ op: 'segfault' }).then(
        () => assert.fail('should reject'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof WorkerCrashedError);
      assert.match(error.message, /SIGSEGV/);
      const values = [1, 2, 3].map((value): ControlInput => ({ op: 'value', value }));
      assert.deepEqual(await pool.map(values), [1, 2, 3]);
      assert.equal(await pool.run({ op: 'value', value: 'still here' }), 'still here');
    } finally {
      await pool.close();
    }
  });

  it('replaces a process whose task hangs past its timeout', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 1, backend: 'process' });
    try {
      const before = await pool.run({ op: 'pid' });
      await assert.rejects(pool.run({ op: 'spin-forever' }, { timeout: 100 }), TimeoutError);
      const after = await pool.run({ op: 'pid' });
      assert.notEqual(after, before);
      assert.equal(alive(before as number), false);
    } finally {
      await pool.close();
    }
  });

  /**
   * retries: 0, so a bystander runs again only if the pool knows it was not at fault (else it
   * would settle with WorkerCrashedError): the dying process must have named the culprit. Three
   * bystanders wait for good in the first process, `culprit` ends it; returns that process's pid.
   */
  async function culpritBesideBystanders(
    culprit: ControlInput,
    options: { timeout?: number },
    expected: typeof TimeoutError | typeof WorkerCrashedError,
  ): Promise<number> {
    const pool = new Pool(fixture('control.js'), { workers: 1, backend: 'process', retries: 0 });
    try {
      const pid = (await pool.run({ op: 'pid' })) as number;
      const bystanders: ControlInput[] = [1, 2, 3].map((value) => ({
        op: 'hold-on-pid',
        pid,
        value,
      }));
      const outputs = pool.map(bystanders);
      await assert.rejects(pool.run(culprit, options), expected);
      assert.deepEqual(await outputs, [1, 2, 3]);
      return pid;
    } finally {
      await pool.close();
    }
  }

  it('knows which task hung a process: only it times out, its bystanders run again uncounted', async () => {
    // Named by the child's watchdog thread.
    const pid = await culpritBesideBystanders(
      { op: 'spin-forever' },
      { timeout: 100 },
      TimeoutError,
    );
    assert.equal(alive(pid), false);
  });

  it('knows which task called process.exit: only it fails, its bystanders run again uncounted', async () => {
    // Named by the child on its way out.
    await culpritBesideBystanders({ op: 'exit', code: 3 }, {}, WorkerCrashedError);
  });

  it('close() after faults leaves no child process running', async () => {
    const pool = new Pool(fixture('control.js'), { workers: 2, backend: 'process', retries: 0 });
    // Both ready first: inputs go only to ready workers, so a slow start would leave one idle.
    await pool.ready();
    const pids = new Set<number>();
    for (const pid of (await pool.map(
      Array.from({ length: 20 }, (): ControlInput => ({ op: 'pid' })),
    )) as number[]) {
      pids.add(pid);
    }
    await assert.rejects(pool.run({ op: 'exit', code: 3 }), WorkerCrashedError);
    for (const pid of (await pool.map(
      Array.from({ length: 20 }, (): ControlInput => ({ op: 'pid' })),
    )) as number[]) {
      pids.add(pid);
    }
    await pool.close();
    assert.ok(pids.size >= 2);
    for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} still running`);
  });
});
