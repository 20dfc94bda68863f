/**
 * The main thread's policies, each driven alone (no workers): dealing, the window rule, attempt
 * counting and the task table, the one writer of task states.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FREE_RERUNS_PER_ATTEMPT, NO_ATTEMPTS, nextAttempts } from '../dist/core/attempts.js';
import { deal } from '../dist/core/dealing.js';
import { Job, type JobSink } from '../dist/core/job.js';
import { emptyTasks, TaskTable, type TaskTableEvents } from '../dist/core/task-table.js';
import { INITIAL_WINDOW, Window } from '../dist/core/window.js';
import type { WorkerRecord } from '../dist/core/workers.js';

/** A seeded generator (mulberry32): the same deals every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shares(owner: Int32Array, workers: number): number[] {
  const counts = new Array<number>(workers).fill(0);
  for (const w of owner) counts[w]!++;
  return counts;
}

describe('dealing', () => {
  it('fills each worker up to its room, no further', () => {
    const room = [5, 1, 3];
    const owner = deal(9, room, [0, 1, 2], seeded(1));
    assert.deepEqual(shares(owner, 3), [5, 1, 3]);
    assert.deepEqual(room, [0, 0, 0]);
  });

  it('splits every round evenly, so a cluster of heavy inputs splits evenly too', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const owner = deal(1000, [1000, 1000], [0, 1], seeded(seed));
      // Any prefix (the heavy inputs at the front, say) is split within one input.
      for (const prefix of [1, 2, 7, 100, 333, 1000]) {
        const [a, b] = shares(owner.subarray(0, prefix), 2);
        assert.ok(Math.abs(a! - b!) <= 1, `seed ${seed}, first ${prefix}: ${a} vs ${b}`);
      }
    }
  });

  it('does not follow the input order: parity, say, spreads over both workers', () => {
    const owner = deal(1000, [1000, 1000], [0, 1], seeded(7));
    const evenOnZero = [...owner].filter((w, position) => position % 2 === 0 && w === 0).length;
    assert.ok(evenOnZero > 150 && evenOnZero < 350, `${evenOnZero} of 500 even inputs on worker 0`);
  });

  it('is reproducible from its random source', () => {
    const a = deal(64, [32, 32, 32], [0, 1, 2], seeded(3));
    const b = deal(64, [32, 32, 32], [0, 1, 2], seeded(3));
    assert.deepEqual(a, b);
  });
});

describe('the window', () => {
  it('starts at INITIAL_WINDOW, or at the concurrency if lower', () => {
    assert.equal(new Window(10_000, 1).size, INITIAL_WINDOW);
    assert.equal(new Window(16, 1).size, 16);
    assert.equal(new Window(10_000, 3).poolWindow(), 3 * INITIAL_WINDOW);
  });

  it('doubles when an idle worker has its window full, up to the concurrency', () => {
    const window = new Window(3000, 1);
    assert.equal(window.onIdle(INITIAL_WINDOW, false, 0), true);
    assert.equal(window.size, 2 * INITIAL_WINDOW);
    assert.equal(window.onIdle(2 * INITIAL_WINDOW, false, 0), true);
    assert.equal(window.size, 3000);
    assert.equal(window.onIdle(3000, false, 0), false, 'capped');
  });

  it('starts and grows within the descriptors the tasks leave, shared by the workers', () => {
    // Tasks that hold one descriptor each, 300 left for them in all.
    let free = 300;
    const descriptors = { shared: true, initialRoom: 300, room: () => free, stepped: () => {} };
    const window = new Window(10_000, 2, descriptors);
    assert.equal(window.size, 150);
    free = 100;
    assert.equal(window.onIdle(150, false, 300), true);
    assert.equal(window.size, 200, 'grows by what is left, split between the workers');
    free = 0;
    assert.equal(window.onIdle(200, false, 400), false);
    assert.equal(window.size, 200);
  });

  it('with child processes, each worker has the room to itself', () => {
    let free = 300;
    let asked = -1;
    const room = (running: number) => {
      asked = running;
      return free;
    };
    const descriptors = { shared: false, initialRoom: 300, room, stepped: () => {} };
    const window = new Window(10_000, 2, descriptors);
    assert.equal(window.size, 300, 'not split between the workers');
    free = 100;
    assert.equal(window.onIdle(300, false, 600), true);
    assert.equal(asked, 300, "asked with the worker's own tasks");
    assert.equal(window.size, 400);
  });

  it('grows as fast as ever for tasks that hold no descriptors', () => {
    const descriptors = {
      shared: true,
      initialRoom: 300,
      room: () => Number.POSITIVE_INFINITY,
      stepped: () => {},
    };
    const window = new Window(10_000, 2, descriptors);
    assert.equal(window.onIdle(150, false, 300), true);
    assert.equal(window.size, 300);
    assert.equal(window.onIdle(300, false, 600), true);
    assert.equal(window.size, 600);
  });

  it('on overload: halves once per generation, then grows back only slowly', () => {
    let time = 10;
    const window = new Window(10_000, 1, undefined, true, () => time);
    assert.equal(window.onOverload(5), true);
    time = 20;
    assert.equal(window.onOverload(5), false, 'sent before the cut: the same generation');
    assert.equal(window.size, INITIAL_WINDOW / 2);
    assert.equal(window.cutSince(5), true);
    assert.equal(window.cutSince(15), false);
    assert.equal(window.onIdle(512, false, 512), false, 'no growth within the probe period');
    time = 110;
    assert.equal(window.onIdle(512, false, 512), true);
    assert.equal(window.size, 576, 'by an eighth, not doubled');
    time = 150;
    assert.equal(window.aboveLastCut, true);
    assert.equal(window.onOverload(120), true, 'sent after the cut: a new generation');
    assert.equal(window.size, 512, 'back to the last cut, not below, at first');
    time = 200;
    assert.equal(window.onOverload(160), true);
    assert.equal(window.size, 256);
  });

  it('never cuts when adaptation is off', () => {
    const window = new Window(10_000, 1, undefined, false);
    assert.equal(window.onOverload(0), false);
    assert.equal(window.size, INITIAL_WINDOW);
  });

  it('does not grow for a worker short of inputs, nor while workers start', () => {
    const window = new Window(Number.POSITIVE_INFINITY, 1);
    assert.equal(window.onIdle(INITIAL_WINDOW - 1, false, 0), false);
    assert.equal(window.onIdle(INITIAL_WINDOW, true, 0), false);
    assert.equal(window.size, INITIAL_WINDOW);
  });
});

describe('attempts', () => {
  it('a counted attempt adds one and keeps the free re-runs', () => {
    const once = nextAttempts(NO_ATTEMPTS, 'unknown');
    assert.deepEqual(nextAttempts(once, 'own'), {
      counted: 1,
      free: 1,
      errors: 0,
      overAdmitted: 0,
      suspect: true,
    });
  });

  it('a death nobody can pin on a task is free, and makes a suspect for good', () => {
    const suspect = nextAttempts(NO_ATTEMPTS, 'unknown');
    assert.deepEqual(suspect, { counted: 0, free: 1, errors: 0, overAdmitted: 0, suspect: true });
    assert.equal(nextAttempts(suspect, 'other'), suspect, 'another named: nothing changes');
    assert.equal(nextAttempts(suspect, 'tracked'), suspect, 'tracked and not named: not it');
  });

  it('re-runs for a named culprit are free without limit', () => {
    let attempts = NO_ATTEMPTS;
    for (let i = 0; i < 10 * FREE_RERUNS_PER_ATTEMPT; i++)
      attempts = nextAttempts(attempts, 'other');
    assert.deepEqual(attempts, NO_ATTEMPTS);
  });

  it(`every ${FREE_RERUNS_PER_ATTEMPT} re-runs for anonymous deaths count as one attempt`, () => {
    let attempts = NO_ATTEMPTS;
    for (let i = 1; i < FREE_RERUNS_PER_ATTEMPT; i++) {
      attempts = nextAttempts(attempts, 'unknown');
      assert.deepEqual(attempts, {
        counted: 0,
        free: i,
        errors: 0,
        overAdmitted: 0,
        suspect: true,
      });
    }
    assert.deepEqual(nextAttempts(attempts, 'unknown'), {
      counted: 1,
      free: 0,
      errors: 0,
      overAdmitted: 0,
      suspect: true,
    });
  });

  it('matches the float encoding it replaces, over random sequences', () => {
    const FREE_RERUN = 1 / 64;
    const floatNext = (attempts: number, counted: boolean): number => {
      if (counted) return attempts + 1;
      const free = Math.round((attempts - Math.floor(attempts)) / FREE_RERUN) + 1;
      return free >= 8 ? Math.floor(attempts) + 1 : Math.floor(attempts) + free * FREE_RERUN;
    };
    const random = seeded(11);
    for (let sequence = 0; sequence < 200; sequence++) {
      let float = 0;
      let pair = NO_ATTEMPTS;
      for (let step = 0; step < 40; step++) {
        const counted = random() < 0.3;
        float = floatNext(float, counted);
        pair = nextAttempts(pair, counted ? 'own' : 'unknown');
        assert.equal(pair.counted, Math.floor(float));
      }
    }
  });
});

describe('the task table', () => {
  interface Settled {
    index: number;
    ok: boolean;
    result: unknown;
  }

  function setup(inputs: unknown[]) {
    const settled: Settled[] = [];
    const events = { givenUpGrew: 0, drained: 0 };
    const sink: JobSink = {
      settle: (index, _input, ok, result) => settled.push({ index, ok, result }),
      fail: (error) => assert.fail(`unexpected job failure: ${error.message}`),
      done: () => {},
    };
    const job = new Job(
      inputs,
      sink,
      { poolWindow: () => 100, readable: () => {} },
      { timeout: Number.POSITIVE_INFINITY, pacedByConsumer: false },
    );
    const taken = job.take(inputs.length);
    const tableEvents: TaskTableEvents = {
      givenUpGrew: () => events.givenUpGrew++,
      drained: () => events.drained++,
    };
    const table = new TaskTable(tableEvents);
    const worker = { tasks: emptyTasks() } as unknown as WorkerRecord;
    const batch = table.track(7, worker, { job, firstIndex: 0, inputs: taken });
    return { table, worker, batch, settled, events, job };
  }

  it('settles each task once, when its worker reports it ended', () => {
    const { table, worker, batch, settled, events } = setup(['a', 'b']);
    assert.equal(worker.tasks.running, 2);
    table.onTaskEnded(batch, 1, true, 'B');
    table.onTaskEnded(batch, 1, true, 'again');
    assert.deepEqual(settled, [{ index: 1, ok: true, result: 'B' }]);
    table.onTaskEnded(batch, 0, false, 'error');
    assert.equal(settled.length, 2);
    assert.equal(worker.tasks.running, 0);
    assert.equal(events.drained, 1);
    assert.equal(worker.tasks.batches.size, 0, 'a batch leaves once all its tasks ended');
  });

  it('a task settled while running keeps its place until it ends, and settles no more', () => {
    const { table, worker, batch, settled, events } = setup(['a', 'b']);
    table.settleWhileRunning(batch, 0, new Error('timed out'));
    assert.equal(settled.length, 1);
    assert.equal(worker.tasks.givenUp, 1);
    assert.equal(worker.tasks.running, 2, 'still holds its place');
    assert.equal(events.givenUpGrew, 1);
    table.onTaskEnded(batch, 0, true, 'late value');
    assert.equal(settled.length, 1, 'the late value is not reported');
    assert.equal(worker.tasks.givenUp, 0);
    assert.equal(worker.tasks.running, 1);
  });

  it('giving up on a batch tells no caller and returns the offsets to abort', () => {
    const { table, worker, batch, settled } = setup(['a', 'b', 'c']);
    table.onTaskEnded(batch, 1, true, 'B');
    assert.deepEqual(table.giveUp(batch), [0, 2]);
    assert.equal(settled.length, 1);
    assert.equal(worker.tasks.givenUp, 2);
    assert.deepEqual(table.unsettledOffsets(batch), []);
  });

  it('a dead worker: each task its caller still waits for is seen once, then the worker is empty', () => {
    const { table, worker, batch, settled } = setup(['a', 'b', 'c', 'd']);
    table.onTaskEnded(batch, 0, true, 'A');
    table.settleWhileRunning(batch, 1, new Error('aborted'));
    const lost: number[] = [];
    table.clearWorker(worker, (lostBatch, offset) => {
      lost.push(offset);
      if (offset === 3) table.settleLost(lostBatch, offset, new Error('crashed'));
    });
    assert.deepEqual(lost, [2, 3]);
    assert.deepEqual(
      settled.map((s) => s.index),
      [0, 1, 3],
    );
    assert.equal(worker.tasks.running, 0);
    assert.equal(worker.tasks.batches.size, 0);
    assert.equal(table.batchesOf(batch.job).length, 0);
  });
});
