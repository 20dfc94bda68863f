// Runs a snippet of spinning code in a fresh worker thread and resolves with the one message it
// posts. The snippet gets `workerData.workload`, the URL of workload.js, to import spin() from.
import { Worker } from 'node:worker_threads';

const WORKLOAD = new URL('./workload.js', import.meta.url).href;

export function spinThread<T>(source: string, data: Record<string, unknown>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), {
      workerData: { ...data, workload: WORKLOAD },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}
