/**
 * polyloop over BullMQ, end to end: a real redis-server (started here, on a free port) and real
 * `polyloop enqueue | worker | collect` processes (run `npm run build` first). No sleeps that
 * assume a speed: the tests wait on what they can observe in Redis or on a process's exit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import {
  collectResults,
  enqueueInputs,
  MissingJobsError,
  QueueMonitor,
  type QueueRecord,
  RedisUnavailableError,
  startQueueWorker,
} from '../dist/bullmq/index.js';
import { type RedisServer, redisSkipReason, startRedis } from './bullmq-redis.ts';
import { fixture } from './helpers.ts';
import { CliProcesses, type Running, until as untilIn, writeLines } from './queue-cli.ts';

const TASK = fileURLToPath(fixture('queue-task.js'));
/** Observed-state polls give up after this long: a guard against a hung test, not a pace. */
const PATIENCE_MS = 45_000;

const skip = redisSkipReason();

describe('polyloop over BullMQ', { skip }, () => {
  let redis: RedisServer;
  let dir: string;
  const processes = new CliProcesses(PATIENCE_MS);
  const queues: Queue[] = [];

  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), 'polyloop-bullmq-'));
  });

  after(async () => {
    processes.killAll();
    await Promise.all(queues.map((queue) => queue.close()));
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]): Running => processes.start(args);
  const succeeds = (args: string[], expectedCode = 0) => processes.succeeds(args, expectedCode);

  function queueArgs(name: string): string[] {
    return ['--redis', redis.url, '--queue', name];
  }

  /** A BullMQ handle on the queue, to look at its jobs the way any BullMQ user would. */
  function inspect(name: string): Queue {
    const queue = new Queue(name, { connection: { url: redis.url } });
    queues.push(queue);
    return queue;
  }

  const inputFile = (name: string, lines: unknown[]) => writeLines(dir, name, lines);

  function records(path: string): QueueRecord[] {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as QueueRecord);
  }

  const until = <T>(what: string, check: () => Promise<T | undefined>) =>
    untilIn(what, check, PATIENCE_MS);

  it('re-enqueueing the same file adds nothing; records match polyloop run, errors after their attempts', async () => {
    const lines: unknown[] = Array.from({ length: 30 }, (_, n) => ({ n, fail: n % 10 === 4 }));
    // A blank line is no input and gets no job, but it keeps its line number.
    lines.push('', '{not json');
    const input = inputFile('errors.jsonl', lines);
    const first = await succeeds([
      'enqueue',
      ...queueArgs('errors'),
      '-i',
      input,
      '--chunk',
      '1',
      '--attempts',
      '2',
      '--backoff',
      '1',
    ]);
    assert.match(first.stderr, /31 inputs in 31 jobs, 31 added/);
    const again = await succeeds([
      'enqueue',
      ...queueArgs('errors'),
      '-i',
      input,
      '--chunk',
      '1',
      '--attempts',
      '2',
    ]);
    assert.match(again.stderr, /31 inputs in 31 jobs, 0 added \(31 were already in the queue\)/);
    const queue = inspect('errors');
    assert.equal((await queue.getJobCounts('waiting')).waiting, 31);

    await succeeds([
      'worker',
      TASK,
      ...queueArgs('errors'),
      '--workers',
      '1',
      '--until-done',
      '-q',
    ]);
    const output = join(dir, 'errors-out.jsonl');
    const collected = await succeeds(['collect', ...queueArgs('errors'), '-o', output], 1);
    assert.match(collected.stderr, /31 records \(4 errors\)/);

    // Two attempts in the queue are one error retry in `polyloop run`: the same records.
    const viaRun = join(dir, 'errors-run.jsonl');
    const retryOnce = ['--retry-errors', '1', '--retry-delay', '1'];
    await succeeds(
      ['run', TASK, '-i', input, '-o', viaRun, '--workers', '1', '-q', ...retryOnce],
      1,
    );
    const sorted = (path: string) => records(path).sort((a, b) => a.index - b.index);
    assert.deepEqual(sorted(output), sorted(viaRun));
    assert.deepEqual(sorted(output)[4], {
      index: 4,
      error: { code: 'E_QUEUE_TASK', message: 'input 4 failed' },
      attempts: 2,
    });
    assert.equal(sorted(output)[30]!.index, 31);
    assert.equal(
      (sorted(output)[30] as { error: { code: string } }).error.code,
      'ERR_POLYLOOP_INVALID_INPUT',
    );
    // The task's failures used both attempts; the malformed line failed once, for good.
    assert.equal((await queue.getJob('input-4'))?.attemptsMade, 2);
    assert.equal((await queue.getJob('input-31'))?.attemptsMade, 1);

    // `worker --retry-errors` decides in place of the jobs' own attempts (1 here), as `run` does.
    const oneJobEach = ['--chunk', '1', '--attempts', '1'];
    await succeeds(['enqueue', ...queueArgs('worker-retries'), '-i', input, ...oneJobEach]);
    await succeeds([
      'worker',
      TASK,
      ...queueArgs('worker-retries'),
      '--workers',
      '1',
      '--until-done',
      '-q',
      ...retryOnce,
    ]);
    const retried = join(dir, 'worker-retries-out.jsonl');
    await succeeds(['collect', ...queueArgs('worker-retries'), '-o', retried], 1);
    assert.deepEqual(sorted(retried), sorted(viaRun));
    assert.equal((await inspect('worker-retries').getJob('input-4'))?.attemptsMade, 2);
  });

  it('one job per input: a machine killed mid-run, its jobs run on the other, every index once', async () => {
    const count = 120;
    const name = 'kill';
    const output = join(dir, 'kill-out.jsonl');
    // Collect first: --follow must wait for the enqueue to finish, not stop at an empty queue.
    const collect = cli([
      'collect',
      ...queueArgs(name),
      '-o',
      output,
      '--follow',
      '--poll',
      '100',
      '-q',
    ]);
    const input = inputFile(
      'kill.jsonl',
      Array.from({ length: count }, (_, n) => ({ n, ms: 250 })),
    );
    await succeeds(['enqueue', ...queueArgs(name), '-i', input, '--chunk', '1']);
    // Short locks so the dead machine's jobs come back in seconds; many allowed stalls so a
    // busy machine missing a renewal cannot fail a job.
    const machine = (id: string) =>
      cli([
        'worker',
        TASK,
        ...queueArgs(name),
        ...['--name', id, '--workers', '1', '--prefetch', '6'],
        ...['--lock-duration', '2000', '--stalled-interval', '500', '--max-stalled', '10', '-q'],
      ]);
    const doomed = machine('doomed');
    const survivor = machine('survivor');
    const queue = inspect(name);

    // Kill once the doomed machine has finished some jobs and holds others.
    const held = await until('the doomed machine to hold jobs after finishing some', async () => {
      const completed = await queue.getJobs(['completed']);
      const active = await queue.getJobs(['active']);
      const mine = active.filter((job) => job.processedBy === 'doomed');
      const finishedSome = completed.some((job) => job.processedBy === 'doomed');
      return finishedSome && mine.length >= 3 ? mine.map((job) => job.id!) : undefined;
    });
    doomed.child.kill('SIGKILL');
    assert.equal((await doomed.finished).signal, 'SIGKILL');

    const collected = await collect.finished;
    assert.equal(collected.code, 0, collected.stderr);
    const got = records(output);
    assert.equal(got.length, count);
    const seen = new Set(got.map((record) => record.index));
    assert.equal(seen.size, count, 'every index exactly once');
    for (const record of got)
      assert.deepEqual(record, { index: record.index, value: record.index * 2 });

    // The jobs in hand at the kill were taken back from the dead machine (stalled) and finished.
    const recovered = await Promise.all(held.map((id) => queue.getJob(id)));
    const stalled = recovered.filter((job) => job && job.stalledCounter > 0);
    assert.ok(stalled.length > 0, 'some jobs of the dead machine were recovered as stalled');
    for (const job of stalled) assert.equal(job?.finishedOn !== undefined, true);

    survivor.child.kill('SIGTERM');
    assert.equal((await survivor.finished).code, 0);
  });

  it('SIGTERM: the worker takes no more jobs and finishes the ones in hand', async () => {
    const name = 'graceful';
    const input = inputFile(
      'graceful.jsonl',
      Array.from({ length: 40 }, (_, n) => ({ n, ms: 300 })),
    );
    await succeeds(['enqueue', ...queueArgs(name), '-i', input, '--chunk', '1']);
    const worker = cli([
      'worker',
      TASK,
      ...queueArgs(name),
      '--workers',
      '1',
      '--prefetch',
      '4',
      '-q',
    ]);
    const queue = inspect(name);
    const inHand = await until('the worker to hold 4 jobs', async () => {
      const active = await queue.getJobs(['active']);
      return active.length === 4 ? active.map((job) => job.id!) : undefined;
    });
    worker.child.kill('SIGTERM');
    const finished = await worker.finished;
    assert.equal(finished.code, 0, finished.stderr);
    const {
      active = -1,
      completed = -1,
      waiting = -1,
    } = await queue.getJobCounts('active', 'completed', 'waiting');
    assert.equal(active, 0);
    assert.ok(completed >= 4 && completed < 40, `completed ${completed}`);
    assert.equal(completed + waiting, 40);
    for (const id of inHand) assert.equal(await (await queue.getJob(id))?.getState(), 'completed');
  });

  it('a second SIGTERM stops at once: the jobs in hand go back to the queue, no attempt used', async () => {
    const name = 'forced';
    const input = inputFile(
      'forced.jsonl',
      Array.from({ length: 8 }, (_, n) => ({ n, ms: 600_000 })),
    );
    // One attempt each: a job failed by the stop would be failed for good.
    await succeeds(['enqueue', ...queueArgs(name), '-i', input, '--chunk', '1', '--attempts', '1']);
    const worker = cli(['worker', TASK, ...queueArgs(name), '--workers', '1', '--prefetch', '4']);
    const queue = inspect(name);
    const inHand = await until('the worker to hold 4 jobs', async () => {
      const active = await queue.getJobs(['active']);
      return active.length === 4 ? active.map((job) => job.id!) : undefined;
    });
    worker.child.kill('SIGTERM');
    await until('the first signal to be taken', async () =>
      /finishing the jobs in hand/.test(worker.stderr()) ? true : undefined,
    );
    worker.child.kill('SIGTERM');
    const finished = await worker.finished;
    assert.equal(finished.code, 130, finished.stderr);
    const counts = await queue.getJobCounts('active', 'failed', 'completed');
    assert.deepEqual(counts, { active: 0, failed: 0, completed: 0 });
    for (const id of inHand) {
      const job = (await queue.getJob(id))!;
      assert.equal(job.attemptsMade, 0, `job ${id}`);
      assert.ok(['delayed', 'waiting'].includes(await job.getState()), `job ${id}`);
      assert.equal(job.data.error, undefined, `job ${id}`);
    }
  });

  it('a job whose machines keep dying fails with ERR_POLYLOOP_WORKER_CRASHED past --max-stalled', async () => {
    const name = 'stall-limit';
    await succeeds([
      'enqueue',
      ...queueArgs(name),
      '-i',
      inputFile('stall.jsonl', [{ n: 0, ms: 60_000 }]),
      '--chunk',
      '1',
    ]);
    // Every machine of a queue must share these: the first stalled check of any of them holds the
    // others' checks off for its own --stalled-interval.
    const stallOptions = [
      ...['--workers', '1', '--max-stalled', '0'],
      ...['--lock-duration', '1000', '--stalled-interval', '300'],
    ];
    const doomed = cli([
      'worker',
      TASK,
      ...queueArgs(name),
      ...stallOptions,
      '--name',
      'doomed',
      '-q',
    ]);
    const queue = inspect(name);
    await until('the doomed machine to take the job', async () =>
      (await queue.getJob('input-0'))?.processedBy === 'doomed' ? true : undefined,
    );
    doomed.child.kill('SIGKILL');
    await doomed.finished;
    const options = [...stallOptions, '--until-done', '-q'];
    await succeeds(['worker', TASK, ...queueArgs(name), ...options]);
    const output = join(dir, 'stall-out.jsonl');
    await succeeds(['collect', ...queueArgs(name), '-o', output], 1);
    assert.deepEqual(records(output), [
      {
        index: 0,
        error: {
          code: 'ERR_POLYLOOP_WORKER_CRASHED',
          message: 'job stalled more than allowable limit',
        },
      },
    ]);
  });

  it('library: collectResults with follow reports inputs whose job was removed', async () => {
    const target = { redis: redis.url, queue: 'missing' };
    const summary = await enqueueInputs(target, [{ n: 1 }, { n: 2 }, { n: 3 }], { chunk: 1 });
    assert.deepEqual(summary, { inputs: 3, jobs: 3, added: 3, complete: true });
    await inspect('missing').remove('input-1');
    const worker = await startQueueWorker(TASK, target, { workers: 1 });
    const got: QueueRecord[] = [];
    await assert.rejects(
      (async () => {
        for await (const record of collectResults(target, { follow: true, pollInterval: 50 })) {
          got.push(record);
        }
      })(),
      (error: unknown) => error instanceof MissingJobsError && error.missing === 1,
    );
    await worker.close();
    assert.deepEqual(
      got.sort((a, b) => a.index - b.index),
      [
        { index: 0, value: 2 },
        { index: 2, value: 6 },
      ],
    );
  });

  it('collect with an unreachable Redis leaves the output file of the last collection as it was', async () => {
    const output = join(dir, 'last-collection.jsonl');
    const before = '{"index":0,"value":0}\n';
    writeFileSync(output, before);
    const closedPort = `redis://127.0.0.1:${redis.port === 1 ? 2 : 1}`;
    const result = await cli([
      'collect',
      '--redis',
      closedPort,
      '--queue',
      'nowhere',
      '-o',
      output,
      '-q',
    ]).finished;
    assert.equal(result.code, 2, result.stderr);
    assert.equal(readFileSync(output, 'utf8'), before);
  });

  describe('chunks: many inputs per job', () => {
    it('enqueue is idempotent, refuses another chunk size; each input retried alone', async () => {
      const name = 'chunks';
      const log = join(dir, 'chunks-runs.log');
      const lines: unknown[] = Array.from({ length: 1000 }, (_, n) => ({
        n,
        log,
        ...(n % 100 === 4 ? { fail: true } : {}),
        ...(n % 100 === 7 ? { failFirst: true } : {}),
      }));
      lines[500] = ''; // a blank line: no input, no record; the lines after keep their numbers
      lines[600] = '{not json';
      const input = inputFile('chunks.jsonl', lines);
      const enqueue = ['enqueue', ...queueArgs(name), '-i', input, '--chunk', '64'];
      const options = ['--attempts', '2', '--backoff', '1'];
      const first = await succeeds([...enqueue, ...options]);
      const jobs = Number(/999 inputs in (\d+) jobs, (\d+) added/.exec(first.stderr)?.[1]);
      assert.ok(jobs >= 999 / 64 && jobs < 999 / 16, first.stderr);
      assert.match(first.stderr, new RegExp(`in ${jobs} jobs, ${jobs} added`));
      const again = await succeeds([...enqueue, ...options]);
      assert.match(again.stderr, new RegExp(`0 added \\(${jobs} were already in the queue\\)`));
      const other = await succeeds(
        ['enqueue', ...queueArgs(name), '-i', input, '--chunk', '100'],
        2,
      );
      assert.match(other.stderr, /enqueued 64 per job; this enqueue asks for 100 per job/);
      const queue = inspect(name);
      assert.equal((await queue.getJobCounts('waiting')).waiting, jobs);

      await succeeds(['worker', TASK, ...queueArgs(name), '--workers', '2', '--until-done', '-q']);
      const output = join(dir, 'chunks-out.jsonl');
      const collected = await succeeds(['collect', ...queueArgs(name), '-o', output], 1);
      assert.match(collected.stderr, /999 records \(11 errors\)/);
      assert.match(collected.stderr, /machines: \S+ 100%\n$/, 'the one machine did it all');
      const got = records(output).sort((a, b) => a.index - b.index);
      assert.equal(new Set(got.map((record) => record.index)).size, 999, 'every index once');
      for (const record of got) {
        const n = record.index;
        if (n === 600) {
          assert.equal(
            (record as { error: { code: string } }).error.code,
            'ERR_POLYLOOP_INVALID_INPUT',
          );
        } else if (n % 100 === 4) {
          assert.deepEqual(record, {
            index: n,
            error: { code: 'E_QUEUE_TASK', message: `input ${n} failed` },
            attempts: 2,
          });
        } else if (n % 100 === 7) {
          assert.deepEqual(record, { index: n, value: n * 2, attempts: 2 });
        } else {
          assert.deepEqual(record, { index: n, value: n * 2 });
        }
      }
      // Retries were per input: a failing input ran twice, its neighbours once.
      const runs = new Map<number, number>();
      for (const line of readFileSync(log, 'utf8').split('\n')) {
        if (line !== '') runs.set(Number(line), (runs.get(Number(line)) ?? 0) + 1);
      }
      for (const [n, count] of runs) {
        assert.equal(
          count,
          n % 100 === 4 || n % 100 === 7 ? 2 : 1,
          `input ${n} ran ${count} times`,
        );
      }
      assert.equal(runs.size, 998);
    });

    it('a machine killed mid-chunk: its chunks run on the other, every index collected once', async () => {
      const count = 240;
      const name = 'chunk-kill';
      const output = join(dir, 'chunk-kill-out.jsonl');
      const collect = cli([
        'collect',
        ...queueArgs(name),
        '-o',
        output,
        '--follow',
        '--poll',
        '100',
        '-q',
      ]);
      const input = inputFile(
        'chunk-kill.jsonl',
        Array.from({ length: count }, (_, n) => ({ n, ms: 200 + (n % 7) * 20 })),
      );
      await succeeds(['enqueue', ...queueArgs(name), '-i', input, '--chunk', '10']);
      const machine = (id: string) =>
        cli([
          'worker',
          TASK,
          ...queueArgs(name),
          ...['--name', id, '--workers', '1', '--concurrency', '10', '--prefetch', '3'],
          ...['--lock-duration', '2000', '--stalled-interval', '500', '--max-stalled', '10', '-q'],
        ]);
      const doomed = machine('doomed');
      const survivor = machine('survivor');
      const queue = inspect(name);
      const held = await until(
        'the doomed machine to hold chunks after finishing one',
        async () => {
          const completed = await queue.getJobs(['completed']);
          const active = await queue.getJobs(['active']);
          const mine = active.filter((job) => job.processedBy === 'doomed');
          const finishedSome = completed.some((job) => job.processedBy === 'doomed');
          return finishedSome && mine.length >= 2 ? mine.map((job) => job.id!) : undefined;
        },
      );
      doomed.child.kill('SIGKILL');
      assert.equal((await doomed.finished).signal, 'SIGKILL');

      const collected = await collect.finished;
      assert.equal(collected.code, 0, collected.stderr);
      const got = records(output);
      assert.equal(got.length, count);
      assert.equal(new Set(got.map((record) => record.index)).size, count, 'every index once');
      for (const record of got)
        assert.deepEqual(record, { index: record.index, value: record.index * 2 });
      const recovered = await Promise.all(held.map((id) => queue.getJob(id)));
      assert.ok(
        recovered.some((job) => job && job.stalledCounter > 0 && job.finishedOn !== undefined),
        'a chunk of the dead machine was recovered as stalled and finished',
      );
      survivor.child.kill('SIGTERM');
      assert.equal((await survivor.finished).code, 0);
    });

    it('library: chunked enqueueInputs and collectResults, one record per input', async () => {
      const target = { redis: redis.url, queue: 'chunk-library' };
      const inputs = Array.from({ length: 700 }, (_, n) => ({ n }));
      const summary = await enqueueInputs(target, inputs);
      assert.equal(summary.inputs, 700);
      assert.equal(summary.added, summary.jobs);
      assert.ok(summary.jobs < 10, `default chunk: ${summary.jobs} jobs`);
      const worker = await startQueueWorker(TASK, target, { workers: 1, name: 'lib-machine' });
      const got: QueueRecord[] = [];
      for await (const record of collectResults(target, { follow: true, pollInterval: 50 })) {
        got.push(record);
      }
      await worker.close();
      assert.deepEqual(worker.counts(), { active: 0, completed: 700, failed: 0, retried: 0 });
      // Its share of the run, reported to Redis by the time it stopped.
      const monitor = await QueueMonitor.open(target);
      const status = await monitor.status();
      await monitor.close();
      assert.equal(status.finished, true);
      assert.deepEqual(
        status.machines.map(({ name, done, failed }) => ({ name, done, failed })),
        [{ name: 'lib-machine', done: 700, failed: 0 }],
      );
      assert.deepEqual(
        got.sort((a, b) => a.index - b.index),
        inputs.map(({ n }) => ({ index: n, value: n * 2 })),
      );
    });
  });

  it('library: an unreachable Redis fails with RedisUnavailableError instead of hanging', async () => {
    const closedPort = `redis://127.0.0.1:${redis.port === 1 ? 2 : 1}`;
    await assert.rejects(
      enqueueInputs({ redis: closedPort, queue: 'nowhere', connectTimeout: 300 }, [1]),
      (error: unknown) =>
        error instanceof RedisUnavailableError && error.code === 'ERR_POLYLOOP_REDIS_UNAVAILABLE',
    );
  });
});
