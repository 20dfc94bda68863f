// The leanest batching worker we could write, as a floor for polyloop's per-task cost: run every
// input of a message at once through the same task module polyloop loads, answer with all of its
// results when the last one settles.
import { parentPort } from 'node:worker_threads';
import task from '../../tasks/fake-crawler.js';

parentPort.on('message', ({ id, inputs }) => {
  const values = new Array(inputs.length);
  let left = inputs.length;
  for (let k = 0; k < inputs.length; k++) {
    task(inputs[k]).then((value) => {
      values[k] = value;
      if (--left === 0) parentPort.postMessage({ id, values });
    });
  }
});
parentPort.postMessage('ready');
