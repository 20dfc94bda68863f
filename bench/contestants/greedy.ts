import type { Worker } from 'node:worker_threads';
import { type TaskInput, taskParams } from '../workload.js';
import { type Contestant, warmupInputs } from './contestant.ts';
import { startThreads, stopThreads } from './threads.ts';

const WORKER_URL = new URL('../tasks/spin-worker.js', import.meta.url);
/** Messages of ready CPU work a worker holds at once: one running, one waiting, so it never idles a round trip. */
const QUEUED_PER_WORKER = 2;
/**
 * A message carries ready tasks until their integers reach this (~0.4 ms of CPU, 2–10 light tasks):
 * few enough messages that the main thread, which shares the cores, costs the workers little,
 * while a worker never holds more than a millisecond or two of work another could have taken.
 */
const MIN_INTS_PER_MESSAGE = 1_000_000;

/**
 * Not a design anyone could ship, but the ideal schedule run for real on this machine's threads:
 * it knows how each task splits into I/O and CPU, sleeps on the main thread, and hands each CPU
 * part, in the order the sleeps end, to whichever worker is free (ideal.ts's greedy rule). Its
 * time is what the P cores can actually deliver at the moment, so polyloop / greedy, paired per
 * run, measures polyloop's scheduling alone, whatever speed the cores run at.
 */
export function create(): Contestant {
  let workers: Worker[] = [];

  function run(inputs: readonly TaskInput[]): Promise<unknown[]> {
    return new Promise((resolve) => {
      const out = new Array<unknown>(inputs.length);
      const params = inputs.map(taskParams);
      let left = inputs.length;
      // Indices whose I/O has ended, in that order; `head` is the next to hand out.
      const ready: number[] = [];
      let head = 0;
      const queued = workers.map(() => 0);
      let nextId = 0;
      const pending = new Map<number, number[]>();

      const pump = () => {
        for (let w = 0; w < workers.length; w++) {
          while (queued[w]! < QUEUED_PER_WORKER && head < ready.length) {
            const take: number[] = [];
            let ints = 0;
            while (head < ready.length && ints < MIN_INTS_PER_MESSAGE) {
              const i = ready[head++]!;
              take.push(i);
              ints += params[i]!.n;
            }
            const id = nextId++;
            pending.set(id, take);
            queued[w]!++;
            workers[w]!.postMessage({
              id,
              ns: take.map((i) => params[i]!.n),
              seeds: take.map((i) => inputs[i]!.i),
            });
          }
        }
      };

      workers.forEach((worker, w) => {
        worker.removeAllListeners('message');
        worker.on('message', ({ id, values }: { id: number; values: unknown[] }) => {
          const took = pending.get(id)!;
          pending.delete(id);
          for (let k = 0; k < took.length; k++) out[took[k]!] = values[k];
          queued[w]!--;
          left -= took.length;
          if (left === 0) resolve(out);
          else pump();
        });
      });
      params.forEach(({ sleepMs }, i) => {
        if (sleepMs === 0) ready.push(i);
        else
          setTimeout(() => {
            ready.push(i);
            pump();
          }, sleepMs);
      });
      if (inputs.length === 0) resolve(out);
      pump();
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
