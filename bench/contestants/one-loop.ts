import { crawl, type TaskInput } from '../workload.js';
import { type Contestant, warmupInputs } from './contestant.ts';

/** Baseline: every task started at once on the main thread's single event loop. */
export function create(): Contestant {
  return {
    async start() {
      await Promise.all(warmupInputs(1).map(crawl));
    },
    run: (inputs: readonly TaskInput[]) => Promise.all(inputs.map(crawl)),
    async stop() {},
  };
}
