// poolifier needs its own worker wrapper; the task function must be a real `async` function,
// or poolifier runs it as synchronous and tries to send back the pending promise.
import { ThreadWorker } from 'poolifier';
import { crawl } from '../workload.js';

export default new ThreadWorker(async (input) => crawl(input));
