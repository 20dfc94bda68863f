import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { after, describe, it } from 'node:test';
import { Pool } from '../dist/index.js';
import { fixture } from './helpers.ts';

const echo = fixture('echo.js');

/** Asserts a TypeError whose message names `option`. */
function rejectsOption(option: string): (error: unknown) => boolean {
  return (error) => error instanceof TypeError && error.message.includes(`\`${option}\``);
}

describe('option validation', () => {
  for (const [option, value] of [
    ['workers', 0],
    ['workers', -1],
    ['workers', 1.5],
    ['workers', '2'],
    ['workers', Number.NaN],
    ['workers', Number.POSITIVE_INFINITY],
    ['concurrency', 0],
    ['concurrency', 2.5],
    ['concurrency', null],
    ['timeout', 0],
    ['timeout', -10],
    ['timeout', '100'],
    ['retries', -1],
    ['retries', 1.5],
    ['backend', 'fiber'],
    ['backend', null],
    ['maxMemoryMb', 0],
  ] as const) {
    it(`rejects ${option}: ${String(value)} with a TypeError naming it`, () => {
      assert.throws(() => new Pool(echo, { [option]: value } as never), rejectsOption(option));
    });
  }

  it('rejects an unknown option, naming it', () => {
    assert.throws(() => new Pool(echo, { worker: 2 } as never), rejectsOption('worker'));
  });

  it('rejects a task module that is neither a URL nor a path', () => {
    assert.throws(() => new Pool(42 as never), TypeError);
  });

  describe('per call', () => {
    const pool = new Pool(echo, { workers: 1 });
    after(() => pool.close());

    it('rejects a bad timeout, signal or ordered, naming it', () => {
      assert.throws(() => pool.run(1, { timeout: -1 }), rejectsOption('timeout'));
      assert.throws(() => pool.map([1], { signal: {} as AbortSignal }), rejectsOption('signal'));
      assert.throws(() => pool.stream([1], { ordered: 'yes' as never }), rejectsOption('ordered'));
    });

    it('rejects an unknown call option, naming it (a typo is not silently ignored)', () => {
      assert.throws(() => pool.run(1, { timout: 5 } as never), rejectsOption('timout'));
      assert.throws(() => pool.map([1], { ordered: true } as never), rejectsOption('ordered'));
      assert.throws(() => pool.stream([1], { orderd: true } as never), rejectsOption('orderd'));
    });

    it('rejects inputs that are not iterable, and goes on', async () => {
      assert.throws(() => pool.map(42 as never), /Iterable/);
      assert.equal(await pool.run('fine'), 'fine');
    });
  });

  it('defaults workers to os.availableParallelism()', async () => {
    const pool = new Pool(echo);
    try {
      assert.equal(pool.workers, availableParallelism());
    } finally {
      await pool.close();
    }
  });

  it('accepts concurrency: Infinity and a string path', async () => {
    const pool = new Pool(new URL(echo).pathname, {
      concurrency: Number.POSITIVE_INFINITY,
      workers: 1,
    });
    try {
      assert.deepEqual(await pool.map([1, 2, 3]), [1, 2, 3]);
    } finally {
      await pool.close();
    }
  });
});
