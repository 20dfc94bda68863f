/**
 * Redis going away in the middle of a real `polyloop enqueue`: the test writes its standard input,
 * so the outage comes at a known point — the first job added (it goes alone), the rest of the
 * input not yet written — and then ends the input. A real redis-server per test; no sleeps that
 * assume a speed, every wait bounded.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Queue } from 'bullmq';
import { type RestartableRedis, redisSkipReason, startRedis } from './bullmq-redis.ts';
import { CliProcesses, letGo, QueueLooks, type Running, until as untilIn } from './queue-cli.ts';

/** Every wait gives up after this long: a guard against a hung test, not a pace. */
const PATIENCE_MS = 60_000;
const INPUTS = 5;

describe('polyloop enqueue when Redis goes away mid-enqueue', { skip: redisSkipReason() }, () => {
  const processes = new CliProcesses(PATIENCE_MS);
  const servers: RestartableRedis[] = [];
  const looks = new QueueLooks();

  afterEach(async () => {
    processes.killAll();
    for (const server of servers) server.freeze(false);
    await looks.letGoAll();
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  const until = <T>(what: string, check: () => Promise<T | undefined> | T | undefined) =>
    untilIn(what, check, PATIENCE_MS);

  const inspect = (server: RestartableRedis, name: string): Queue => looks.open(server.url, name);

  async function jobsIn(queue: Queue): Promise<number> {
    const counts = await queue.getJobCounts();
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  const line = (n: number) => `${JSON.stringify({ n })}\n`;

  /** An enqueue reading its standard input, its first job in Redis, the rest still to come. */
  async function midEnqueue(
    name: string,
    options: { appendonly?: boolean; timeoutMs?: number } = {},
  ): Promise<{ server: RestartableRedis; enqueue: Running }> {
    const server = await startRedis({ appendonly: options.appendonly });
    servers.push(server);
    const enqueue = processes.start(
      [
        'enqueue',
        ...['--redis', server.url, '--queue', name, '-i', '-', '--chunk', '1', '-q'],
        ...['--redis-down-timeout', String(options.timeoutMs ?? 60_000)],
      ],
      { stdin: true },
    );
    // The chunker reads one input ahead: two lines in, the first job goes (alone).
    enqueue.child.stdin!.write(line(0) + line(1));
    const queue = inspect(server, name);
    await until('the first job to be added', async () =>
      (await jobsIn(queue)) === 1 ? true : undefined,
    );
    await letGo(queue);
    return { server, enqueue };
  }

  /** The rest of the input, and its end. */
  function finishInput(enqueue: Running): void {
    for (let n = 2; n < INPUTS; n++) enqueue.child.stdin!.write(line(n));
    enqueue.child.stdin!.end();
  }

  it('Redis gone for good: enqueue gives up after --redis-down-timeout (exit 3)', async () => {
    const { server, enqueue } = await midEnqueue('gone', { timeoutMs: 1500 });
    await server.kill('SIGKILL');
    finishInput(enqueue);
    const end = await processes.exitWithin(enqueue, PATIENCE_MS, 'enqueue');
    assert.equal(end.code, 3, end.stderr);
    assert.match(end.stderr, /has been unreachable since .*: gave up after 1500 ms/);
    assert.doesNotMatch(end.stderr, /\n\s+at /, 'no stack trace');
  });

  it('Redis frozen for good: enqueue notices and gives up after --redis-down-timeout (exit 3)', async () => {
    const { server, enqueue } = await midEnqueue('frozen', { timeoutMs: 1500 });
    server.freeze(true);
    finishInput(enqueue);
    const end = await processes.exitWithin(enqueue, PATIENCE_MS, 'enqueue');
    assert.equal(end.code, 3, end.stderr);
    assert.match(end.stderr, /has been unreachable since .*: gave up after 1500 ms/);
  });

  it('Redis restarted with its data: enqueue finishes, every input once, a re-run adds none', async () => {
    const { server, enqueue } = await midEnqueue('restart', { appendonly: true });
    await server.restart({ keepData: true });
    finishInput(enqueue);
    const end = await processes.exitWithin(enqueue, PATIENCE_MS, 'enqueue');
    assert.equal(end.code, 0, end.stderr);
    const queue = inspect(server, 'restart');
    assert.equal(await jobsIn(queue), INPUTS);
    // Job ids come from input indices: enqueueing the same input again adds nothing.
    const again = processes.start(
      ['enqueue', '--redis', server.url, '--queue', 'restart', '-i', '-', '--chunk', '1', '-q'],
      { stdin: true },
    );
    for (let n = 0; n < INPUTS; n++) again.child.stdin!.write(line(n));
    again.child.stdin!.end();
    const rerun = await processes.exitWithin(again, PATIENCE_MS, 'enqueue again');
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.equal(await jobsIn(queue), INPUTS);
  });

  it('Redis restarted without its data: enqueue says which inputs have no job (exit 4)', async () => {
    const { server, enqueue } = await midEnqueue('amnesia');
    await server.restart({ keepData: false });
    finishInput(enqueue);
    const end = await processes.exitWithin(enqueue, PATIENCE_MS, 'enqueue');
    assert.equal(end.code, 4, end.stderr);
    assert.match(end.stderr, /The queue lost its state .*: 1 of 5 inputs have no job/);
    assert.match(end.stderr, /Re-run polyloop enqueue with the same input/);
    assert.doesNotMatch(end.stderr, /\n\s+at /, 'no stack trace');
  });
});
