// The seed's design: each worker gets one contiguous slice, runs it all at once, sends it back.
import { parentPort } from 'node:worker_threads';
import { crawl } from '../workload.js';

parentPort.on('message', async ({ id, inputs }) => {
  const results = await Promise.all(inputs.map(crawl));
  parentPort.postMessage({ id, results });
});
parentPort.postMessage({ ready: true });
