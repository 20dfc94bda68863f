// The fake crawler, plus when each task started (epoch ms): for start-times.ts, which measures
// how soon each design gets every task's I/O going. Used by polyloop and by timed-static-worker.js.
import { crawl } from '../../workload.js';

const timeOrigin = performance.timeOrigin;

export default function timedCrawl(input) {
  const startedAt = timeOrigin + performance.now();
  return crawl(input).then((value) => ({ value, startedAt }));
}
