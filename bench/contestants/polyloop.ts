import { Pool } from '../../dist/index.js';
import { type Contestant, warmupInputs } from './contestant.ts';
import { polyloopOptions } from './polyloop-options.ts';

const TASK_FILE = new URL('../tasks/fake-crawler.js', import.meta.url);

/**
 * polyloop: one worker per core, many tasks in flight per worker, results in input order. Worker
 * threads unless `backend` says otherwise (polyloop-process.ts).
 */
export function create(backend: 'thread' | 'process' = 'thread'): Contestant {
  let pool: Pool | undefined;
  return {
    async start({ workers }) {
      pool = new Pool(TASK_FILE, { ...polyloopOptions, workers, backend });
      await pool.ready();
      await pool.map(warmupInputs(workers));
    },
    run(inputs) {
      return pool!.map(inputs);
    },
    async stop() {
      await pool?.close();
    },
  };
}
