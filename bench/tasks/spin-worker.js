// The greedy reference's worker: it only ever sees CPU parts whose I/O has already ended, runs
// them at once and answers. Plain JavaScript, like the other task files.
import { parentPort } from 'node:worker_threads';
import { spin } from '../workload.js';

parentPort.on('message', ({ id, ns, seeds }) => {
  const values = new Array(ns.length);
  for (let k = 0; k < ns.length; k++) values[k] = spin(ns[k], seeds[k]);
  parentPort.postMessage({ id, values });
});
parentPort.postMessage('ready');
