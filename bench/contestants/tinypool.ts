import { Tinypool } from 'tinypool';
import { type Contestant, warmupInputs } from './contestant.ts';

const TASK_FILE = new URL('../tasks/fake-crawler.js', import.meta.url).href;

/** tinypool (a piscina fork) with a fixed thread count and no cap on tasks in flight per worker. */
export function create(): Contestant {
  let pool: Tinypool | undefined;
  return {
    async start({ workers, taskCount }) {
      pool = new Tinypool({
        filename: TASK_FILE,
        minThreads: workers,
        maxThreads: workers,
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
