/**
 * Errors as real code throws them — wrapped by fetch, aggregated, with object-valued properties,
 * deep causes, throwing getters — reach the caller whole, from a thread, a child process and the
 * CLI (which names the real code: ECONNREFUSED, not "fetch failed").
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Pool, TaskError } from '../dist/index.js';
import { jsonl, parseRecords, runCli } from './cli-helpers.ts';
import { fixture } from './helpers.ts';

const TASK = fixture('error-shapes.js');

/** A port on 127.0.0.1 that refuses connections: a server bound it, then closed. */
async function refusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function failure(pool: Pool, input: unknown): Promise<TaskError> {
  const error = await pool.run(input).then(
    (value) => assert.fail(`should reject, got ${JSON.stringify(value)}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TaskError, `a TaskError: ${String(error)}`);
  return error;
}

for (const backend of ['thread', 'process'] as const) {
  describe(`errors crossing from a ${backend}`, () => {
    let pool: Pool;
    let port: number;
    before(async () => {
      pool = new Pool(TASK, { workers: 1, backend });
      port = await refusedPort();
    });
    after(() => pool.close());

    it('fetch failed: the message and code of the socket error under it', async () => {
      const error = await failure(pool, { shape: 'fetch-refused', port });
      assert.equal(error.message, `fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`);
      const cause = error.cause as Error & { cause: Error & { code: string } };
      assert.equal(cause.name, 'TypeError');
      assert.equal(cause.cause.code, 'ECONNREFUSED');
    });

    it('an AggregateError keeps its errors, with their classes and codes', async () => {
      const error = await failure(pool, { shape: 'aggregate' });
      const cause = error.cause as AggregateError;
      assert.ok(cause instanceof AggregateError);
      assert.equal(cause.message, 'both failed');
      assert.equal(cause.errors.length, 3);
      assert.ok(cause.errors[0] instanceof Error);
      assert.equal(cause.errors[0].message, 'first failed');
      assert.equal((cause.errors[0] as { code?: string }).code, 'E_FIRST');
      assert.ok(cause.errors[1] instanceof RangeError);
      assert.equal(cause.errors[2], 'a plain string');
    });

    it('object-valued properties arrive; functions and cycles cost only themselves', async () => {
      const error = await failure(pool, { shape: 'object-props' });
      const cause = error.cause as Error & Record<string, unknown>;
      assert.equal(cause.code, 'E_DETAILS');
      assert.deepEqual(cause.details, {
        status: 503,
        headers: { 'retry-after': '5' },
        tried: [1, { host: 'a' }],
      });
      assert.deepEqual(cause.when, new Date(0));
      assert.equal('callback' in cause, false);
      assert.equal(cause.self, '[Circular]');
      const inner = (cause.nested as { inner: unknown }).inner;
      assert.ok(inner instanceof TypeError);
      assert.equal(inner.message, 'inner error');
    });

    it('a deep cause chain arrives whole', async () => {
      const error = await failure(pool, { shape: 'deep-causes' });
      let level: unknown = error.cause;
      const messages: string[] = [];
      while (level instanceof Error) {
        messages.push(level.message);
        level = level.cause;
      }
      assert.deepEqual(messages, [
        'level 5',
        'level 4',
        'level 3',
        'level 2',
        'level 1',
        'level 0',
      ]);
      assert.equal(error.message, messages.join(': '));
    });

    it('a cause that is not an Error stays the value it was', async () => {
      const error = await failure(pool, { shape: 'non-error-cause' });
      assert.deepEqual((error.cause as Error).cause, {
        code: 'E_PLAIN_CAUSE',
        reason: 'an object',
      });
    });

    it('a thrown plain object keeps its code and message', async () => {
      const error = await failure(pool, { shape: 'plain-object' });
      assert.equal(error.message, 'a thrown object');
      assert.equal((error.cause as { code: string }).code, 'E_OBJECT');
    });

    it('an error whose getters throw fails its task, not the worker', async () => {
      const error = await failure(pool, { shape: 'throwing-getter' });
      assert.match(error.message, /could not be read/);
      assert.equal(pool.stats().workers[0]?.id, 0, 'the first worker is still the one running');
      assert.equal(await pool.run({ shape: 'still alive' }), 'still alive');
    });
  });
}

describe('polyloop run: error records name the real reason', () => {
  for (const workers of ['1', '0']) {
    it(`--workers ${workers}: code from the cause chain, message with the causes`, async () => {
      const port = await refusedPort();
      const shapes = [
        'fetch-refused',
        'deep-causes',
        'non-error-cause',
        'plain-object',
        'throwing-getter',
      ];
      const result = await runCli(['run', fileURLToPath(TASK), '--ordered', '-q', '-w', workers], {
        stdin: jsonl(shapes.map((shape) => ({ shape, port }))),
      });
      assert.equal(result.code, 1, result.stderr);
      const errors = parseRecords(result.stdout).map((record) => record.error);
      assert.deepEqual(errors, [
        {
          code: 'ECONNREFUSED',
          message: `fetch failed: connect ECONNREFUSED 127.0.0.1:${port}`,
        },
        {
          code: 'E_DEEPEST',
          message: 'level 5: level 4: level 3: level 2: level 1: level 0',
        },
        { code: 'E_PLAIN_CAUSE', message: 'outer: {"code":"E_PLAIN_CAUSE","reason":"an object"}' },
        { code: 'E_OBJECT', message: 'a thrown object' },
        { code: 'ERR_POLYLOOP_TASK_FAILED', message: '(its message could not be read)' },
      ]);
    });
  }
});
