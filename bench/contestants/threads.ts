import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

/**
 * Starts `count` worker threads of a hand-written contestant and waits until each has posted its
 * first message (its "ready"), so thread start-up is never timed.
 */
export async function startThreads(url: URL, count: number): Promise<Worker[]> {
  const workers = Array.from({ length: count }, () => new Worker(url));
  await Promise.all(workers.map((w) => once(w, 'message')));
  return workers;
}

export async function stopThreads(workers: readonly Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.terminate()));
}
