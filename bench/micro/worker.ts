/**
 * The worker's hot path alone: a WorkerRuntime on this thread, fed 'run' messages through a fake
 * channel the way the pool feeds a worker (batches of `--batch`, at most `--window` tasks in
 * flight, a new batch as results come back), against the floor: the same task called in a bare
 * loop, values collected, one "post" per turn. No structured clone on either side: what is left
 * is what the runtime spends per task. Rounds alternate in one process after a warm-up.
 *
 * `--dist DIR` measures another build (its `dist/`); `--json` prints one line for compare.ts.
 *
 * Usage: node --import tsx bench/micro/worker.ts [--tasks 200000] [--n 0] [--batch 256]
 *        [--window 1024] [--rounds 7] [--dist DIR] [--json]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { MainToWorker, WorkerToMain } from '../../dist/protocol/messages.js';
import { type Design, measureRounds, report } from './rounds.ts';

const TASK_URL = new URL('./tasks/sum.js', import.meta.url).href;
const { values: flags } = parseArgs({
  options: {
    tasks: { type: 'string', default: '200000' },
    n: { type: 'string', default: '0' },
    batch: { type: 'string', default: '256' },
    window: { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '7' },
    dist: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const DIST = flags.dist ? pathToFileURL(`${flags.dist}/`) : new URL('../../dist/', import.meta.url);
const TASKS = Number(flags.tasks);
const N = Number(flags.n);
const BATCH = Number(flags.batch);
const WINDOW = Number(flags.window);

type Input = { i: number; n: number };
const inputs = (): Input[] => Array.from({ length: TASKS }, (_, i) => ({ i, n: N }));

/** A worker runtime of the build in `dist` behind a fake channel; `run` resolves with the values. */
async function startRuntime(dist: URL): Promise<(all: Input[]) => Promise<unknown[]>> {
  const { WorkerRuntime } = (await import(
    new URL('worker/runtime.js', dist).href
  )) as typeof import('../../dist/worker/runtime.js');
  const { createSyncTaskCell } = (await import(
    new URL('protocol/sync-task.js', dist).href
  )) as typeof import('../../dist/protocol/sync-task.js');
  let deliver: (message: MainToWorker) => void = () => {};
  let onPost: (message: WorkerToMain) => void = () => {};
  const channel = {
    post: (message: WorkerToMain) => onPost(message),
    onMessage: (handler: (message: MainToWorker) => void) => {
      deliver = handler;
    },
  };
  const ready = new Promise<void>((resolve) => {
    onPost = (message) => message.type === 'ready' && resolve();
  });
  const init = { moduleUrl: TASK_URL, workerId: 0, syncTask: createSyncTaskCell(true) };
  await new WorkerRuntime(channel, init).start();
  await ready;
  return (all) =>
    new Promise((resolve) => {
      const out = new Array<unknown>(all.length);
      let sent = 0;
      let settled = 0;
      const firsts: number[] = [];
      const send = () => {
        while (sent < all.length && sent - settled < WINDOW) {
          const batch = firsts.length;
          firsts.push(sent);
          const message = { type: 'run', batch, inputs: all.slice(sent, sent + BATCH), sentAt: 0 };
          sent += message.inputs.length;
          // A message arrives on a later turn, as from a port.
          setImmediate(() => deliver(message as MainToWorker));
        }
      };
      onPost = (message) => {
        if (message.type !== 'results') return;
        const { okBatches, okOffsets } = message;
        // The task returns numbers: a plain list, never columns.
        const values = message.values as unknown[];
        let k = 0;
        for (let r = 0; r < okBatches.length; r += 2) {
          const first = firsts[okBatches[r]!]!;
          for (const end = k + okBatches[r + 1]!; k < end; k++)
            out[first + okOffsets[k]!] = values[k];
        }
        settled += k;
        if (settled === all.length) resolve(out);
        else send();
      };
      send();
    });
}

/** The floor: the same task, the same batches and window, no per-task bookkeeping at all. */
async function startFloor(): Promise<(all: Input[]) => Promise<unknown[]>> {
  const task = (await import(TASK_URL)).default as (input: Input) => Promise<number>;
  return (all) =>
    new Promise((resolve) => {
      const out = new Array<unknown>(all.length);
      let sent = 0;
      let settled = 0;
      let unsent: unknown[] = [];
      let flushQueued = false;
      const flush = () => {
        flushQueued = false;
        const values = unsent;
        unsent = [];
        settled += values.length / 2;
        for (let k = 0; k < values.length; k += 2) out[values[k] as number] = values[k + 1];
        if (settled === all.length) resolve(out);
        else send();
      };
      const runBatch = (first: number, batch: Input[]) => {
        for (let k = 0; k < batch.length; k++) {
          task(batch[k]!).then((value) => {
            unsent.push(first + k, value);
            if (!flushQueued) {
              flushQueued = true;
              setImmediate(flush);
            }
          });
        }
      };
      const send = () => {
        while (sent < all.length && sent - settled < WINDOW) {
          const first = sent;
          const batch = all.slice(sent, sent + BATCH);
          sent += batch.length;
          setImmediate(() => runBatch(first, batch));
        }
      };
      send();
    });
}

const designs: Record<string, Design<Input>> = {
  runtime: await startRuntime(DIST),
  floor: await startFloor(),
};
const costs = await measureRounds(
  designs,
  Number(flags.rounds),
  inputs,
  (out) => out.length === TASKS && out.every((v) => typeof v === 'number'),
);
report(
  `${TASKS} tasks summing ${N} integers, batches of ${BATCH}, window ${WINDOW}`,
  costs,
  'runtime',
  flags.json,
);
process.exit(0);
