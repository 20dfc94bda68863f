import type { Worker } from 'node:worker_threads';
import type { TaskInput } from '../workload.js';
import { type Contestant, warmupInputs } from './contestant.ts';
import { startThreads, stopThreads } from './threads.ts';

const WORKER_URL = new URL('../tasks/lean-worker.js', import.meta.url);
/** Inputs per message, the figure. */
const CHUNK = 256;

/**
 * Issue 19's lean design, the floor polyloop's per-task cost is measured against: the main thread
 * posts every input at once, in chunks of CHUNK dealt round-robin, and each worker runs a chunk's
 * tasks concurrently and answers once per event-loop turn (tasks/lean-worker.js). No balancing,
 * timeouts, crash handling or stats: whatever polyloop spends beyond this is what its guarantees
 * and its design cost.
 */
export function create(): Contestant {
  let workers: Worker[] = [];

  function run(inputs: readonly TaskInput[]): Promise<unknown[]> {
    return new Promise((resolve) => {
      const out = new Array<unknown>(inputs.length);
      let left = inputs.length;
      if (left === 0) resolve(out);
      for (const w of workers) {
        w.removeAllListeners('message');
        // Flat [index, value, ...] pairs, in whatever order they settled.
        w.on('message', (pairs: unknown[]) => {
          for (let k = 0; k < pairs.length; k += 2) out[pairs[k] as number] = pairs[k + 1];
          left -= pairs.length / 2;
          if (left === 0) resolve(out);
        });
      }
      for (let start = 0, c = 0; start < inputs.length; start += CHUNK, c++) {
        const w = workers[c % workers.length]!;
        w.postMessage({ start, inputs: inputs.slice(start, start + CHUNK) });
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
