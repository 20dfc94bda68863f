import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import type { TaskInput } from '../workload.js';
import { type Contestant, warmupInputs } from './contestant.ts';
import { startThreads, stopThreads } from './threads.ts';

interface Reply {
  readonly id: number;
  readonly results: unknown[];
}

const WORKER_URL = new URL('../tasks/static-worker.js', import.meta.url);

/** The seed's design: P equal contiguous slices, one worker each, no balancing at all. */
export function create(): Contestant {
  let workers: Worker[] = [];
  let nextId = 0;

  // Each worker answers one message at a time, so the next message on it is the reply.
  async function ask(worker: Worker, inputs: readonly TaskInput[]): Promise<unknown[]> {
    const id = nextId++;
    const reply = once(worker, 'message') as Promise<[Reply]>;
    worker.postMessage({ id, inputs });
    const [{ id: got, results }] = await reply;
    if (got !== id) throw new Error(`static worker answered message ${got}, expected ${id}`);
    return results;
  }

  return {
    async start({ workers: count }) {
      workers = await startThreads(WORKER_URL, count);
      await Promise.all(workers.map((w) => ask(w, warmupInputs(1))));
    },
    async run(inputs) {
      const size = Math.ceil(inputs.length / workers.length);
      const parts = await Promise.all(
        workers.map((w, k) => ask(w, inputs.slice(k * size, (k + 1) * size))),
      );
      return parts.flat();
    },
    async stop() {
      await stopThreads(workers);
    },
  };
}
