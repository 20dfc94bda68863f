import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveLines, type Readings } from '../src/cli/progress.ts';
import { columnsOf, fitFields } from '../src/cli/progress-fields.ts';
import { MIN_SPAN_MS, RunMeter } from '../src/cli/progress-meter.ts';
import type { PoolStats } from '../src/types.ts';

const POOL: PoolStats = {
  done: 0,
  failed: 0,
  retried: 0,
  retriedErrors: 0,
  inFlight: 1024,
  limit: 2048,
  queued: 0,
  workers: [
    { id: 0, state: 'ready', running: 512, utilization: 1 },
    { id: 1, state: 'ready', running: 512, utilization: 0.5 },
  ],
  runTime: { count: 10, p50: 1000, p99: 2000 },
  waitTime: { count: 0, p50: 0, p99: 0 },
};

const READINGS: Readings = {
  done: 123_456,
  failed: 7,
  total: 1_000_000,
  perSecond: 2345,
  eta: 374,
  state: 'running',
  busyPerTask: 3.5,
  pool: POOL,
};

describe('progress display', () => {
  it('fits a line by leaving out whole fields, least important (then rightmost) first', () => {
    const fields = [
      { text: 'aaaa', priority: 2 },
      { text: 'bbbb', priority: 0 },
      { text: 'cccc', priority: 2 },
      { text: '', priority: 0 },
      { text: 'dddd', priority: 1 },
    ];
    assert.equal(fitFields(fields, 100), 'aaaa  bbbb  cccc  dddd');
    assert.equal(fitFields(fields, 21), 'aaaa  bbbb  dddd');
    assert.equal(fitFields(fields, 10), 'bbbb  dddd');
    assert.equal(fitFields(fields, 4), 'bbbb');
    assert.equal(fitFields(fields, 3), '');
  });

  it('at every width, each line fits and keeps its count whole', () => {
    const [wide] = liveLines(READINGS, 200);
    assert.match(
      wide,
      /123,456\/1,000,000 {2}2,345\/s {2}ETA 6:14 {2}failed 7 {2}in flight 1,024 of 2,048$/,
    );
    for (let width = 1; width <= 120; width++) {
      const lines = liveLines(READINGS, width);
      for (const line of lines) assert.ok(columnsOf(line) <= width, `${width}: "${line}"`);
      if (width >= 17) assert.match(lines[0], /(?:^| )123,456\/1,000,000(?: |$)/, `${width}`);
      else assert.doesNotMatch(lines[0], /\d/, `${width}: no part of a number`);
    }
    // The failures outrank the rate when there are some.
    assert.equal(liveLines(READINGS, 36)[0], '12%  123,456/1,000,000  failed 7');
    assert.equal(liveLines(READINGS, 40)[1], 'workers [█▄]  75% busy  3.5 ms/task');
  });

  it('after Ctrl-C the ETA gives way to the state', () => {
    const [line] = liveLines({ ...READINGS, state: 'stopping', eta: undefined }, 200);
    assert.match(line, / {2}stopping {2}/);
    assert.doesNotMatch(line, /ETA/);
  });

  it('measures no rate until completions were seen for a while, then the recent rate', () => {
    const meter = new RunMeter();
    // Start-up: 3 s with nothing done does not count.
    for (let at = 0; at <= 3000; at += 100) meter.add(at, 0, 0, 2);
    // Then 500 records a second, from a first burst of 400.
    let at = 3100;
    meter.add(at, 400, 400, 2);
    assert.equal(meter.rate(), undefined);
    assert.equal(meter.eta(1000), undefined);
    for (let done = 400; at < 3100 + MIN_SPAN_MS; ) {
      at += 100;
      done += 50;
      meter.add(at, done, done, 2);
    }
    assert.ok(Math.abs(meter.rate()! - 500) < 1, `${meter.rate()}`);
    assert.ok(Math.abs(meter.eta(5000)! - 10) < 0.1);
    // 2 fully busy workers, 500 tasks a second: 4 ms of worker time per task.
    assert.ok(Math.abs(meter.busyPerTask()! - 4) < 0.01, `${meter.busyPerTask()}`);
  });

  it('follows the recent rate, not the average since the start', () => {
    const meter = new RunMeter();
    let done = 0;
    for (let at = 0; at <= 30_000; at += 100) {
      done += at < 15_000 ? 100 : 10; // 1,000/s, then 100/s
      meter.add(at, done, done, 1);
    }
    assert.ok(Math.abs(meter.rate()! - 100) < 1, `${meter.rate()}`);
  });
});
