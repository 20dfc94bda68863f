import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pool } from '../dist/index.js';
import { takesContext } from '../dist/worker/takes-context.js';
import { fixture } from './helpers.ts';

describe('which tasks are given a ctx', () => {
  it('skips it only for one plain parameter and no `arguments`', () => {
    const without = [
      async function one(input: unknown) {
        return input;
      },
      async (input: unknown) => input,
      (input: unknown) => input,
      new Function('input', 'return input') as () => unknown,
      {
        method(input: unknown) {
          return input;
        },
      }.method,
    ];
    for (const task of without) assert.equal(takesContext(task), false, String(task));
    const withIt: Array<(...args: never[]) => unknown> = [
      async (_input: unknown, ctx: unknown) => ctx,
      async (...args: unknown[]) => args[1],
      async (_input: unknown, { signal }: { signal: AbortSignal }) => signal,
      (input: unknown = 1) => input,
      function (this: unknown, input: unknown) {
        // biome-ignore lint/complexity/noArguments: the form under test
        return arguments[1] ?? input;
      },
      async () => 0,
      (async (input: unknown) => input).bind(null),
      new Proxy(async (input: unknown) => input, {}),
      new Function('input', 'ctx', 'return ctx') as () => unknown,
    ];
    for (const task of withIt) assert.equal(takesContext(task), true, String(task));
  });

  it('a task reaching ctx through a rest parameter still gets one; one without runs as before', async () => {
    const pool = new Pool(fixture('rest-context.js'), { workers: 1 });
    const plain = new Pool(fixture('echo.js'), { workers: 1 });
    try {
      assert.deepEqual(await pool.map([1, 2]), [
        [1, 'number', false],
        [2, 'number', false],
      ]);
      assert.deepEqual(await plain.map([{ a: 1 }, 2]), [{ a: 1 }, 2]);
    } finally {
      await Promise.all([pool.close(), plain.close()]);
    }
  });
});
