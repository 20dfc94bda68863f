import { Piscina } from 'piscina';
import type { Contestant } from './contestant.ts';
import { warmupInputs } from './contestant.ts';

const TASK_FILE = new URL('../tasks/fake-crawler.js', import.meta.url).href;

/** piscina with a fixed thread count and no cap on tasks in flight per worker. */
export function create(): Contestant {
  let pool: Piscina | undefined;
  return {
    async start({ workers, taskCount }) {
      pool = new Piscina({
        filename: TASK_FILE,
        minThreads: workers,
        maxThreads: workers,
        // Any positive integer is accepted; the task count means "never queue in the main thread".
        concurrentTasksPerWorker: taskCount,
      });
      const p = pool;
      await Promise.all(warmupInputs(workers).map((input) => p.run(input)));
    },
    run(inputs) {
      const p = pool!;
      return Promise.all(inputs.map((input) => p.run(input)));
    },
    async stop() {
      await pool?.destroy();
    },
  };
}
