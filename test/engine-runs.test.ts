/**
 * The engine alone, with stand-in workers (the StartWorker hook): what a results message's run
 * settles, and what it must leave alone. No threads: the test decides what each worker answers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StartWorker } from '../dist/backends/worker-handle.js';
import { Engine } from '../dist/core/engine.js';
import type { JobSink } from '../dist/core/job.js';
import { resolveOptions } from '../dist/options.js';
import { fromWire } from '../dist/protocol/columns.js';
import type { MainToChannel, WorkerToMain } from '../dist/protocol/messages.js';

interface Sent {
  readonly batch: number;
  readonly inputs: unknown[];
}

/** One stand-in worker: ready at once; keeps what it is sent; answers when told to. */
function standIn() {
  const sent: Sent[] = [];
  let deliver: (message: WorkerToMain) => void = () => {};
  const start: StartWorker = (_init, events) => {
    deliver = events.message;
    setImmediate(() => events.message({ type: 'ready' }));
    return {
      pid: undefined,
      connected: true,
      exited: new Promise<void>(() => {}),
      setKeepAlive: () => {},
      send(message: MainToChannel) {
        if (message.type === 'run')
          sent.push({ batch: message.batch, inputs: fromWire(message.inputs) });
        if (message.type === 'runs') {
          message.batches.forEach((batch, i) => {
            sent.push({ batch, inputs: fromWire(message.inputs[i]!) });
          });
        }
      },
      terminate: async () => {},
    };
  };
  /** Report tasks of `batch` at `offsets` fulfilled, each with its input times 10. */
  const fulfil = (batch: Sent, offsets: number[]) =>
    deliver({
      type: 'results',
      okBatches: [batch.batch, offsets.length],
      okOffsets: Int32Array.from(offsets),
      values: offsets.map((offset) => (batch.inputs[offset] as number) * 10),
      failures: [],
    });
  return { start, sent, fulfil };
}

function recordingSink() {
  const settled: Array<[index: number, ok: boolean, result: unknown]> = [];
  let done = false;
  const sink: JobSink = {
    settle: (index, _input, ok, result) => settled.push([index, ok, result]),
    fail: (error) => assert.fail(error),
    done: () => {
      done = true;
    },
  };
  return { sink, settled, isDone: () => done };
}

/** The engine deals on a later microtask or turn. */
const dealt = () => new Promise((resolve) => setImmediate(resolve));

const call = { timeout: Number.POSITIVE_INFINITY, signal: undefined, pacedByConsumer: false };

describe('engine: a results run settles its tasks at once', () => {
  it('settles every task of the run, counts them once, and ends the job with the last', async () => {
    const worker = standIn();
    const engine = new Engine('file:///stand-in.js', resolveOptions({ workers: 1 }), worker.start);
    await engine.ready();
    const { sink, settled, isDone } = recordingSink();
    engine.submit([0, 1, 2, 3, 4, 5], sink, call);
    await dealt();
    assert.equal(worker.sent.length, 1);
    const batch = worker.sent[0]!;
    worker.fulfil(batch, [4, 0, 2]);
    assert.deepEqual(settled, [
      [4, true, 40],
      [0, true, 0],
      [2, true, 20],
    ]);
    assert.equal(engine.stats().done, 3);
    assert.equal(isDone(), false);
    // A task reported twice settles once.
    worker.fulfil(batch, [1, 3, 5, 0]);
    assert.deepEqual(
      settled.map(([index]) => index),
      [4, 0, 2, 1, 3, 5],
    );
    assert.equal(engine.stats().done, 6);
    assert.equal(engine.stats().inFlight, 0);
    assert.equal(isDone(), true);
  });

  it('tasks given up on before their run comes back are not settled again, and free their places', async () => {
    const worker = standIn();
    const engine = new Engine('file:///stand-in.js', resolveOptions({ workers: 1 }), worker.start);
    await engine.ready();
    const kept = recordingSink();
    const dropped = recordingSink();
    engine.submit([1, 2], kept.sink, call);
    const droppedJob = engine.submit([3, 4], dropped.sink, call);
    await dealt();
    const [keptBatch, droppedBatch] = worker.sent;
    assert.ok(keptBatch && droppedBatch);
    assert.equal(engine.stats().inFlight, 4);
    // The caller went away: its tasks are given up on, still running on the worker.
    engine.dropJob(droppedJob);
    worker.fulfil(droppedBatch, [0, 1]);
    worker.fulfil(keptBatch, [1, 0]);
    assert.deepEqual(dropped.settled, []);
    assert.deepEqual(kept.settled, [
      [1, true, 20],
      [0, true, 10],
    ]);
    assert.equal(engine.stats().done, 2);
    assert.equal(engine.stats().inFlight, 0);
  });
});
