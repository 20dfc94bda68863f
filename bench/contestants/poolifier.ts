import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { FixedThreadPool } from 'poolifier';
import type { TaskInput } from '../workload.js';
import { type Contestant, warmupInputs } from './contestant.ts';

// poolifier wants a file path string, not a URL.
const WORKER_FILE = fileURLToPath(new URL('../tasks/poolifier-worker.js', import.meta.url));

/** poolifier's fixed thread pool, with its per-worker task queue allowed to run everything at once. */
export function create(): Contestant {
  let pool: FixedThreadPool<TaskInput, number> | undefined;
  return {
    async start({ workers, taskCount }) {
      pool = new FixedThreadPool<TaskInput, number>(workers, WORKER_FILE, {
        enableTasksQueue: true,
        tasksQueueOptions: { concurrency: taskCount },
      });
      const p = pool;
      if (!p.info.ready) await once(p.emitter!, 'ready');
      await Promise.all(warmupInputs(workers).map((input) => p.execute(input)));
    },
    run(inputs) {
      const p = pool!;
      return Promise.all(inputs.map((input) => p.execute(input)));
    },
    async stop() {
      await pool?.destroy();
    },
  };
}
