import type { Worker } from 'node:worker_threads';
import { type Contestant, warmupInputs } from '../contestants/contestant.ts';
import { startThreads, stopThreads } from '../contestants/threads.ts';
import type { TaskInput } from '../workload.js';

const WORKER_URL = new URL('./tasks/batch-worker.js', import.meta.url);
const BATCH = 256;
const IN_FLIGHT = 4;

/**
 * The leanest batching design we could write, a floor for polyloop's per-task cost (used by
 * tiny-floor.ts, not by `npm run bench`): BATCH inputs per message, IN_FLIGHT messages per worker,
 * the next batch sent when one comes back. No balancing, timeouts, crash handling or stats.
 */
export function create(): Contestant {
  let workers: Worker[] = [];

  function run(inputs: readonly TaskInput[]): Promise<unknown[]> {
    return new Promise((resolve) => {
      const out = new Array<unknown>(inputs.length);
      let next = 0;
      let done = 0;
      const send = (w: Worker) => {
        if (next >= inputs.length) return;
        w.postMessage({ id: next, inputs: inputs.slice(next, next + BATCH) });
        next += BATCH;
      };
      for (const w of workers) {
        w.removeAllListeners('message');
        w.on('message', ({ id, values }: { id: number; values: unknown[] }) => {
          for (let k = 0; k < values.length; k++) out[id + k] = values[k];
          done += values.length;
          if (done === inputs.length) resolve(out);
          else send(w);
        });
        for (let k = 0; k < IN_FLIGHT; k++) send(w);
      }
    });
  }

  return {
    async start({ workers: count }) {
      workers = await startThreads(WORKER_URL, count);
      await run(warmupInputs(count));
    },
    run,
    async stop() {
      await stopThreads(workers);
    },
  };
}
