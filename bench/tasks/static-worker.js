// The seed's design: each worker gets one contiguous slice, runs it all at once, sends it back.
// With `workerData.timed`, each result also says when its task started (start-times.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { crawl } from '../workload.js';
import timedCrawl from './timed-crawler.js';

const task = workerData?.timed ? timedCrawl : crawl;

parentPort.on('message', async ({ id, inputs }) => {
  const results = await Promise.all(inputs.map(task));
  parentPort.postMessage({ id, results });
});
parentPort.postMessage({ ready: true });
