/**
 * The main thread's hot path alone: the engine deals N inputs to two stand-in workers and settles
 * their results, as `pool.map` does, against the floor: the lean design's main thread (slices of
 * 256 inputs, results written into the output array). The stand-ins answer every 'run' on the
 * next turn with results messages of at most 256 tasks, in the real wire format; both designs
 * get the same answers, and nothing is cloned: what is left is what the engine spends per task.
 * Rounds alternate in one process after a warm-up.
 *
 * `--dist DIR` measures another build (its `dist/`); `--json` prints one line for compare.ts;
 * `--clone` puts what each side sends through V8's serializer and back (see travel()).
 *
 * Usage: node --import tsx bench/micro/main.ts [--tasks 200000] [--rounds 7] [--dist DIR] [--json]
 *        [--clone]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { deserialize, serialize } from 'node:v8';
import type { StartWorker, WorkerEvents } from '../../dist/backends/worker-handle.js';
import type { MainToChannel, ResultsMessage, WireValues } from '../../dist/protocol/messages.js';
import { type Design, measureRounds, report } from './rounds.ts';

const { values: flags } = parseArgs({
  options: {
    tasks: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '7' },
    dist: { type: 'string' },
    json: { type: 'boolean', default: false },
    clone: { type: 'boolean', default: false },
  },
});
const DIST = flags.dist ? pathToFileURL(`${flags.dist}/`) : new URL('../../dist/', import.meta.url);
const TASKS = Number(flags.tasks);
const WORKERS = 2;
/** A worker's results per message (the runtime's FLUSH_COUNT). */
const FLUSH = 256;

type Input = { i: number };
const inputs = (): Input[] => Array.from({ length: TASKS }, (_, i) => ({ i }));

/**
 * With --clone, what a stand-in is sent goes through V8's serializer and back, as postMessage
 * would take it (both halves on this thread): the engine's columns against the floor's objects.
 */
function travel<T>(inputs: T): T {
  return flags.clone ? (deserialize(serialize(inputs)) as T) : inputs;
}

/** Each input's `i`, read as a worker would get it (objects, or columns: no rebuilding here). */
function ids(inputs: WireValues): unknown[] {
  if (Array.isArray(inputs)) return inputs.map((input) => (input as Input).i);
  return inputs.columns[inputs.keys.indexOf('i')]!;
}

/** A worker's answer to a 'run' of `inputs` as batch `batch`: each task's value is its `i`. */
function answer(batch: number, inputs: WireValues, post: (message: ResultsMessage) => void): void {
  const all = ids(inputs);
  for (let first = 0; first < all.length; first += FLUSH) {
    const n = Math.min(FLUSH, all.length - first);
    const okOffsets = new Int32Array(n);
    const values = new Array<unknown>(n);
    for (let k = 0; k < n; k++) {
      okOffsets[k] = first + k;
      values[k] = all[first + k];
    }
    post({ type: 'results', okBatches: [batch, n], okOffsets, values, failures: [] });
  }
}

/** Stand-in workers: ready at once, each 'run' answered on the next turn. */
const standIn: StartWorker = (_init, events: WorkerEvents) => {
  let exit: () => void = () => {};
  const exited = new Promise<void>((resolve) => {
    exit = () => {
      events.exit({ code: 0, signal: null, error: undefined });
      resolve();
    };
  });
  const run = (batch: number, inputs: WireValues) =>
    setImmediate(() => answer(batch, travel(inputs), events.message));
  setImmediate(() => events.message({ type: 'ready' }));
  return {
    pid: undefined,
    connected: true,
    exited,
    setKeepAlive: () => {},
    send(message: MainToChannel) {
      if (message.type === 'run') run(message.batch, message.inputs);
      else if (message.type === 'runs')
        for (let i = 0; i < message.batches.length; i++)
          run(message.batches[i]!, message.inputs[i]!);
      else if (message.type === 'close') setImmediate(exit);
    },
    async terminate() {
      exit();
    },
  };
};

/** The engine of the build in `dist`, over two stand-in workers; `run` is its `map`. */
async function startEngine(dist: URL): Promise<(all: Input[]) => Promise<unknown[]>> {
  const { Engine } = (await import(
    new URL('core/engine.js', dist).href
  )) as typeof import('../../dist/core/engine.js');
  const { resolveOptions } = (await import(
    new URL('options.js', dist).href
  )) as typeof import('../../dist/options.js');
  const engine = new Engine('file:///stand-in.js', resolveOptions({ workers: WORKERS }), standIn);
  await engine.ready();
  return (all) =>
    new Promise((resolve, reject) => {
      const out = new Array<unknown>(all.length);
      engine.submit(
        all,
        {
          settle: (index, _input, ok, result) => {
            if (ok) out[index] = result;
            else reject(result);
          },
          fail: reject,
          done: () => resolve(out),
        },
        { timeout: Number.POSITIVE_INFINITY, signal: undefined, pacedByConsumer: false },
      );
    });
}

/** The lean main thread: slices of 256 round-robin, the same answers written into the output. */
function startFloor(): (all: Input[]) => Promise<unknown[]> {
  return (all) =>
    new Promise((resolve) => {
      const out = new Array<unknown>(all.length);
      let settled = 0;
      const onResults = (message: ResultsMessage) => {
        const { okBatches, okOffsets } = message;
        // answer() posts numbers: a plain list, never columns.
        const values = message.values as unknown[];
        const first = okBatches[0]!;
        for (let k = 0; k < values.length; k++) out[first + okOffsets[k]!] = values[k];
        settled += values.length;
        if (settled === all.length) resolve(out);
      };
      for (let first = 0; first < all.length; first += 256) {
        const slice = all.slice(first, first + 256);
        setImmediate(() => answer(first, travel(slice), onResults));
      }
    });
}

const designs: Record<string, Design<Input>> = {
  engine: await startEngine(DIST),
  floor: startFloor(),
};
const costs = await measureRounds(
  designs,
  Number(flags.rounds),
  inputs,
  (out) => out.length === TASKS && out.every((v, i) => v === i),
);
report(`${TASKS} inputs through ${WORKERS} stand-in workers`, costs, 'engine', flags.json);
process.exit(0);
