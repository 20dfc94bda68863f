/**
 * Chaos: a long workload where about one attempt in 1,000 kills its worker in its synchronous
 * part, some inputs throw, some block their worker's loop forever, and a few culprits strike
 * after an await — exit, throw from a timer, leave a rejection unhandled, block — where the worker
 * cannot tell which of its tasks did it (the pool re-runs them as suspects until the culprit names
 * itself). Which inputs are culprits is fixed by input, so the test knows: failures come only
 * from culprits, each with what it did; innocent inputs never fail; every index settles exactly
 * once; and the pool ends with its configured workers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool, TaskError, TimeoutError, WorkerCrashedError } from '../dist/index.js';
import { fixture } from './helpers.ts';

const COUNT = 10_000;
const KILL_ONE_IN = 1000;

type Fate =
  | 'ok'
  | 'throw'
  | 'hang'
  | 'exit-after-await'
  | 'timer-throw'
  | 'rejection'
  | 'hang-after-await';

/** Culprits that strike after an await, by input (none is also a 'throw' or a 'hang'). */
const AFTER_AWAIT = new Map<number, Fate>([
  [611, 'exit-after-await'],
  [1911, 'timer-throw'],
  [3011, 'rejection'],
  [4311, 'hang-after-await'],
  [5611, 'exit-after-await'],
  [6911, 'timer-throw'],
  [8011, 'rejection'],
]);

/** What each input is planned to do; the random kills come on top, per attempt, in the task. */
function fateOf(i: number): Fate {
  const culprit = AFTER_AWAIT.get(i);
  if (culprit) return culprit;
  // Two: each holds a worker for a whole timeout, and the test's run time is mostly theirs.
  if (i % 5000 === 1234) return 'hang';
  if (i % 101 === 7) return 'throw';
  return 'ok';
}

const HANGS = Array.from({ length: COUNT }, (_, i) => fateOf(i)).filter((f) => f === 'hang').length;

/** Why a culprit's outcome is not what it did, or undefined if it is. */
function wrongOutcome(i: number, fate: Fate, error: Error): string | undefined {
  const is = (type: abstract new (...args: never[]) => Error, text?: string): boolean =>
    error instanceof type && (text === undefined || error.message.includes(text));
  let right: boolean;
  switch (fate) {
    case 'throw':
      right = is(TaskError, `planned failure ${i}`);
      break;
    case 'hang':
    case 'hang-after-await':
      right = is(TimeoutError);
      break;
    case 'exit-after-await':
      right = is(WorkerCrashedError, 'code 3');
      break;
    case 'timer-throw':
      right = is(WorkerCrashedError, `thrown from a timer of input ${i}`);
      break;
    case 'rejection':
      right = is(WorkerCrashedError, `unhandled rejection of input ${i}`);
      break;
    default:
      right = false;
  }
  return right ? undefined : `${error.name}: ${error.message}`;
}

/** Innocents' failures, grouped by what they say (numbers blanked), with the first indexes. */
function evidence(failures: Array<{ index: number; error: Error }>): string {
  const groups = new Map<string, number[]>();
  for (const { index, error } of failures) {
    const key = `${error.name}: ${error.message.replace(/\d+/g, 'N')}`;
    const group = groups.get(key) ?? [];
    group.push(index);
    groups.set(key, group);
  }
  return [...groups]
    .map(([key, indexes]) => `${indexes.length}× ${key} (inputs ${indexes.slice(0, 5).join(', ')})`)
    .join('; ');
}

for (const backend of ['thread', 'process'] as const) {
  // Both backends know which task hung a worker in its synchronous part (threads through shared
  // memory, processes through their watchdog thread), so only the hanging inputs time out.
  describe(`chaos, backend: '${backend}'`, () => {
    it(`settles each of ${COUNT} inputs exactly once; only culprits fail, sync or after an await`, {
      timeout: 180_000,
    }, async () => {
      const workers = 2;
      const pool = new Pool(fixture('chaos.js'), {
        workers,
        backend,
        concurrency: 64,
        // A guard for innocents (they take microseconds), and what ends the blocking culprits.
        timeout: 2000,
        // The default. An after-await culprit's untracked strikes are nobody's fault, so it kills
        // its worker 2 × (retries + 1) times before it settles: 42 restarts each with 20.
        retries: 2,
      });
      try {
        const inputs = Array.from({ length: COUNT }, (_, i) => ({
          i,
          fate: fateOf(i),
          killOneIn: KILL_ONE_IN,
        }));
        const counts = new Uint8Array(COUNT);
        const innocentFailures: Array<{ index: number; error: Error }> = [];
        const wrongCulprits: string[] = [];
        for await (const result of pool.stream(inputs)) {
          counts[result.index]!++;
          const fate = fateOf(result.index);
          if (fate === 'ok') {
            if (!result.ok) innocentFailures.push({ index: result.index, error: result.error });
            else if (result.value !== result.index * 2) {
              wrongCulprits.push(`input ${result.index} answered ${String(result.value)}`);
            }
          } else if (result.ok) {
            wrongCulprits.push(`input ${result.index} (${fate}) answered ${String(result.value)}`);
          } else {
            const wrong = wrongOutcome(result.index, fate, result.error);
            if (wrong) wrongCulprits.push(`input ${result.index} (${fate}): ${wrong}`);
          }
        }
        assert.equal(counts.filter((c) => c === 0).length, 0, 'every index settled');
        assert.equal(counts.filter((c) => c > 1).length, 0, 'none settled twice');
        assert.deepEqual(
          innocentFailures.length,
          0,
          `innocents failed: ${evidence(innocentFailures)}`,
        );
        assert.deepEqual(wrongCulprits, [], 'each culprit fails with what it did');
        // The pool still has all its workers: each serves part of a fresh batch.
        await pool.ready();
        assert.equal(pool.stats().workers.filter((w) => w.state === 'ready').length, workers);
        const pids = new Set(await pool.map(Array.from({ length: 200 }, () => ({ op: 'pid' }))));
        const ids = new Set(
          (await pool.map(Array.from({ length: 200 }, () => ({ op: 'worker-id' })))) as number[],
        );
        assert.equal(backend === 'process' ? pids.size : ids.size, workers);
        // Each hang cost its worker: ids 0 and 1, then at least one replacement per hang.
        assert.ok(Math.max(...ids) >= workers + HANGS - 1, `worker ids ${[...ids]}`);
      } finally {
        await pool.close();
      }
    });
  });
}
