/**
 * Only the culprit pays (issue "Fault isolation"): one input that blocks, exits, throws from a
 * timer, leaves a rejection unhandled or runs out of memory — after an await, where the worker
 * cannot tell which of its tasks is running — among hundreds of innocent tasks in flight. The
 * pool re-runs the tasks it cannot clear as suspects, tracked across awaits, until the culprit
 * names itself: no innocent task fails, the culprit fails with what it did, every index settles
 * once, and the pool ends with its workers. Real threads and processes, real crashes.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { Pool, type PoolOptions, TimeoutError, WorkerCrashedError } from '../dist/index.js';
import { fixture } from './helpers.ts';

const INNOCENTS = 1000;
/** For Atomics.wait as a short pause of a deliberately stalled main thread. */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));
const CULPRIT = 300;

interface Outcome {
  readonly failures: Array<{ index: number; error: Error }>;
  readonly seen: number;
  readonly twice: number;
  readonly workers: number;
}

async function runWithCulprit(
  bad: string,
  options: PoolOptions,
  isCulprit: (i: number) => boolean = (i) => i === CULPRIT,
  length = INNOCENTS + 1,
): Promise<Outcome> {
  const pool = new Pool(fixture('culprit.js'), { workers: 2, concurrency: 500, ...options });
  const inputs = Array.from({ length }, (_, i) => ({
    i,
    ms: 5 + ((i * 37) % 46),
    bad: isCulprit(i) ? bad : undefined,
  }));
  const counts = new Array<number>(inputs.length).fill(0);
  const failures: Array<{ index: number; error: Error }> = [];
  try {
    for await (const result of pool.stream(inputs)) {
      counts[result.index]!++;
      if (!result.ok) failures.push({ index: result.index, error: result.error });
      else assert.equal(result.value, result.index);
    }
    await pool.ready();
    const workers = pool.stats().workers.filter((w) => w.state === 'ready').length;
    return {
      failures,
      seen: counts.filter((c) => c > 0).length,
      twice: counts.filter((c) => c > 1).length,
      workers,
    };
  } finally {
    await pool.close();
  }
}

const KINDS: Array<{
  bad: string;
  options: PoolOptions;
  check: (error: Error) => void;
}> = [
  {
    bad: 'block',
    options: { timeout: 2000 },
    check: (error) => assert.ok(error instanceof TimeoutError, String(error)),
  },
  {
    bad: 'exit',
    options: {},
    check: (error) => {
      assert.ok(error instanceof WorkerCrashedError, String(error));
      assert.match(error.message, /code 3/);
    },
  },
  {
    bad: 'timer-throw',
    options: {},
    check: (error) => {
      assert.ok(error instanceof WorkerCrashedError, String(error));
      assert.match(error.message, /thrown from a timer of input 300/);
    },
  },
  {
    bad: 'rejection',
    options: {},
    check: (error) => {
      assert.ok(error instanceof WorkerCrashedError, String(error));
      assert.match(error.message, /unhandled rejection of input 300/);
    },
  },
  {
    bad: 'oom',
    options: { maxMemoryMb: 64 },
    check: (error) => assert.ok(error instanceof WorkerCrashedError, String(error)),
  },
];

for (const backend of ['thread', 'process'] as const) {
  describe(`only the culprit pays, after an await (${backend})`, () => {
    for (const { bad, options, check } of KINDS) {
      it(`one input that does "${bad}" among ${INNOCENTS} innocents`, {
        timeout: 120_000,
      }, async () => {
        const outcome = await runWithCulprit(bad, { ...options, backend });
        assert.equal(outcome.seen, INNOCENTS + 1, 'every index settled');
        assert.equal(outcome.twice, 0, 'none twice');
        assert.deepEqual(
          outcome.failures.map((f) => f.index),
          [CULPRIT],
          `innocents failed: ${outcome.failures
            .filter((f) => f.index !== CULPRIT)
            .slice(0, 3)
            .map((f) => `${f.index}: ${f.error.message}`)
            .join('; ')}`,
        );
        check(outcome.failures[0]!.error);
        assert.equal(outcome.workers, 2, 'the pool ends with its workers');
      });
    }
  });
}

describe('many culprits at once', () => {
  // One input in 50 dies after an await: about ten culprits in flight per worker at any time, so
  // deaths nobody is named for follow each other, and suspects die beside named culprits again
  // and again. A suspect that ran tracked is cleared by each death that does not name it.
  const EVERY = 50;
  const isCulprit = (i: number) => i % EVERY === EVERY - 1;
  for (const [backend, bad] of [
    ['thread', 'exit'],
    ['process', 'rejection'],
  ] as const) {
    it(`one input in ${EVERY} does "${bad}" (${backend}): no innocent fails`, {
      timeout: 240_000,
    }, async () => {
      const outcome = await runWithCulprit(bad, { backend, retries: 2 }, isCulprit, 1000);
      assert.equal(outcome.seen, 1000, 'every index settled');
      assert.equal(outcome.twice, 0, 'none twice');
      const innocents = outcome.failures.filter((f) => !isCulprit(f.index));
      assert.deepEqual(
        innocents.map((f) => f.index),
        [],
        innocents[0] && `e.g. ${innocents[0].index}: ${innocents[0].error.message}`,
      );
      assert.equal(outcome.failures.length, 1000 / EVERY, 'every culprit fails');
      for (const { error } of outcome.failures) {
        assert.ok(error instanceof WorkerCrashedError, String(error));
      }
      assert.equal(outcome.workers, 2);
    });
  }
});

for (const backend of ['thread', 'process'] as const) {
  describe(`every input settles, and timeouts are exact (${backend})`, () => {
    it('a loop blocked after an await with no timeout: maxBlockMs ends it, only the culprit fails', {
      timeout: 120_000,
    }, async () => {
      const outcome = await runWithCulprit('block', { backend, maxBlockMs: 1500 });
      assert.equal(outcome.seen, INNOCENTS + 1);
      assert.deepEqual(
        outcome.failures.map((f) => f.index),
        [CULPRIT],
      );
      const error = outcome.failures[0]!.error;
      assert.ok(error instanceof TimeoutError, String(error));
      assert.match(error.message, /blocked its worker's event loop for more than 1500 ms/);
      assert.equal(outcome.workers, 2);
    });

    it('a result that comes after its deadline settles with TimeoutError, main thread stalled', {
      timeout: 60_000,
    }, async () => {
      const pool = new Pool(fixture('culprit.js'), { workers: 1, backend, timeout: 100 });
      try {
        await pool.ready();
        const dir = mkdtempSync(join(tmpdir(), 'polyloop-late-'));
        const marks = join(dir, 'task');
        const call = pool.run({ i: 0, ms: 300, bad: 'late', marks }).then(
          (value) => ({ ok: true as const, value }),
          (error: Error) => ({ ok: false as const, error }),
        );
        try {
          // Once it started, hold the main thread until the task has finished on its worker: its
          // deadline timer cannot fire first, and its result is already on the way.
          while (!existsSync(`${marks}.started`)) await setImmediatePromise();
          while (!existsSync(`${marks}.done`)) Atomics.wait(PAUSE, 0, 0, 5);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        const outcome = await call;
        assert.equal(outcome.ok, false);
        assert.ok(!outcome.ok && outcome.error instanceof TimeoutError, JSON.stringify(outcome));
      } finally {
        await pool.close();
      }
    });
  });
}
