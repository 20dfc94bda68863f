import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { serialize } from 'node:v8';
import { type Columns, fromColumns, toColumns } from '../dist/protocol/columns.js';
import { clonesSparse, packedSlice, packsSlices } from '../dist/protocol/dense-slice.js';
import type { ResultsMessage, TaskFailure } from '../dist/protocol/messages.js';
import { postResults, ResultWriter, readResults } from '../dist/protocol/results.js';
import {
  createSyncTaskCell,
  formatWatchdogLine,
  NO_TASK,
  SYNC_TASK_BATCH,
  SYNC_TASK_OFFSET,
  watchdogLineReader,
} from '../dist/protocol/sync-task.js';
import {
  FLUSH_COUNT,
  FLUSH_DELAY_MS,
  HANG_GRACE_MS,
  HEARTBEAT_MS,
  IDLE_CHECK_MS,
  IDLE_UTILIZATION,
  LAST_WORD_GRACE_MS,
  SILENCE_MS,
  START_SLICE_MS,
  START_SLICE_TASKS,
  STATS_MS,
  STATS_STALE_MS,
  WATCHDOG_CHECK_MS,
  WATCHDOG_STUCK_MS,
} from '../dist/protocol/timing.js';

describe('protocol timing', () => {
  it('a busy worker talks more often than the pool takes silence for a block', () => {
    // The longest gap between two messages of a worker whose loop turns: a heartbeat is due,
    // the next loop check comes IDLE_CHECK_MS later, behind one start slice.
    assert.ok(HEARTBEAT_MS + IDLE_CHECK_MS + START_SLICE_MS < SILENCE_MS);
    assert.ok(IDLE_CHECK_MS <= HEARTBEAT_MS);
  });

  it('a worker sends unsent results well within the silence limit', () => {
    assert.ok(FLUSH_DELAY_MS < SILENCE_MS);
    assert.ok(Number.isInteger(FLUSH_COUNT) && FLUSH_COUNT > 0);
  });

  it('a suspicion of a block comes before the verdict', () => {
    assert.ok(SILENCE_MS < HANG_GRACE_MS);
  });

  it("a child's watchdog names the stuck task before the pool decides it is hung", () => {
    assert.ok(WATCHDOG_STUCK_MS + WATCHDOG_CHECK_MS < HANG_GRACE_MS);
  });

  it('load reports go out from the loop check, and count as stale only after a few missed', () => {
    assert.ok(STATS_MS >= IDLE_CHECK_MS);
    assert.ok(STATS_STALE_MS > STATS_MS + IDLE_CHECK_MS);
  });

  it('every limit is a positive number in its range', () => {
    for (const value of [
      FLUSH_DELAY_MS,
      HANG_GRACE_MS,
      HEARTBEAT_MS,
      IDLE_CHECK_MS,
      LAST_WORD_GRACE_MS,
      SILENCE_MS,
      START_SLICE_MS,
      START_SLICE_TASKS,
      STATS_MS,
      WATCHDOG_CHECK_MS,
      WATCHDOG_STUCK_MS,
    ]) {
      assert.ok(Number.isFinite(value) && value > 0, String(value));
    }
    assert.ok(IDLE_UTILIZATION > 0 && IDLE_UTILIZATION < 1);
  });
});

type Read = [batch: string, offset: number, outcome: 'ok' | TaskFailure['kind'], detail: unknown];

/** Everything a message says, in reading order, with batches looked up in `known`. */
function readAll(message: ResultsMessage, known: readonly number[]): Read[] {
  const batches = new Map(known.map((id) => [id, `batch ${id}`]));
  const read: Read[] = [];
  readResults(
    message,
    batches,
    (batch, offsets, values, from, to) => {
      for (let i = from; i < to; i++) read.push([batch, offsets[i]!, 'ok', values[i]]);
    },
    (batch, offset, kind, error) => read.push([batch, offset, kind, error.message]),
  );
  return read;
}

describe('results codec', () => {
  it('reads back what the worker wrote, fulfilled tasks first, runs per batch', () => {
    const writer = new ResultWriter();
    writer.fulfilled(7, 0, 'a');
    writer.fulfilled(7, 3, { b: 1 });
    writer.threw(7, 1, new RangeError('bad input'));
    writer.fulfilled(9, 2, undefined);
    writer.fulfilled(7, 5, 5n);
    assert.equal(writer.size, 5);
    const message = writer.take();
    assert.deepEqual(message.okBatches, [7, 2, 9, 1, 7, 1]);
    assert.ok(message.okOffsets instanceof Int32Array);
    assert.deepEqual([...message.okOffsets], [0, 3, 2, 5]);
    assert.deepEqual(readAll(message, [7, 9]), [
      ['batch 7', 0, 'ok', 'a'],
      ['batch 7', 3, 'ok', { b: 1 }],
      ['batch 9', 2, 'ok', undefined],
      ['batch 7', 5, 'ok', 5n],
      ['batch 7', 1, 'threw', 'bad input'],
    ]);
    // take() empties the writer: the next message starts new runs.
    assert.equal(writer.size, 0);
    writer.fulfilled(7, 6, 'c');
    assert.deepEqual(writer.take().okBatches, [7, 1]);
  });

  it('sends flat object values as columns, cloned, and reads them back as objects', () => {
    const writer = new ResultWriter();
    for (let offset = 0; offset < 10; offset++) {
      writer.fulfilled(3, offset, { offset, label: `v${offset}`, none: null });
    }
    const message = structuredClone(writer.take());
    assert.equal(Array.isArray(message.values), false);
    assert.deepEqual(
      readAll(message, [3]),
      Array.from({ length: 10 }, (_, offset) => [
        'batch 3',
        offset,
        'ok',
        { offset, label: `v${offset}`, none: null },
      ]),
    );
  });

  it('skips the tasks of batches the reader no longer knows', () => {
    const writer = new ResultWriter();
    writer.fulfilled(1, 0, 'gone');
    writer.fulfilled(2, 0, 'kept');
    writer.fulfilled(1, 1, 'gone');
    writer.threw(1, 2, new Error('gone'));
    writer.threw(2, 1, new Error('kept'));
    assert.deepEqual(readAll(writer.take(), [2]), [
      ['batch 2', 0, 'ok', 'kept'],
      ['batch 2', 1, 'threw', 'kept'],
    ]);
  });

  it('hands over a run per batch, and a change to the batches counts from the next run', () => {
    const writer = new ResultWriter();
    writer.fulfilled(1, 0, 'x');
    writer.fulfilled(1, 1, 'y');
    writer.fulfilled(2, 0, 'z');
    const batches = new Map([
      [1, 'one'],
      [2, 'two'],
    ]);
    let lookups = 0;
    const read: string[] = [];
    readResults(
      writer.take(),
      {
        get: (id: number) => {
          lookups++;
          return batches.get(id);
        },
      },
      (batch, offsets, _values, from, to) => {
        for (let i = from; i < to; i++) read.push(`${batch}:${offsets[i]}`);
        batches.delete(2); // a settle that drops another job's batch
      },
      () => assert.fail('no failures'),
    );
    assert.equal(lookups, 2);
    assert.deepEqual(read, ['one:0', 'one:1']);
  });

  it('sends a message whole when it clones', () => {
    const writer = new ResultWriter();
    writer.fulfilled(3, 0, new Map([[1, 2]]));
    writer.threw(3, 1, 'not an error');
    const sent: ResultsMessage[] = [];
    postResults(writer.take(), (message) => sent.push(structuredClone(message)));
    assert.equal(sent.length, 1);
    assert.deepEqual(readAll(sent[0]!, [3]), [
      ['batch 3', 0, 'ok', new Map([[1, 2]])],
      ['batch 3', 1, 'threw', 'not an error'],
    ]);
  });

  it('fails only the tasks whose value cannot be cloned', () => {
    const writer = new ResultWriter();
    writer.fulfilled(4, 0, 'fine');
    writer.fulfilled(4, 1, () => 'a function');
    writer.fulfilled(5, 0, 'also fine');
    writer.threw(4, 2, new Error('threw'));
    const sent: ResultsMessage[] = [];
    postResults(writer.take(), (message) => sent.push(structuredClone(message)));
    const read = sent.flatMap((message) => readAll(message, [4, 5]));
    assert.deepEqual(
      read.map(([batch, offset, outcome]) => [batch, offset, outcome]),
      [
        ['batch 4', 0, 'ok'],
        ['batch 5', 0, 'ok'],
        ['batch 4', 2, 'threw'],
        ['batch 4', 1, 'output-not-cloneable'],
      ],
    );
    assert.equal(read[0]![3], 'fine');
    assert.match(String(read[3]![3]), /could not be cloned/);
  });

  it('a flat value whose getter throws fails alone, the batch not sent as columns', () => {
    const writer = new ResultWriter();
    for (let offset = 0; offset < 10; offset++) {
      const value =
        offset === 3
          ? {
              get n(): number {
                throw new Error('getter');
              },
            }
          : { n: offset };
      writer.fulfilled(6, offset, value);
    }
    const sent: ResultsMessage[] = [];
    postResults(writer.take(), (message) => sent.push(structuredClone(message)));
    const read = sent.flatMap((message) => readAll(message, [6]));
    assert.deepEqual(
      read.map(([, offset, outcome]) => [offset, outcome]),
      [0, 1, 2, 4, 5, 6, 7, 8, 9]
        .map((offset) => [offset, 'ok'])
        .concat([[3, 'output-not-cloneable']]),
    );
  });
});

describe('sync-task cell and watchdog line', () => {
  it('a new cell reads no task, shared for threads and private for processes', () => {
    const shared = createSyncTaskCell(true);
    const own = createSyncTaskCell(false);
    assert.ok(shared.buffer instanceof SharedArrayBuffer);
    assert.ok(!(own.buffer instanceof SharedArrayBuffer));
    for (const cell of [shared, own]) {
      assert.equal(cell[SYNC_TASK_BATCH], NO_TASK);
      assert.equal(cell[SYNC_TASK_OFFSET], NO_TASK);
    }
  });

  it('the process backend reads back the newest line the watchdog wrote, across chunks', () => {
    const reports: Array<[number, number]> = [];
    const read = watchdogLineReader((batch, offset) => reports.push([batch, offset]));
    const text = formatWatchdogLine(12, 34) + formatWatchdogLine(NO_TASK, NO_TASK);
    read(text.slice(0, 4));
    assert.deepEqual(reports, []);
    read(text.slice(4));
    assert.deepEqual(reports, [[NO_TASK, NO_TASK]]);
    read(formatWatchdogLine(5, 0).slice(0, 2));
    read(`${formatWatchdogLine(5, 0).slice(2)}garbage\n`);
    assert.deepEqual(reports, [[NO_TASK, NO_TASK]]);
    read(formatWatchdogLine(5, 0));
    assert.deepEqual(reports, [
      [NO_TASK, NO_TASK],
      [5, 0],
    ]);
  });

  it("the watchdog line's format is one expression the watchdog thread can run as source", () => {
    const format = new Function(`return ${formatWatchdogLine};`)() as typeof formatWatchdogLine;
    assert.equal(format(3, 4), formatWatchdogLine(3, 4));
  });
});

describe('input slices', () => {
  /** The tag V8's serializer gives an array: 'A' dense, 'a' sparse (slot by slot). */
  const arrayTag = (array: unknown[]) => String.fromCharCode(serialize(array)[2]!);

  /** [1, <hole>, 3] */
  function withHole(): unknown[] {
    const array: unknown[] = [1];
    array[2] = 3;
    return array;
  }

  function filled(n: number): unknown[] {
    const array = new Array<unknown>(n);
    for (let i = 0; i < n; i++) array[i] = { i };
    return array;
  }

  it('tells the arrays that clone slot by slot from those that clone dense', () => {
    assert.equal(clonesSparse(filled(4)), true);
    assert.equal(clonesSparse(new Array(4).fill(0)), true);
    assert.equal(clonesSparse(withHole()), true);
    const pushed: unknown[] = [];
    for (let i = 0; i < 4; i++) pushed.push({ i });
    assert.equal(clonesSparse(pushed), false);
    assert.equal(clonesSparse([1, 2, 3]), false);
    assert.equal(clonesSparse(filled(4).map((x) => x)), false);
    assert.equal(clonesSparse(JSON.parse('[1, 2, 3]') as unknown[]), false);
    assert.equal(clonesSparse([]), false);
  });

  it('probes only arrays long enough for packing to pay', () => {
    assert.equal(packsSlices(filled(1000)), true);
    assert.equal(packsSlices(filled(3)), false);
    // A Proxy's slice asks `has` before `get`: its slices go as slice() makes them.
    assert.equal(packsSlices(new Proxy(filled(1000), {})), false);
    assert.equal(packsSlices(Array.from({ length: 1000 }, (_, i) => i)), false);
  });

  it('probing keeps nothing: 100,000 probes leave the heap as it was', () => {
    // A reused v8.Serializer keeps every object it wrote: 3 MB here, an array per job for good.
    const denseSlice = new URL('../dist/protocol/dense-slice.js', import.meta.url).href;
    const script = `
      const { clonesSparse } = await import(${JSON.stringify(denseSlice)});
      const holey = new Array(300);
      for (let i = 0; i < 300; i++) holey[i] = i;
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let k = 0; k < 100000; k++) clonesSparse(holey);
      gc();
      console.log(process.memoryUsage().heapUsed - before);
    `;
    const grown = Number(
      execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
        encoding: 'utf8',
      }),
    );
    assert.ok(grown < 1_000_000, `the heap grew by ${grown} bytes`);
  });

  it("copies a holey array's slice packed, a hole as undefined", () => {
    const holey = filled(6);
    assert.equal(arrayTag(holey.slice(1, 5)), 'a');
    const slice = packedSlice(holey, 1, 5);
    assert.equal(arrayTag(slice), 'A');
    assert.deepEqual(slice, holey.slice(1, 5));
    const holeSlice = packedSlice(withHole(), 0, 3);
    assert.equal(arrayTag(holeSlice), 'A');
    assert.deepEqual(holeSlice, [1, undefined, 3]);
    assert.deepEqual(packedSlice(holey, 2, 2), []);
  });
});

describe('flat objects as columns', () => {
  /** What the worker gets: through columns when they apply, through a clone otherwise. */
  function travel(values: unknown[]): { columns: boolean; values: unknown[] } {
    const columns = toColumns(values);
    const wire = structuredClone(columns ?? values);
    return {
      columns: columns !== undefined,
      values: Array.isArray(wire) ? wire : fromColumns(wire as Columns),
    };
  }

  function rows<T>(n: number, row: (i: number) => T): T[] {
    return Array.from({ length: n }, (_, i) => row(i));
  }

  it('rebuilds flat objects as a clone would: keys in order, every primitive kept', () => {
    const values = rows(20, (i) => ({
      i,
      name: `n${i}`,
      ok: i % 2 === 0,
      none: null,
      missing: undefined,
      big: BigInt(i) * 10n ** 20n,
      odd: [Number.NaN, -0, Number.POSITIVE_INFINITY, 1.5][i % 4],
      10: 'an index key',
    }));
    const { columns, values: got } = travel(values);
    assert.equal(columns, true);
    assert.deepEqual(got, structuredClone(values));
    for (const [i, value] of got.entries()) {
      assert.equal(Object.getPrototypeOf(value), Object.prototype);
      assert.deepEqual(Object.keys(value as object), Object.keys(values[i] as object));
      assert.ok(Object.hasOwn(value as object, 'missing'));
    }
    assert.ok(Object.is((got[1] as { odd: number }).odd, -0));
  });

  it('leaves alone what columns would change', () => {
    const flat = (i: number) => ({ i, s: 'x' });
    const cases: Record<string, unknown[]> = {
      'too short': rows(7, flat),
      'a nested object': rows(10, (i) => (i === 9 ? { i, s: { deep: true } } : flat(i))),
      'an array input': rows(10, (i) => (i === 3 ? [i, 'x'] : flat(i))),
      'a key missing': rows(10, (i) => (i === 5 ? { i } : flat(i))),
      'a key extra': rows(10, (i) => (i === 5 ? { ...flat(i), extra: 1 } : flat(i))),
      'keys in another order': rows(10, (i) => (i === 5 ? { s: 'x', i } : flat(i))),
      'a class instance': rows(10, (i) =>
        i === 5
          ? new (class Row {
              i = i;
              s = 'x';
            })()
          : flat(i),
      ),
      'no prototype': rows(10, (i) => Object.assign(Object.create(null), flat(i))),
      'a function value': rows(10, (i) => ({ i, s: i === 2 ? () => i : 'x' })),
      'a __proto__ key': rows(10, (i) => JSON.parse(`{"i": ${i}, "__proto__": 1}`)),
      'seventeen keys': rows(10, () => Object.fromEntries(rows(17, (k) => [`k${k}`, k] as const))),
      primitives: rows(10, (i) => i),
      'a Proxy': rows(10, (i) => (i === 5 ? new Proxy(flat(i), {}) : flat(i))),
      'an arguments object': rows(10, (i) => {
        if (i !== 5) return flat(i);
        return (function (this: unknown) {
          // biome-ignore lint/complexity/noArguments: an exotic object with Object.prototype
          return arguments;
        })();
      }),
      'a Date under Object.prototype': rows(10, (i) =>
        i === 5 ? Object.setPrototypeOf(new Date(), Object.prototype) : flat(i),
      ),
      'one object twice in a row': (() => {
        const shared = flat(0);
        return rows(10, (i) => (i === 4 || i === 5 ? shared : flat(i)));
      })(),
    };
    for (const [name, values] of Object.entries(cases)) {
      assert.equal(toColumns(values), undefined, name);
    }
    // What goes as it is still arrives as a clone makes it (a symbol would not clone at all).
    assert.equal(toColumns(rows(10, (i) => ({ i, s: i === 4 ? Symbol('s') : 'x' }))), undefined);
    const proto = travel(cases['a __proto__ key']!).values[0] as object;
    assert.ok(Object.hasOwn(proto, '__proto__'));
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  });

  it('sixteen keys still go as columns, and stay fast objects', () => {
    const values = rows(10, (i) => Object.fromEntries(rows(16, (k) => [`k${k}`, k + i] as const)));
    const { columns, values: got } = travel(values);
    assert.equal(columns, true);
    assert.deepEqual(got, values);
  });

  it('an enumerable property on Object.prototype turns columns off', () => {
    const values = rows(10, (i) => ({ i }));
    Object.defineProperty(Object.prototype, 'polluted', {
      value: 1,
      enumerable: true,
      configurable: true,
      writable: true,
    });
    try {
      assert.equal(toColumns(values), undefined);
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    assert.notEqual(toColumns(values), undefined);
  });

  it('defines the keys Object.prototype holds, even frozen or with a setter', () => {
    // In a child process: freezing this process's Object.prototype would break the test runner.
    const columnsUrl = new URL('../dist/protocol/columns.js', import.meta.url).href;
    const script = `
      import { fromColumns } from ${JSON.stringify(columnsUrl)};
      let setterCalls = 0;
      Object.defineProperty(Object.prototype, 'id', { set() { setterCalls++; }, get() { return 'proto'; } });
      Object.freeze(Object.prototype);
      const rows = fromColumns({ keys: ['id', 'constructor', 'toString'], columns: [[1, 2], ['a', 'b'], ['x', 'y']], length: 2 });
      console.log(JSON.stringify({ rows, own: rows.map((r) => Object.keys(r)), setterCalls }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(out), {
      rows: [
        { id: 1, constructor: 'a', toString: 'x' },
        { id: 2, constructor: 'b', toString: 'y' },
      ],
      own: [
        ['id', 'constructor', 'toString'],
        ['id', 'constructor', 'toString'],
      ],
      setterCalls: 0,
    });
  });

  it("reads a getter's value, as a clone does", () => {
    let reads = 0;
    const values = rows(10, (i) => ({
      get i() {
        reads++;
        return i;
      },
    }));
    const { columns, values: got } = travel(values);
    assert.equal(columns, true);
    assert.equal(reads, 10);
    assert.deepEqual(
      got,
      rows(10, (i) => ({ i })),
    );
  });
});
