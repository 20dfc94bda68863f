// The lean design's worker (issue 19), a floor for a pool's per-task cost: start every input of a
// chunk at once through the same task function the pools run, and post the results that settled
// back in one message per turn of the event loop, as flat [index, value, index, value, ...].
// No error handling on purpose: a rejected task crashes the worker; the floor never needs it.
import { parentPort } from 'node:worker_threads';
import { crawl } from '../workload.js';

let settled = [];
let flushQueued = false;

// setImmediate runs once the turn's messages and their microtasks are done, so chunks that
// arrived together leave in one message.
function flush() {
  flushQueued = false;
  const out = settled;
  settled = [];
  parentPort.postMessage(out);
}

parentPort.on('message', ({ start, inputs }) => {
  for (let k = 0; k < inputs.length; k++) {
    crawl(inputs[k]).then((value) => {
      settled.push(start + k, value);
      if (!flushQueued) {
        flushQueued = true;
        setImmediate(flush);
      }
    });
  }
});
parentPort.postMessage('ready');
