import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Pool } from '../dist/index.js';
import { type ControlInput, cells, fixture, reach, release } from './helpers.ts';

describe('result order', () => {
  const pool = new Pool(fixture('control.js'), { workers: 2, concurrency: 16 });
  after(() => pool.close());

  it('map returns outputs in input order', async () => {
    const inputs: ControlInput[] = Array.from({ length: 500 }, (_, i) => ({
      op: 'value',
      value: i * 3,
    }));
    const outputs = await pool.map(inputs);
    assert.deepEqual(
      outputs,
      inputs.map((_, i) => i * 3),
    );
  });

  it('map over a holey array (made with new Array(n)) gives every input, a hole as undefined', async () => {
    const echo = new Pool(fixture('echo.js'), { workers: 2 });
    try {
      const inputs = new Array<unknown>(3000);
      for (let i = 0; i < inputs.length; i++) if (i !== 1234) inputs[i] = { i };
      const outputs = await echo.map(inputs);
      assert.equal(outputs.length, inputs.length);
      for (let i = 0; i < inputs.length; i++) {
        assert.deepEqual(outputs[i], i === 1234 ? undefined : { i }, `output ${i}`);
      }
    } finally {
      await echo.close();
    }
  });

  it('flat objects (sent as columns) and others in one map arrive as a clone makes them', async () => {
    const echo = new Pool(fixture('echo.js'), { workers: 2 });
    try {
      const inputs = Array.from({ length: 3000 }, (_, i): unknown => {
        if (i === 2500) return { i, nested: { deep: [i] } };
        if (i === 2600) return JSON.parse(`{"i": ${i}, "__proto__": "own"}`);
        return { i, name: `n${i}`, none: null, big: BigInt(i), zero: i === 7 ? -0 : 0 };
      });
      const outputs = await echo.map(inputs);
      assert.deepEqual(outputs, structuredClone(inputs));
      assert.ok(Object.is((outputs[7] as { zero: number }).zero, -0));
      assert.ok(Object.hasOwn(outputs[2600] as object, '__proto__'));
    } finally {
      await echo.close();
    }
  });

  it('flat objects reach a worker whose Object.prototype is frozen, keys like constructor too', async () => {
    const frozen = new Pool(fixture('frozen-prototype.js'), { workers: 1 });
    try {
      const inputs = Array.from({ length: 64 }, (_, i) => ({ id: i, constructor: 'Ferrari' }));
      assert.deepEqual(await frozen.map(inputs), inputs);
      assert.equal(frozen.stats().workers[0]?.id, 0, 'the worker never crashed');
    } finally {
      await frozen.close();
    }
  });

  it('a flat input whose getter throws fails alone with DataCloneError', async () => {
    const echo = new Pool(fixture('echo.js'), { workers: 2 });
    try {
      const inputs = Array.from({ length: 100 }, (_, i): unknown =>
        i === 42
          ? {
              get i(): number {
                throw new Error('getter');
              },
            }
          : { i },
      );
      const results = [];
      for await (const result of echo.stream(inputs, { ordered: true })) results.push(result);
      assert.equal(results.length, 100);
      for (const result of results) {
        if (result.index === 42) {
          assert.equal(result.ok, false);
          assert.equal((result.error as { code?: string }).code, 'ERR_POLYLOOP_DATA_CLONE');
        } else {
          assert.equal(result.ok, true);
          assert.deepEqual(result.ok && result.value, { i: result.index });
        }
      }
    } finally {
      await echo.close();
    }
  });

  it('stream yields in completion order by default', async () => {
    // Input 0 cannot finish until the test has seen every other result.
    const shared = cells();
    const inputs: ControlInput[] = [
      { op: 'block', cells: shared, slot: 0, value: 'first input' },
      ...Array.from({ length: 9 }, (_, i): ControlInput => ({ op: 'value', value: i + 1 })),
    ];
    const seen: number[] = [];
    for await (const result of pool.stream(inputs)) {
      seen.push(result.index);
      assert.equal(result.ok, true);
      if (seen.length === 9) release(shared, 0);
    }
    assert.deepEqual(
      seen.slice(0, 9).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.equal(seen[9], 0);
  });

  it('stream with ordered: true yields in input order, with each input', async () => {
    const shared = cells();
    const inputs: ControlInput[] = [
      { op: 'block', cells: shared, slot: 0, value: 'zero' },
      ...Array.from(
        { length: 9 },
        (_, i): ControlInput => ({
          op: 'tick',
          cells: shared,
          slot: 1,
          value: i + 1,
        }),
      ),
    ];
    const stream = pool.stream(inputs, { ordered: true });
    const first = stream.next();
    // Every later input finishes before input 0 may: the stream must still start with input 0.
    await reach(shared, 1, 9);
    release(shared, 0);
    const results = [(await first).value];
    for await (const result of stream) results.push(result);
    assert.deepEqual(
      results.map((r) => r?.index),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.deepEqual(results[0], { index: 0, input: inputs[0], ok: true, value: 'zero' });
    assert.deepEqual(results[3], { index: 3, input: inputs[3], ok: true, value: 3 });
  });

  it('accepts async iterables, pulled lazily', async () => {
    async function* numbers() {
      for (let i = 0; i < 300; i++) yield i;
    }
    const echo = new Pool(fixture('echo.js'), { workers: 2 });
    try {
      const outputs = await echo.map(numbers());
      assert.deepEqual(
        outputs,
        Array.from({ length: 300 }, (_, i) => i),
      );
    } finally {
      await echo.close();
    }
  });

  it('run returns one output', async () => {
    assert.equal(await pool.run({ op: 'value', value: 'hello' }), 'hello');
  });
});
