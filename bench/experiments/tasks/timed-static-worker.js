// The static slices' worker (../../tasks/static-worker.js) on the timed crawler: each result also
// says when its task started.
import { parentPort } from 'node:worker_threads';
import timedCrawl from './timed-crawler.js';

parentPort.on('message', async ({ id, inputs }) => {
  const results = await Promise.all(inputs.map(timedCrawl));
  parentPort.postMessage({ id, results });
});
parentPort.postMessage({ ready: true });
