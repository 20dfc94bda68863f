/**
 * The active jobs and their ready queue (src/core/jobs.ts), with real jobs and no pool: who is
 * served in turn, and how many jobs a dispatcher's turn looks at — the jobs it deals from, not
 * every job pending.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Job, type JobSink } from '../dist/core/job.js';
import { Jobs } from '../dist/core/jobs.js';

const SINK: JobSink = { settle: () => {}, fail: () => {}, done: () => {} };

function setup(poolWindow: { size: number }) {
  const jobs = new Jobs();
  const owner = {
    poolWindow: () => poolWindow.size,
    readable: (job: Job) => jobs.update(job),
    changed: (job: Job) => jobs.update(job),
  };
  const add = (inputs: Iterable<unknown>, pacedByConsumer = false): Job => {
    const job = new Job(inputs, SINK, owner, { timeout: Infinity, pacedByConsumer });
    jobs.add(job);
    return job;
  };
  /** What a dispatcher's turn does with the next job ready: take up to `max`, file it again. */
  const serve = (max: number): { job: Job; taken: unknown[] } | undefined => {
    const job = jobs.nextReady();
    if (!job) return undefined;
    const taken = job.take(max);
    jobs.update(job);
    return { job, taken };
  };
  return { jobs, add, serve };
}

/** Counts the jobs looked at (Job.holdUp) while `body` runs. */
function countLooks(body: () => void): number {
  const holdUp = Job.prototype.holdUp;
  let looks = 0;
  Job.prototype.holdUp = function (this: Job) {
    looks++;
    return holdUp.call(this);
  };
  try {
    body();
  } finally {
    Job.prototype.holdUp = holdUp;
  }
  return looks;
}

describe('the jobs', () => {
  it('serves the ready jobs in turn, each one to the back of the queue', () => {
    const { add, serve } = setup({ size: 100 });
    const a = add([1, 2, 3]);
    const b = add([4, 5, 6]);
    const c = add([7, 8, 9]);
    const order = Array.from({ length: 7 }, () => serve(1)!.job);
    assert.deepEqual(order, [a, b, c, a, b, c, a]);
  });

  it('a job without room leaves the queue, and comes back at its end when a settle makes room', () => {
    const { jobs, add, serve } = setup({ size: 2 });
    const a = add([1, 2, 3, 4]);
    const b = add([5, 6, 7, 8]);
    assert.equal(serve(10)!.taken.length, 2, 'a takes its window');
    assert.equal(serve(10)!.job, b);
    assert.equal(jobs.nextReady(), undefined, 'both wait for room');
    a.settle(0, 1, true, 1);
    assert.equal(serve(10)!.job, a);
  });

  it('a turn looks at the jobs it deals from, not at the ones waiting for room or done', () => {
    const window = { size: 1 };
    const { jobs, add, serve } = setup(window);
    // 10,000 jobs each with a task in flight and no room for their second input.
    for (let i = 0; i < 10_000; i++) add([i, i]);
    for (let i = 0; i < 10_000; i++) assert.equal(serve(1)!.taken.length, 1);
    // And 10,000 jobs whose one input is in flight: nothing left to deal.
    for (let i = 0; i < 10_000; i++) add([i]);
    const fresh = countLooks(() => {
      for (let i = 0; i < 10_000; i++) serve(1);
    });
    assert.ok(fresh <= 3 * 10_000, `${fresh} looks to deal 10,000 inputs`);
    assert.equal(jobs.size, 20_000);
    const last = add(['last']);
    const looks = countLooks(() => assert.equal(serve(1)!.job, last));
    assert.ok(looks <= 3, `${looks} looks to find the one job ready among 20,001`);
    assert.equal(jobs.nextReady(), undefined);
    // A wider window is room for all of them: those waiting for it are looked at again.
    window.size = 2;
    jobs.roomGrew();
    let served = 0;
    while (serve(1)) served++;
    assert.equal(served, 10_000);
  });

  it('counts the undealt inputs and whether any job has inputs left, as jobs move', () => {
    const { jobs, add, serve } = setup({ size: 3 });
    function* three() {
      yield 1;
      yield 2;
      yield 3;
    }
    const job = add(three(), true);
    assert.equal(jobs.anyInputsLeft(), true);
    assert.deepEqual(serve(10)!.taken, [1, 2, 3]);
    assert.equal(jobs.undealt(), 0);
    // Every input settled while the consumer had taken none, and the window is full: the job
    // asks its source for the end only once the consumer makes room, and finds it.
    for (const [index, value] of [1, 2, 3].entries()) job.settle(index, value, true, value);
    assert.equal(jobs.anyInputsLeft(), true);
    job.release(3);
    assert.equal(job.finished, true);
    assert.equal(jobs.anyInputsLeft(), false);
    assert.equal(jobs.delete(job), true);
    assert.equal(jobs.size, 0);
    assert.equal(jobs.delete(job), false);
  });

  it('a peeked input counts as undealt until a turn deals it', () => {
    const { jobs, add, serve } = setup({ size: 1 });
    function* two() {
      yield 'a';
      yield 'b';
    }
    const job = add(two());
    assert.deepEqual(serve(5)!.taken, ['a']);
    // Its one task settles: the job peeks at its source for the end, and keeps 'b'.
    job.settle(0, 'a', true, 'A');
    assert.equal(jobs.undealt(), 1);
    assert.deepEqual(serve(5)!.taken, ['b']);
    assert.equal(jobs.undealt(), 0);
  });
});
