/**
 * Retries of tasks that threw or timed out (`retryErrors`, `retryDelay`, `shouldRetry`), on real
 * workers. The flaky fixture fails a set number of runs per input; the tests wait on its counts
 * in shared memory (Atomics), never on sleeps; delays are asserted as lower bounds only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { MAX_RETRY_DELAY_MS, RETRY_JITTER, retryDelayFor } from '../dist/core/retry-policy.js';
import { AbortError, Pool, TaskError, TimeoutError } from '../dist/index.js';
import { runCli, tempDir } from './cli-helpers.js';
import { cells, fixture, reach } from './helpers.js';

const FLAKY = fixture('flaky.js');

/** Shared run start times, 8 per slot (see fixtures/flaky.js). */
function times(slots: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(slots * 8 * Float64Array.BYTES_PER_ELEMENT));
}

/** Two threads' clocks (timeOrigin + now) may disagree by a rounding step: no more than this. */
const CLOCK_SLACK_MS = 1;

/**
 * Resolves once the pool has queued an error retry (polled: the count lives on the main thread;
 * it only grows, so a slow poll cannot miss it).
 */
async function retryQueued(pool: Pool): Promise<void> {
  while (pool.stats().retriedErrors === 0) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function collect<T>(results: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const result of results) all.push(result);
  return all;
}

describe('retryDelay', () => {
  it('doubles per attempt, is never shorter than asked, stretches by at most the jitter, and is capped', () => {
    for (const random of [0, 0.5, 0.999]) {
      const pick = () => random;
      for (let attempt = 1; attempt <= 5; attempt++) {
        const nominal = 100 * 2 ** (attempt - 1);
        const delay = retryDelayFor(attempt, 100, pick);
        assert.ok(delay >= nominal && delay <= Math.ceil(nominal * (1 + RETRY_JITTER)));
      }
      const late = retryDelayFor(30, 100, pick);
      assert.ok(late >= MAX_RETRY_DELAY_MS && late <= MAX_RETRY_DELAY_MS * (1 + RETRY_JITTER));
      // A first delay longer than the cap is still honoured.
      assert.ok(retryDelayFor(3, 60_000, pick) >= 60_000);
    }
  });
});

describe('retryErrors', () => {
  it('a task that fails twice is retried twice, each time after the delay asked', async () => {
    const counts = cells(4);
    const starts = times(4);
    const pool = new Pool(FLAKY, { workers: 2, retryErrors: 2, retryDelay: 100 });
    try {
      const inputs = [0, 1, 2].map((slot) => ({ cells: counts, times: starts, slot, fails: 2 }));
      const results = await collect(pool.stream(inputs));
      assert.equal(results.length, 3);
      for (const result of results) {
        assert.ok(result.ok, 'its last run succeeded');
        assert.equal(result.value, 3);
        assert.equal(result.attempts, 3);
        const slot = result.index;
        const first = starts[slot * 8]!;
        const second = starts[slot * 8 + 1]!;
        const third = starts[slot * 8 + 2]!;
        assert.ok(second - first >= 100 - CLOCK_SLACK_MS, `1st delay ${second - first} ms`);
        assert.ok(third - second >= 200 - CLOCK_SLACK_MS, `2nd delay ${third - second} ms`);
      }
      assert.deepEqual([...counts.slice(0, 3)], [3, 3, 3]);
      const stats = pool.stats();
      assert.equal(stats.retriedErrors, 6);
      assert.equal(stats.retried, 0, 'crash retries are counted apart');
      assert.equal(stats.done, 3);
      assert.equal(stats.failed, 0);
    } finally {
      await pool.close();
    }
  });

  it('without retryErrors a failure is the answer: one run, no attempts field', async () => {
    const counts = cells(2);
    const pool = new Pool(FLAKY, { workers: 1 });
    try {
      const [result] = await collect(pool.stream([{ cells: counts, slot: 0, fails: 1 }]));
      assert.ok(result && !result.ok);
      assert.ok(result.error instanceof TaskError);
      assert.equal('attempts' in result, false);
      assert.equal(Atomics.load(counts, 0), 1);
      assert.equal(pool.stats().retriedErrors, 0);
    } finally {
      await pool.close();
    }
  });

  it('the last attempt is the answer once retryErrors is used up', async () => {
    const counts = cells(2);
    const pool = new Pool(FLAKY, { workers: 1, retryErrors: 1, retryDelay: 1 });
    try {
      await assert.rejects(pool.run({ cells: counts, slot: 0, fails: 5 }), (error: Error) => {
        assert.ok(error instanceof TaskError);
        assert.match(error.message, /run 2 failed/);
        return true;
      });
      assert.equal(Atomics.load(counts, 0), 2);
      const [result] = await collect(pool.stream([{ cells: counts, slot: 1, fails: 5 }]));
      assert.equal(result?.attempts, 2);
    } finally {
      await pool.close();
    }
  });

  it('shouldRetry sees the error the caller would get and the attempt number; false ends it', async () => {
    const counts = cells(2);
    const calls: Array<[string, unknown, number]> = [];
    const pool = new Pool(FLAKY, {
      workers: 1,
      retryErrors: 5,
      retryDelay: 1,
      shouldRetry: (error, attempt) => {
        calls.push([error.constructor.name, (error.cause as { code?: unknown }).code, attempt]);
        return attempt < 2;
      },
    });
    try {
      const [result] = await collect(pool.stream([{ cells: counts, slot: 0, fails: 5 }]));
      assert.ok(result && !result.ok);
      assert.match(result.error.message, /run 2 failed/);
      assert.equal(result.attempts, 2);
      assert.deepEqual(calls, [
        ['TaskError', 'E_FLAKY', 1],
        ['TaskError', 'E_FLAKY', 2],
      ]);
      assert.equal(Atomics.load(counts, 0), 2);
    } finally {
      await pool.close();
    }
  });

  it('a timed-out task is retried when asked', async () => {
    const counts = cells(2);
    const seen: string[] = [];
    const pool = new Pool(FLAKY, {
      workers: 1,
      timeout: 100,
      retryErrors: 1,
      retryDelay: 1,
      shouldRetry: (error) => {
        seen.push(error.constructor.name);
        return error instanceof TimeoutError;
      },
    });
    try {
      const [result] = await collect(
        pool.stream([{ cells: counts, slot: 0, fails: 1, hang: true }]),
      );
      assert.ok(result?.ok);
      assert.equal(result.value, 2);
      assert.equal(result.attempts, 2);
      assert.deepEqual(seen, ['TimeoutError']);
    } finally {
      await pool.close();
    }
  });

  it('a waiting retry holds no slot: with concurrency 1 the next input runs meanwhile', async () => {
    const counts = cells(4);
    const pool = new Pool(FLAKY, {
      workers: 1,
      concurrency: 1,
      retryErrors: 1,
      retryDelay: 60_000,
    });
    const abort = new AbortController();
    try {
      const inputs = [
        { cells: counts, slot: 0, fails: 1 },
        { cells: counts, slot: 1, fails: 0 },
      ];
      const stream = pool.stream(inputs, { signal: abort.signal });
      const first = await stream.next();
      assert.equal(first.value?.index, 1, 'the second input ran while the first waits');
      assert.equal(Atomics.load(counts, 0), 1);
      const stats = pool.stats();
      assert.equal(stats.queued, 1, 'the waiting retry is queued');
      assert.equal(stats.inFlight, 0, 'and runs nowhere');
      assert.equal(stats.retriedErrors, 1);
      // Abort while it waits: the stream fails with AbortError, the retry never runs.
      abort.abort();
      await assert.rejects(stream.next(), AbortError);
      assert.equal(pool.stats().queued, 0, 'a finished job has no waiting retry');
    } finally {
      await pool.close();
    }
    assert.equal(Atomics.load(counts, 0), 1);
  });

  it('destroy() settles a waiting retry with AbortError', async () => {
    const counts = cells(2);
    const pool = new Pool(FLAKY, { workers: 1, retryErrors: 1, retryDelay: 60_000 });
    // Handled now: destroy() rejects it before the test awaits it.
    const outcome = pool.run({ cells: counts, slot: 0, fails: 1 }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await reach(counts, 0, 1);
    await retryQueued(pool);
    await pool.destroy();
    assert.ok((await outcome) instanceof AbortError);
    assert.equal(Atomics.load(counts, 0), 1);
  });

  it('close() lets a waiting retry run, then stops', async () => {
    const counts = cells(2);
    const pool = new Pool(FLAKY, { workers: 1, retryErrors: 2, retryDelay: 200 });
    const running = pool.run({ cells: counts, slot: 0, fails: 2 });
    await reach(counts, 0, 1);
    await retryQueued(pool);
    await pool.close();
    assert.equal(await running, 3);
  });

  it('works the same on child processes', async () => {
    const dir = tempDir();
    const pool = new Pool(FLAKY, {
      workers: 2,
      backend: 'process',
      retryErrors: 2,
      retryDelay: 10,
    });
    try {
      const inputs = ['a', 'b', 'c'].map((key) => ({ dir, key, fails: 2 }));
      const results = await collect(pool.stream(inputs));
      assert.deepEqual(
        results.map((r) => [r.ok, r.ok ? r.value : undefined, r.attempts]),
        [
          [true, 3, 3],
          [true, 3, 3],
          [true, 3, 3],
        ],
      );
    } finally {
      await pool.close();
    }
  });
});

describe('polyloop run --retry-errors', () => {
  for (const workers of ['2', '0']) {
    it(`records say how many attempts they took (--workers ${workers})`, async () => {
      const dir = tempDir();
      const input = [
        { dir, key: 'a', fails: 2 },
        { dir, key: 'b', fails: 0 },
        { dir, key: 'c', fails: 9 },
      ]
        .map((line) => `${JSON.stringify(line)}\n`)
        .join('');
      const task = fileURLToPath(FLAKY);
      const args = ['run', task, '--ordered', '-q', '--workers', workers];
      const result = await runCli([...args, '--retry-errors', '2', '--retry-delay', '10'], {
        stdin: input,
      });
      assert.equal(result.code, 1, result.stderr);
      assert.deepEqual(result.stdout.trim().split('\n'), [
        '{"index":0,"value":3,"attempts":3}',
        '{"index":1,"value":1}',
        '{"index":2,"error":{"code":"E_FLAKY","message":"run 3 failed"},"attempts":3}',
      ]);
    });
  }

  it('without it, a failure is written at once, as before', async () => {
    const dir = tempDir();
    const result = await runCli(['run', fileURLToPath(FLAKY), '-q'], {
      stdin: `${JSON.stringify({ dir, key: 'a', fails: 1 })}\n`,
    });
    assert.equal(
      result.stdout,
      '{"index":0,"error":{"code":"E_FLAKY","message":"run 1 failed"}}\n',
    );
  });
});
