import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { recordingFromJson, recordingToJson, renderLoadChart } from '../src/cli/load-chart.ts';
import type { LoadRecording } from '../src/cli/load-recorder.ts';
import { type TaskCounts, TaskRecorder, type TaskSeries } from '../src/cli/task-recorder.ts';
import { CLI_TASK, jsonl, runCli, tempDir } from './cli-helpers.ts';

const RECORDING: LoadRecording = {
  times: [0.1, 0.2, 0.3, 0.4],
  seconds: 0.4,
  series: [
    { label: 'main thread', kind: 'main', id: 0, values: [0.5, 0.1, 0.1, 0.1] },
    { label: 'worker 0', kind: 'worker', id: 0, values: [Number.NaN, 1, 1, 0.9] },
    { label: 'CPU 0', kind: 'core', id: 0, values: [0.6, 1, 1, 1] },
  ],
};

const WITH_TASKS: LoadRecording = {
  ...RECORDING,
  tasks: {
    inFlight: [3, 8, 8, 2],
    limit: [8, 8, 8, Number.POSITIVE_INFINITY],
    completed: [0, 40, 80, 60],
    latencyMs: [Number.NaN, 2, 100, 9],
  },
};

/** The largest x any series' area reaches. */
function rightmostX(svg: string): number {
  const xs = [...svg.matchAll(/<path d="([^"]*)"/g)].flatMap(([, d]) =>
    [...d!.matchAll(/[ML]([\d.]+),/g)].map(([, x]) => Number(x)),
  );
  return Math.max(...xs);
}

describe('load chart', () => {
  it('a shared time axis: a shorter run ends part-way, with a marker; the longer fills the width', () => {
    const own = renderLoadChart(RECORDING, 'run');
    const shared = renderLoadChart(RECORDING, 'run', { seconds: 0.8 });
    assert.doesNotMatch(own, /class="end"/);
    assert.match(shared, /<g class="end">.*ended at 0\.4 s/);
    // Plot from x=180 to 936: the run's 0.4 s fill it on its own axis, half of it on a 0.8 s one.
    assert.equal(rightmostX(own), 936);
    assert.equal(rightmostX(shared), 558);
    // A span shorter than the run never cuts it off.
    assert.equal(renderLoadChart(RECORDING, 'run', { seconds: 0.1 }), own);
  });

  it('the JSON recording round-trips, NaN (no sample) included', () => {
    const { title, recording } = recordingFromJson(recordingToJson(RECORDING, 'a title'));
    assert.equal(title, 'a title');
    assert.deepEqual(recording, RECORDING);
  });

  it('the task series round-trip too: an unbounded limit stays Infinity, no latency stays NaN', () => {
    const json = recordingToJson(WITH_TASKS, 'a title');
    assert.match(json, /"limit":\[8,8,8,null\]/);
    assert.deepEqual(recordingFromJson(json).recording, WITH_TASKS);
  });

  it('draws the tasks in flight against the limit, and the latency, on labelled scales', () => {
    const svg = renderLoadChart(WITH_TASKS, 'run');
    assert.match(svg, /<g class="tasks" data-section="in-flight">.*Tasks in flight/);
    assert.match(svg, /one scale, 0 – 8</);
    assert.match(svg, /data-series="in-flight"/);
    assert.match(svg, /data-series="limit"/);
    // 2 ms to 100 ms is wider than a decade: a log scale, said so, with a line per decade.
    assert.match(svg, /<g class="tasks" data-section="latency">.*Task latency/);
    assert.match(svg, /log scale, 1 ms – 100 ms/);
    for (const tick of ['1 ms', '10 ms', '100 ms']) assert.match(svg, new RegExp(`>${tick}<`));
    // The mean over every task that ended: (2×40 + 100×80 + 9×60) / 180.
    assert.match(svg, /all tasks: 47\.9 ms/);
    // The unbounded last interval has no limit line: its path stops at the third sample.
    const limit = /<path d="([^"]*)"[^>]*data-series="limit"/.exec(svg)![1]!;
    assert.equal(rightmostX(`<path d="${limit}"`), 747);
  });

  it('a recording from before the task series draws as it did', () => {
    // Written by `polyloop run --chart FILE.json` before the task series existed.
    const old = readFileSync(
      new URL('./fixtures/load-recording-before-tasks.json', import.meta.url),
    );
    const { title, recording } = recordingFromJson(old.toString('utf8'));
    assert.equal(recording.tasks, undefined);
    const svg = renderLoadChart(recording, title);
    assert.match(svg, /^<svg /);
    assert.match(svg, /data-kind="worker" data-id="1"/);
    assert.doesNotMatch(svg, /class="tasks"/);
  });

  it('polyloop run --chart FILE.json writes the recording, drawable later', async () => {
    const dir = tempDir();
    const file = join(dir, 'load.json');
    const result = await runCli(['run', CLI_TASK, '--workers', '2', '--chart', file, '-q'], {
      stdin: jsonl(Array.from({ length: 500 }, (_, i) => i)),
    });
    assert.equal(result.code, 0, result.stderr);
    const { title, recording } = recordingFromJson(readFileSync(file, 'utf8'));
    assert.match(title, /2 workers, 500 inputs/);
    const kinds = recording.series.map((series) => `${series.kind}:${series.id}`);
    assert.deepEqual(
      kinds.filter((kind) => !kind.startsWith('core')),
      ['main:0', 'worker:0', 'worker:1'],
    );
    for (const series of recording.series)
      assert.equal(series.values.length, recording.times.length);
    assertSaneTasks(recording, 500);
    const svg = renderLoadChart(recording, title);
    assert.match(svg, /^<svg /);
    assert.match(svg, /data-section="in-flight"/);
    assert.match(svg, /data-section="latency"/);
  });

  it('the limit is never below the tasks in flight when it only grows (--fixed-concurrency)', async () => {
    // An adaptive pool may cut its limit under tasks already running: then, for a moment, more are
    // in flight than the new limit allows, and the chart shows it. A fixed one never cuts.
    const dir = tempDir();
    const file = join(dir, 'load.json');
    const result = await runCli(
      ['run', CLI_TASK, '-w', '2', '-c', '3', '--fixed-concurrency', '--chart', file, '-q'],
      { stdin: jsonl(Array.from({ length: 300 }, (_, i) => i)) },
    );
    assert.equal(result.code, 0, result.stderr);
    const { recording } = recordingFromJson(readFileSync(file, 'utf8'));
    const tasks = assertSaneTasks(recording, 300);
    tasks.limit.forEach((limit, i) => {
      assert.ok(limit >= tasks.inFlight[i]!, `sample ${i}: ${tasks.inFlight[i]} over ${limit}`);
      assert.ok(limit <= 6, `sample ${i}: limit ${limit} past 2 workers × 3`);
    });
  });

  it('--workers 0 charts the tasks of the main-thread runner, its concurrency the limit', async () => {
    const dir = tempDir();
    const file = join(dir, 'load.json');
    const result = await runCli(['run', CLI_TASK, '-w', '0', '-c', '7', '--chart', file, '-q'], {
      stdin: jsonl(Array.from({ length: 200 }, (_, i) => i)),
    });
    assert.equal(result.code, 0, result.stderr);
    const { title, recording } = recordingFromJson(readFileSync(file, 'utf8'));
    const tasks = assertSaneTasks(recording, 200);
    tasks.limit.forEach((limit, i) => {
      assert.equal(limit, 7);
      assert.ok(tasks.inFlight[i]! <= 7);
    });
    assert.match(renderLoadChart(recording, title), /Tasks in flight/);
  });
});

describe('task recorder', () => {
  /** A recorder fed scripted counts at given times: no timers, no real pool. */
  function scripted(start: Partial<TaskCounts>) {
    let counts: TaskCounts = {
      inFlight: 0,
      limit: 10,
      done: 0,
      failed: 0,
      retried: 0,
      retriedErrors: 0,
      ...start,
    };
    const recorder = new TaskRecorder(() => counts, 0);
    const at = (ms: number, next: Partial<TaskCounts>, sample = true): void => {
      counts = { ...counts, ...next };
      if (sample) recorder.sample(ms);
      else recorder.tick(ms);
    };
    return { recorder, at };
  }

  it('means over the interval, and the time in flight of the tasks that ended', () => {
    // 4 tasks in flight from 0 ms; they end between 100 and 200 ms.
    const { recorder, at } = scripted({ inFlight: 4 });
    at(100, {}, false);
    at(200, { inFlight: 0, done: 3, failed: 1 });
    const series = recorder.recording();
    // In flight: 4 for 100 ms, then falling to 0 over the next 100: a mean of 3.
    assert.deepEqual(series.inFlight, [3]);
    assert.deepEqual(series.limit, [10]);
    assert.deepEqual(series.completed, [4]);
    // They ended evenly over 100–200 ms, having started at 0: 150 ms on average (Little's law
    // agrees: 3 in flight ÷ 4 per 200 ms).
    assert.deepEqual(series.latencyMs, [150]);
  });

  it('a drain: tasks that end later were in flight longer, though fewer are left', () => {
    // 10 tasks start at 0 and one ends every 100 ms. Little's law per interval (mean in flight ÷
    // ends per second) would say the opposite: 9.5 × 100 ms, then 8.5 × 100 ms, ...
    const { recorder, at } = scripted({ inFlight: 10 });
    for (let k = 1; k <= 10; k++) at(k * 100, { inFlight: 10 - k, done: k });
    const { latencyMs, completed } = recorder.recording();
    assert.deepEqual(completed, Array(10).fill(1));
    // Each end is placed mid-interval (the counts are read at its two ends).
    assert.deepEqual(
      latencyMs,
      Array.from({ length: 10 }, (_, k) => (k + 0.5) * 100),
    );
  });

  it('no task ended: no latency (NaN), not 0', () => {
    const { recorder, at } = scripted({ inFlight: 2 });
    at(100, {});
    assert.deepEqual(recorder.recording().latencyMs, [Number.NaN]);
  });

  it('merging two intervals weights the limit by time and the latency by the tasks that ended', () => {
    const { recorder, at } = scripted({ inFlight: 2, limit: 4 });
    at(100, { inFlight: 2, limit: 4, done: 1 });
    at(300, { inFlight: 2, limit: 4, done: 4 });
    const before = structuredClone(recorder.recording());
    recorder.halve();
    const after = recorder.recording();
    assert.deepEqual(after.completed, [before.completed[0]! + before.completed[1]!]);
    assert.deepEqual(after.limit, [4]);
    const weighted =
      (before.latencyMs[0]! * before.completed[0]! + before.latencyMs[1]! * before.completed[1]!) /
      after.completed[0]!;
    assert.ok(
      Math.abs(after.latencyMs[0]! - weighted) < 1e-3,
      `${after.latencyMs[0]} ≠ ${weighted}`,
    );
  });
});

/** The task series of a run of `inputs` tasks: one value per sample, all of them possible. */
function assertSaneTasks(recording: LoadRecording, inputs: number): TaskSeries {
  const tasks = recording.tasks;
  assert.ok(tasks, 'the recording has task series');
  for (const values of Object.values(tasks)) assert.equal(values.length, recording.times.length);
  for (const value of [...tasks.inFlight, ...tasks.limit, ...tasks.completed])
    assert.ok(value >= 0, `${value} is not a count`);
  for (const value of tasks.latencyMs) assert.ok(Number.isNaN(value) || value >= 0);
  assert.equal(
    tasks.completed.reduce((a, b) => a + b, 0),
    inputs,
  );
  // Tasks ended, so some interval has a latency.
  assert.ok(tasks.latencyMs.some(Number.isFinite));
  return tasks;
}
