import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { recordingFromJson, recordingToJson, renderLoadChart } from '../src/cli/load-chart.ts';
import type { LoadRecording } from '../src/cli/load-recorder.ts';
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
    assert.match(renderLoadChart(recording, title), /^<svg /);
  });
});
