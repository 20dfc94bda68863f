/**
 * The capacity benchmark's server (bench/capacity/), which later tests use as a real server with
 * finite capacity: FIFO service within the capacity, resets past the backlog, the schedule, and
 * the program in its own process. No sleeps that assume a speed: the tests wait on the server's
 * own counters, and a request that must still be in service when the next one arrives is given a
 * service time no stall can outlast (the server is closed instead of waiting for it).
 */
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type CapacityServer,
  type CapacityStats,
  parseSchedule,
  startCapacityServer,
} from '../bench/capacity/capacity-server.ts';
import { itemBody } from '../bench/capacity/item.js';
import { spawnCapacityServer } from '../bench/capacity/spawn-server.ts';

/** Observed-state polls give up after this long: a guard against a hung test, not a pace. */
const PATIENCE_MS = 20_000;
/** Longer than any test: a request in service this long stays there until the server closes. */
const FOREVER_MS = 600_000;

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** GET on a connection of its own (no keep-alive pool), so each request is its own socket. */
function fetchItem(server: CapacityServer, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = get(`${server.url}${path}`, { agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

async function until(
  server: CapacityServer,
  what: string,
  check: (stats: CapacityStats) => boolean,
): Promise<void> {
  const deadline = Date.now() + PATIENCE_MS;
  while (!check(server.stats())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(5);
  }
}

describe('capacity server', () => {
  it('serves within its capacity in arrival order and answers each item with its body', async () => {
    const server = await startCapacityServer({ capacity: 1, serviceMs: 5, backlog: 10 });
    try {
      const finished: number[] = [];
      const answers: Promise<Answer>[] = [];
      for (let i = 0; i < 5; i++) {
        answers.push(
          fetchItem(server, `/item/${i}`).then((answer) => {
            finished.push(i);
            return answer;
          }),
        );
        // The next request leaves only once the server has this one (in service, queued or done).
        await until(server, `request ${i}`, (s) => s.served + s.inService + s.queued === i + 1);
      }
      const bodies = await Promise.all(answers);
      assert.deepEqual(finished, [0, 1, 2, 3, 4]);
      assert.deepEqual(
        bodies,
        Array.from({ length: 5 }, (_, i) => ({ status: 200, body: itemBody(i) })),
      );
      const stats = server.stats();
      assert.equal(stats.served, 5);
      assert.equal(stats.reset, 0);
      assert.equal(stats.peakInService, 1);
      assert.equal((await fetchItem(server, '/nothing')).status, 404);
    } finally {
      await server.close();
    }
  });

  it('resets the connection of a request that finds the backlog full', async () => {
    const server = await startCapacityServer({ capacity: 1, serviceMs: FOREVER_MS, backlog: 1 });
    const pending: Promise<unknown>[] = [];
    try {
      pending.push(fetchItem(server, '/item/0').catch(() => {}));
      await until(server, 'one in service', (s) => s.inService === 1);
      pending.push(fetchItem(server, '/item/1').catch(() => {}));
      await until(server, 'one queued', (s) => s.queued === 1);
      await assert.rejects(fetchItem(server, '/item/2'), { code: 'ECONNRESET' });
      const stats = server.stats();
      assert.equal(stats.reset, 1);
      assert.equal(stats.peakQueue, 1);
      assert.equal(stats.served, 0);
    } finally {
      await server.close();
      await Promise.all(pending);
    }
  });

  it('changes its capacity on the schedule, counted from the first request', async () => {
    assert.deepEqual(parseSchedule('0:4, 0.5:2'), [
      { atSeconds: 0, capacity: 4 },
      { atSeconds: 0.5, capacity: 2 },
    ]);
    assert.throws(() => parseSchedule('1:4,0.5:2'), /ascend/);
    assert.throws(() => parseSchedule('1:0'), /seconds:capacity/);

    const server = await startCapacityServer({
      capacity: 1,
      serviceMs: FOREVER_MS,
      backlog: 10,
      schedule: parseSchedule('0.05:3'),
    });
    const pending: Promise<unknown>[] = [];
    try {
      assert.equal(server.stats().capacity, 1);
      for (let i = 0; i < 4; i++) pending.push(fetchItem(server, `/item/${i}`).catch(() => {}));
      await until(server, 'capacity 3', (s) => s.capacity === 3);
      // The raise admits the waiting requests at once, up to the new capacity.
      await until(server, 'three in service', (s) => s.inService === 3 && s.queued === 1);
      assert.ok(server.stats().timeline.length > 0);
    } finally {
      await server.close();
      await Promise.all(pending);
    }
  });

  it('runs in its own process and reports its stats on the way out', async () => {
    const server = await spawnCapacityServer({ capacity: 2, serviceMs: 1, backlog: 4 });
    try {
      const answer = await fetch(`${server.url}/item/7`);
      assert.equal(await answer.text(), itemBody(7));
      assert.equal((await server.stats()).served, 1);
    } finally {
      const last = await server.stop();
      assert.equal(last?.served, 1);
      assert.equal(last?.capacity, 2);
    }
  });
});
