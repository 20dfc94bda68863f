// poolifier needs its own worker wrapper. Its task function must be a real `async` function, or
// poolifier runs it as synchronous and tries to send back the pending promise; `crawl` returns a
// promise without being one (see workload.js), hence the one-line async wrapper. Its cost (one
// more promise per task) is far below poolifier's own per-task message.
import { ThreadWorker } from 'poolifier';
import { crawl } from '../workload.js';

export default new ThreadWorker(async (input) => crawl(input));
