// poolifier needs its own worker wrapper; the task function must be a real `async` function,
// or poolifier runs it as synchronous and tries to send back the pending promise. `crawl` is one,
// and the same function every other contestant runs per input.
import { ThreadWorker } from 'poolifier';
import { crawl } from '../workload.js';

export default new ThreadWorker(crawl);
