// Does the pool leave an overload that a main-thread stall caused? An open-loop caller issues
// `run()` calls at a steady rate (each a healthy task that waits --task-ms, with a --timeout),
// then busy-loops its own thread for --stall-ms: the calls it owes pile up and go out at once.
// A pool whose cost per call grows with the calls pending never catches up again (every later
// call times out); a healthy one is back to no timeouts within a few seconds.
// Usage: node --import tsx bench/experiments/stall.ts [--backend thread,process] [--rate 12000]
//        [--task-ms 20] [--timeout 200] [--stall-ms 1000] [--before 3] [--after 10] [--bucket-ms 500]
import { parseArgs } from 'node:util';
import { Pool } from '../../dist/index.js';

const TASK = new URL('./tasks/sleep.js', import.meta.url);

interface Bucket {
  issued: number;
  timedOut: number;
  failed: number;
  latency: number[];
}

async function once(
  backend: 'thread' | 'process',
  o: {
    rate: number;
    taskMs: number;
    timeout: number;
    stallMs: number;
    before: number;
    after: number;
    bucketMs: number;
  },
): Promise<void> {
  const pool = new Pool(TASK, { backend, timeout: o.timeout });
  await pool.ready();
  const buckets: Bucket[] = [];
  const bucketOf = (t: number): Bucket => {
    const i = Math.floor(t / o.bucketMs);
    while (buckets.length <= i) buckets.push({ issued: 0, timedOut: 0, failed: 0, latency: [] });
    return buckets[i]!;
  };
  const calls: Promise<void>[] = [];
  const start = performance.now();
  const stallAt = o.before * 1000;
  const end = stallAt + o.stallMs + o.after * 1000;
  let issued = 0;
  let stalled = false;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now() - start;
      if (!stalled && now >= stallAt) {
        stalled = true;
        // The caller's own thread is busy: nothing runs on it, results and timers included.
        while (performance.now() - start < stallAt + o.stallMs) {}
        return;
      }
      const owed = Math.floor((Math.min(now, end) * o.rate) / 1000) - issued;
      for (let k = 0; k < owed; k++) {
        const t = performance.now() - start;
        const bucket = bucketOf(t);
        bucket.issued++;
        calls.push(
          pool.run(o.taskMs).then(
            () => {
              bucket.latency.push(performance.now() - start - t);
            },
            (error: Error) => {
              if (error.name === 'TimeoutError') bucket.timedOut++;
              else bucket.failed++;
            },
          ),
        );
      }
      issued += owed;
      if (now >= end) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(calls);
  await pool.close();
  console.log(
    `\n${backend}: ${o.rate} calls/s, ${o.taskMs} ms tasks, timeout ${o.timeout} ms, stall ${o.stallMs} ms at ${stallAt} ms`,
  );
  console.log('| issued at (s) | calls | timed out | other failures | p50 ms | p99 ms |');
  console.log('|---|---|---|---|---|---|');
  const stallEnd = stallAt + o.stallMs;
  let healthyBefore = 0;
  let bucketsBefore = 0;
  let healthyFrom: number | undefined;
  let timedOutAfter = 0;
  let issuedAfter = 0;
  for (let i = 0; i < buckets.length; i++) {
    const b = buckets[i]!;
    if (b.issued === 0) continue;
    b.latency.sort((x, y) => x - y);
    const startsAt = i * o.bucketMs;
    const p50 = b.latency[Math.floor(0.5 * b.latency.length)] ?? Number.POSITIVE_INFINITY;
    // Healthy: nothing timed out, and the median call well within the timeout (a call waits in
    // the pool's queue before its timeout starts: an overloaded pool shows here first).
    const healthy = b.timedOut === 0 && p50 < o.timeout / 2;
    // Calls issued within a timeout of the stall may be caught by it.
    if (startsAt + o.bucketMs <= stallAt - o.timeout) {
      bucketsBefore++;
      if (healthy) healthyBefore++;
    }
    // The last bucket may hold only the calls of the last tick: too few to judge.
    if (startsAt >= stallEnd && startsAt + o.bucketMs <= end) {
      timedOutAfter += b.timedOut;
      issuedAfter += b.issued;
      if (!healthy) healthyFrom = undefined;
      else healthyFrom ??= startsAt;
    }
    const pct = (p: number) =>
      b.latency.length
        ? Math.round(b.latency[Math.min(b.latency.length - 1, Math.floor(p * b.latency.length))]!)
        : '-';
    const share = ((100 * b.timedOut) / b.issued).toFixed(1);
    console.log(
      `| ${((i * o.bucketMs) / 1000).toFixed(1)} | ${b.issued} | ${share} % | ${b.failed} | ${pct(0.5)} | ${pct(0.99)} |`,
    );
  }
  const recovery =
    healthyFrom === undefined
      ? 'never healthy again'
      : `healthy from ${((healthyFrom - stallEnd) / 1000).toFixed(1)} s after the stall on`;
  console.log(
    `\nBefore the stall: ${healthyBefore} of ${bucketsBefore} buckets healthy (no timeout, p50 < timeout / 2). After it: ${recovery}; ${((100 * timedOutAfter) / Math.max(1, issuedAfter)).toFixed(1)} % of the calls issued after it timed out.`,
  );
}

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'thread,process' },
    rate: { type: 'string', default: '12000' },
    'task-ms': { type: 'string', default: '20' },
    timeout: { type: 'string', default: '200' },
    'stall-ms': { type: 'string', default: '1000' },
    before: { type: 'string', default: '3' },
    after: { type: 'string', default: '10' },
    'bucket-ms': { type: 'string', default: '500' },
  },
});
for (const backend of values.backend.split(',') as Array<'thread' | 'process'>) {
  await once(backend, {
    rate: Number(values.rate),
    taskMs: Number(values['task-ms']),
    timeout: Number(values.timeout),
    stallMs: Number(values['stall-ms']),
    before: Number(values.before),
    after: Number(values.after),
    bucketMs: Number(values['bucket-ms']),
  });
}
