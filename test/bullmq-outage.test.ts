/**
 * Redis going away under polyloop's queue commands: a real redis-server per test (started here,
 * killed, restarted on the same port with or without its data, or frozen) and real `polyloop
 * enqueue | worker | collect` processes from dist/ (run `npm run build` first). No sleeps that
 * assume a speed: the tests wait on Redis's state, a process's output lines or its exit, each
 * wait bounded so a regression fails instead of hanging.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import { clientIds, newClientLooking } from '../bench/queue/redis-clients.ts';
import { type RestartableRedis, redisSkipReason, startRedis } from './bullmq-redis.ts';
import { fixture } from './helpers.ts';
import {
  CliProcesses,
  type Finished,
  letGo,
  QueueLooks,
  type Running,
  until as untilIn,
  writeLines,
} from './queue-cli.ts';

const TASK = fileURLToPath(fixture('queue-task.js'));
/** Every wait gives up after this long: a guard against a hung test, not a pace. */
const PATIENCE_MS = 60_000;

const skip = redisSkipReason();

describe('polyloop over BullMQ when Redis goes away', { skip }, () => {
  let dir: string;
  const processes = new CliProcesses(PATIENCE_MS);
  const servers: RestartableRedis[] = [];
  const looks = new QueueLooks();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'polyloop-outage-'));
  });

  afterEach(async () => {
    processes.killAll();
    await looks.letGoAll();
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function redis(options?: { appendonly?: boolean }): Promise<RestartableRedis> {
    const server = await startRedis(options);
    servers.push(server);
    return server;
  }

  const cli = (args: string[]): Running => processes.start(args);
  const exitWithin = (running: Running, ms: number, what: string) =>
    processes.exitWithin(running, ms, what);
  const succeeds = (args: string[]) => processes.succeeds(args);

  const inspect = (server: RestartableRedis, name: string): Queue => looks.open(server.url, name);

  const inputFile = (name: string, lines: unknown[]) => writeLines(dir, name, lines);
  const until = <T>(what: string, check: () => Promise<T | undefined> | T | undefined) =>
    untilIn(what, check, PATIENCE_MS);

  const args = (server: RestartableRedis, name: string, ...more: string[]) => [
    '--redis',
    server.url,
    '--queue',
    name,
    ...more,
  ];
  const lines = (text: string) => text.split('\n').filter((line) => line !== '');

  /**
   * The scene of the outage tests below: a fresh Redis, six jobs of 10 minutes each, a worker
   * holding two of them and `collect --follow` connected and looking, the test's own look gone.
   */
  async function holdingTwo(
    name: string,
    extra: { worker?: string[]; collect?: string[] } = {},
  ): Promise<{ server: RestartableRedis; worker: Running; collect: Running }> {
    const server = await redis();
    const input = inputFile(
      `${name}.jsonl`,
      Array.from({ length: 6 }, (_, n) => ({ n, ms: 600_000 })),
    );
    await succeeds(['enqueue', ...args(server, name, '-i', input, '--chunk', '1', '-q')]);
    const worker = cli([
      'worker',
      TASK,
      ...args(server, name, '--workers', '1', '--prefetch', '2', ...(extra.worker ?? [])),
    ]);
    const queue = inspect(server, name);
    await until('the worker to hold 2 jobs', async () =>
      (await queue.getJobCounts('active')).active === 2 ? true : undefined,
    );
    // Started once the worker is in: an outage before collect has connected would be a failed
    // start (exit 2), not the outage the test is about.
    const before = await clientIds(queue);
    const collect = cli([
      'collect',
      ...args(server, name, '--follow', '--poll', '100', ...(extra.collect ?? [])),
    ]);
    await until('collect to connect and look at the queue', async () =>
      (await newClientLooking(queue, before)) ? true : undefined,
    );
    await letGo(queue);
    return { server, worker, collect };
  }

  /** Both ended with exit 3 and one line saying why, not before `timeoutMs` after `since`. */
  function assertGaveUp(ends: Record<string, Finished>, timeoutMs: number, since: number): void {
    for (const [what, end] of Object.entries(ends)) {
      assert.equal(end.code, 3, `${what}:\n${end.stderr}`);
      const errors = lines(end.stderr).filter((line) => /unreachable since .*gave up/.test(line));
      assert.equal(errors.length, 1, `${what}: one line saying why:\n${end.stderr}`);
      assert.match(errors[0]!, /Redis at redis:\/\/127\.0\.0\.1:\d+\/? has been unreachable since/);
      assert.match(errors[0]!, new RegExp(`gave up after ${timeoutMs} ms`));
      assert.doesNotMatch(end.stderr, /\n\s+at /, 'no stack trace');
      // Not before the timeout; well before the 60 s default.
      const waited = end.at - since;
      assert.ok(waited >= timeoutMs - 100 && waited < 30_000, `${what} gave up after ${waited} ms`);
    }
  }

  it('Redis restarted with its data (appendonly): every index is collected once, right values', async () => {
    const server = await redis({ appendonly: true });
    const name = 'restart';
    const count = 60;
    const input = inputFile(
      'restart.jsonl',
      Array.from({ length: count }, (_, n) => ({ n, ms: 150 })),
    );
    // Chunks of 4: a Redis restart mid-run with chunks in hand.
    await succeeds(['enqueue', ...args(server, name, '-i', input, '--chunk', '4', '-q')]);
    const collect = cli(['collect', ...args(server, name, '--follow', '--poll', '100')]);
    const worker = cli([
      'worker',
      TASK,
      ...args(server, name, '--workers', '1', '--prefetch', '4', '--lock-duration', '3000'),
      ...['--stalled-interval', '500', '--max-stalled', '10'],
    ]);
    const queue = inspect(server, name);
    await until('some jobs to finish, with more to go', async () => {
      const { completed = 0 } = await queue.getJobCounts('completed');
      return completed >= 3 && completed < 10 ? true : undefined;
    });
    await server.kill('SIGTERM');
    await until('the worker to notice that Redis is away', () =>
      /Redis unreachable since/.test(worker.stderr()) ? true : undefined,
    );
    await server.restart({ keepData: true });
    await until('the worker to reconnect', () =>
      /Redis is back/.test(worker.stderr()) ? true : undefined,
    );

    const collected = await exitWithin(collect, PATIENCE_MS, 'collect --follow');
    assert.equal(collected.code, 0, collected.stderr);
    const records = lines(collected.stdout).map(
      (line) => JSON.parse(line) as { index: number; value: number },
    );
    assert.equal(records.length, count, 'one record per input, none twice');
    assert.equal(new Set(records.map((record) => record.index)).size, count);
    for (const record of records) {
      assert.deepEqual(record, { index: record.index, value: record.index * 2 });
    }
    worker.child.kill('SIGTERM');
    const stopped = await exitWithin(worker, PATIENCE_MS, 'worker');
    assert.equal(stopped.code, 0, stopped.stderr);
  });

  it('Redis restarted without its data: worker --until-done and collect --follow report lost state (exit 4)', async () => {
    const server = await redis();
    const name = 'amnesia';
    const count = 40;
    const input = inputFile(
      'amnesia.jsonl',
      Array.from({ length: count }, (_, n) => ({ n, ms: 300 })),
    );
    await succeeds(['enqueue', ...args(server, name, '-i', input, '--chunk', '1', '-q')]);
    const collect = cli(['collect', ...args(server, name, '--follow', '--poll', '100', '-q')]);
    const worker = cli([
      'worker',
      TASK,
      ...args(server, name, '--workers', '1', '--prefetch', '2', '--until-done', '-q'),
    ]);
    const queue = inspect(server, name);
    // Both have looked at the queue since the enqueue: collect has written records, and the
    // worker's --until-done check (every 500 ms) has run while it finished 4 jobs of 300 ms.
    await until('records collected and jobs finished', async () => {
      const { completed = 0 } = await queue.getJobCounts('completed');
      return completed >= 4 && lines(collect.stdout()).length >= 1 ? true : undefined;
    });
    await server.restart({ keepData: false });

    const [workerEnd, collectEnd] = await Promise.all([
      exitWithin(worker, PATIENCE_MS, 'worker --until-done'),
      exitWithin(collect, PATIENCE_MS, 'collect --follow'),
    ]);
    for (const [what, end] of [
      ['worker', workerEnd],
      ['collect', collectEnd],
    ] as const) {
      assert.equal(end.code, 4, `${what}:\n${end.stderr}`);
      assert.match(end.stderr, /The queue lost its state .*: 40 of 40 inputs have no job/);
      assert.match(end.stderr, /Re-run polyloop enqueue with the same input/);
      assert.doesNotMatch(end.stderr, /\n\s+at /, 'no stack trace');
    }
    // The records written before the loss are kept.
    assert.ok(lines(collectEnd.stdout).length >= 1);
  });

  it('Redis gone for good: worker and collect --follow give up after --redis-down-timeout (exit 3)', async () => {
    const timeout = ['--redis-down-timeout', '1500'];
    const { server, worker, collect } = await holdingTwo('gone', {
      worker: timeout,
      collect: timeout,
    });
    await server.kill('SIGKILL');
    const killedAt = performance.now();
    const [workerEnd, collectEnd] = await Promise.all([
      exitWithin(worker, PATIENCE_MS, 'worker'),
      exitWithin(collect, PATIENCE_MS, 'collect --follow'),
    ]);
    assertGaveUp({ worker: workerEnd, collect: collectEnd }, 1500, killedAt);
    assert.match(workerEnd.stderr, /2 jobs in hand come back to the queue when their locks expire/);
  });

  it('Redis frozen for good: worker and collect --follow notice, give up after --redis-down-timeout (exit 3)', async () => {
    const timeout = ['--redis-down-timeout', '1500'];
    const { server, worker, collect } = await holdingTwo('frozen-for-good', {
      worker: timeout,
      collect: timeout,
    });
    // Stopped, not gone: the connections stay open and ioredis sees no outage.
    server.freeze(true);
    const frozenAt = performance.now();
    try {
      const [workerEnd, collectEnd] = await Promise.all([
        exitWithin(worker, PATIENCE_MS, 'worker'),
        exitWithin(collect, PATIENCE_MS, 'collect --follow'),
      ]);
      // An unanswered PING counts from when it was sent.
      assertGaveUp({ worker: workerEnd, collect: collectEnd }, 1500, frozenAt);
      assert.match(workerEnd.stderr, /Redis unreachable since/);
    } finally {
      server.freeze(false);
    }
  });

  it('Redis frozen for a while: the worker says so, carries on once it answers, nothing lost', async () => {
    const server = await redis();
    const name = 'frozen-a-while';
    const count = 30;
    const input = inputFile(
      'frozen-a-while.jsonl',
      Array.from({ length: count }, (_, n) => ({ n, ms: 100 })),
    );
    await succeeds(['enqueue', ...args(server, name, '-i', input, '--chunk', '1', '-q')]);
    const worker = cli([
      'worker',
      TASK,
      ...args(server, name, '--workers', '1', '--prefetch', '2', '--until-done'),
      ...['--redis-down-timeout', '60000'],
    ]);
    const queue = inspect(server, name);
    await until('some jobs to finish, with more to go', async () => {
      const { completed = 0 } = await queue.getJobCounts('completed');
      return completed >= 2 && completed < count - 6 ? true : undefined;
    });
    await letGo(queue);
    server.freeze(true);
    try {
      await until('the worker to notice that Redis does not answer', () =>
        /Redis unreachable since/.test(worker.stderr()) ? true : undefined,
      );
    } finally {
      server.freeze(false);
    }
    await until('the worker to see Redis answer again', () =>
      /Redis is back: carrying on/.test(worker.stderr()) ? true : undefined,
    );
    const done = await exitWithin(worker, PATIENCE_MS, 'worker --until-done');
    assert.equal(done.code, 0, done.stderr);
    const collected = await succeeds(['collect', ...args(server, name)]);
    const records = lines(collected.stdout).map(
      (line) => JSON.parse(line) as { index: number; value: number },
    );
    assert.equal(records.length, count, 'one record per input, none twice');
    for (const record of records) {
      assert.deepEqual(record, { index: record.index, value: record.index * 2 });
    }
  });

  it('SIGTERM while Redis is away: worker and collect --follow exit within seconds (130)', async () => {
    const { server, worker, collect } = await holdingTwo('signal-down', { collect: ['-q'] });
    await server.kill('SIGKILL');
    await until('the worker to notice that Redis is away', () =>
      /Redis unreachable since/.test(worker.stderr()) ? true : undefined,
    );
    const signalled = performance.now();
    worker.child.kill('SIGTERM');
    collect.child.kill('SIGTERM');
    const [workerEnd, collectEnd] = await Promise.all([
      exitWithin(worker, PATIENCE_MS, 'worker'),
      exitWithin(collect, PATIENCE_MS, 'collect --follow'),
    ]);
    for (const [what, end] of [
      ['worker', workerEnd],
      ['collect', collectEnd],
    ] as const) {
      assert.equal(end.code, 130, `${what}:\n${end.stderr}`);
      assert.ok(end.at - signalled < 5000, `${what} took ${end.at - signalled} ms`);
      assert.doesNotMatch(end.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.match(workerEnd.stderr, /2 jobs in hand come back to the queue when their locks expire/);
  });

  it('a second SIGTERM exits within a second, even with Redis frozen mid-stop', async () => {
    const { server, worker, collect } = await holdingTwo('frozen', { collect: ['-q'] });
    // Connections stay open but nothing answers: the stop's hand-backs would wait forever.
    server.freeze(true);
    worker.child.kill('SIGTERM');
    await until('the worker to take the first signal', () =>
      /finishing the jobs in hand/.test(worker.stderr()) ? true : undefined,
    );
    const signalled = performance.now();
    worker.child.kill('SIGTERM');
    const workerEnd = await exitWithin(worker, PATIENCE_MS, 'worker');
    assert.equal(workerEnd.code, 130, workerEnd.stderr);
    // A second, with slack for a loaded machine.
    assert.ok(workerEnd.at - signalled < 2500, `took ${workerEnd.at - signalled} ms`);

    // collect --follow, stuck on a look at the frozen Redis: out within seconds as well.
    const collectSignalled = performance.now();
    collect.child.kill('SIGTERM');
    const collectEnd = await exitWithin(collect, PATIENCE_MS, 'collect --follow');
    assert.equal(collectEnd.code, 130, collectEnd.stderr);
    assert.ok(
      collectEnd.at - collectSignalled < 6000,
      `took ${collectEnd.at - collectSignalled} ms`,
    );
    server.freeze(false);
  });
});
