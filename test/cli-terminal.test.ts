/**
 * `polyloop run` on a real terminal (a tmux pseudo-terminal): the live progress display, the
 * Ctrl-C notice, records on the same terminal, a narrow window. Every wait is on what the screen
 * shows, so a slow machine only makes the tests slower.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CLI, jsonl, readRecords, tempDir } from './cli-helpers.ts';
import { hasTmux, Terminal } from './terminal.ts';

const TASK = fileURLToPath(new URL('./fixtures/tty-task.js', import.meta.url));

// Without tmux these tests skip on a developer's machine, but fail in CI (.ci/run installs it).
const skip =
  !hasTmux() && !process.env.CI
    ? 'tmux is not installed: the terminal tests need it (apt-get install tmux)'
    : false;

/** `polyloop run ...args` on a terminal that the end of the test `t` closes, whatever happened. */
function polyloop(t: TestContext, args: string[], width: number, height = 20): Terminal {
  const terminal = Terminal.open([process.execPath, CLI, 'run', ...args], width, height);
  t.after(() => terminal.close());
  return terminal;
}

/** The progress display's fields (see progress.ts): a frame line is whole fields, nothing else. */
const FIELD = [
  '\\[[█░]+\\]',
  '\\d+%',
  '[\\d,]+/[\\d,]+',
  '[\\d,]+ done',
  '(?:[\\d,.]+|-)/s',
  'ETA (?:--:--|\\d+:\\d\\d(?::\\d\\d)?)',
  'stopping',
  'aborting',
  'failed [\\d,]+',
  'in flight [\\d,]+ of (?:[\\d,]+|∞)',
  'workers \\[[ ▁▂▃▄▅▆▇█]*\\]',
  '\\d+% busy',
  '[\\d.]+ (?:µs|ms|s)/task',
  'latency p50 [\\d.]+ (?:µs|ms|s) p99 [\\d.]+ (?:µs|ms|s)',
  're-run [\\d,]+',
].join('|');
const FRAME_LINE = new RegExp(`^(?:${FIELD})(?:  (?:${FIELD}))*$`);

/** A line of the display: it starts with its bar, percentage or count, or with its workers. */
function isFrameLine(line: string): boolean {
  return /^(?:\[[█░]|\d+%|[\d,]+\/[\d,]+|[\d,]+ done|workers \[)/.test(line);
}

function frameLines(screen: string[]): string[] {
  return screen.filter(isFrameLine);
}

function has(pattern: RegExp): (screen: string[]) => boolean {
  return (screen) => screen.some((line) => pattern.test(line));
}

const NOTICE = 'polyloop: stopping — finishing the tasks in flight';

describe('polyloop run on a terminal', { skip }, () => {
  it('the Ctrl-C notice stays above the live display; --resume counts the whole file; no stale frames', async (t) => {
    const dir = tempDir();
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    const input = join(dir, 'in.jsonl');
    // Lines 0 and 1 end when the test says; with -c 2 nothing else starts while they run.
    writeFileSync(
      input,
      jsonl([{ waitFor: a }, { waitFor: b }, ...Array.from({ length: 10 }, (_, i) => i)]),
    );
    const output = join(dir, 'out.jsonl');
    // An earlier run's records for lines 2..6: done already.
    writeFileSync(output, jsonl([2, 3, 4, 5, 6].map((index) => ({ index, value: 0 }))));
    const args = [TASK, '-i', input, '-o', output, '--resume', '-w', '1', '-c', '2'];
    const terminal = polyloop(t, args, 100);

    // The whole file: 5 of its 12 inputs have a record (not 0 of the 7 left).
    await terminal.until(has(/ 5\/12 .*in flight 2/), 'the display with 5/12 done, 2 in flight');
    terminal.keys('C-c');
    let screen = await terminal.until(has(/stopping {2}/), 'the display to say stopping');
    assert.ok(screen.includes(`${NOTICE} (press Ctrl-C again to abort them)`), screen.join('\n'));
    assert.ok(
      !screen.some((line) => /ETA/.test(line)),
      `no ETA after Ctrl-C:\n${screen.join('\n')}`,
    );

    // One task ends: the display is redrawn with 6/12, and the notice is still there above it.
    writeFileSync(a, '');
    screen = await terminal.until(has(/ 6\/12 /), 'the display redrawn with 6/12');
    assert.ok(
      screen.some((line) => line.startsWith(NOTICE)),
      `notice erased:\n${screen.join('\n')}`,
    );
    assert.equal(frameLines(screen).length, 2, `one frame of two lines:\n${screen.join('\n')}`);

    writeFileSync(b, '');
    screen = await terminal.until(has(/^exit=/), 'the command to end');
    const text = screen.join('\n');
    assert.ok(screen.includes('exit=130'), text);
    assert.ok(
      screen.some((line) => line.startsWith(NOTICE)),
      text,
    );
    assert.match(text, /polyloop: 2 inputs \(2 ok, 0 failed\).* — interrupted/);
    assert.deepEqual(
      frameLines(terminal.history()),
      [],
      `the display is erased at the end:\n${text}`,
    );
    assert.deepEqual(
      readRecords(output)
        .map((r) => r.index)
        .sort((x, y) => x - y),
      [0, 1, 2, 3, 4, 5, 6],
    );
  });

  it('records on stdout to the same terminal never share a line with the display', async (t) => {
    const dir = tempDir();
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    const input = join(dir, 'in.jsonl');
    // With -c 2: lines 1-5 run beside line 0, then line 6 holds the second slot until `b`.
    writeFileSync(input, jsonl([{ waitFor: a }, 0, 1, 2, 3, 4, { waitFor: b }, 5, 6, 7, 8, 9]));
    const terminal = polyloop(t, [TASK, '-i', input, '-w', '1', '-c', '2'], 80, 30);

    const assertClean = (lines: string[], frames: number): void => {
      const text = lines.join('\n');
      for (const line of lines) {
        if (line.includes('{'))
          assert.doesNotThrow(() => JSON.parse(line), `a record line: ${line}`);
        else if (isFrameLine(line)) assert.match(line, FRAME_LINE);
      }
      assert.equal(frameLines(lines).length, frames * 2, `${frames} frame(s):\n${text}`);
    };
    let screen = await terminal.until(has(/ 5\/12 /), 'five records and the display');
    assertClean(screen, 1);
    writeFileSync(a, '');
    screen = await terminal.until(has(/ 11\/12 /), 'eleven records and the display');
    assertClean(screen, 1);
    writeFileSync(b, '');
    await terminal.until(has(/^exit=/), 'the command to end');
    const history = terminal.history();
    assertClean(history, 0);
    assert.ok(history.includes('exit=0'), history.join('\n'));
    const indices = history
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { index: number }).index)
      .sort((x, y) => x - y);
    assert.deepEqual(
      indices,
      Array.from({ length: 12 }, (_, i) => i),
    );
  });

  it('a narrow terminal shows whole fields only, never a number cut short', async (t) => {
    const dir = tempDir();
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    const input = join(dir, 'in.jsonl');
    const numbers = Array.from({ length: 1_000_000 }, (_, i) => i);
    writeFileSync(input, jsonl([{ waitFor: a }, { waitFor: b }, ...numbers]));
    const width = 30;
    const terminal = polyloop(
      t,
      [TASK, '-i', input, '-o', join(dir, 'out'), '-w', '1', '-c', '2'],
      width,
    );

    const assertWhole = (screen: string[]): void => {
      const frame = frameLines(screen);
      assert.equal(frame.length, 2, screen.join('\n'));
      for (const line of frame) {
        assert.ok([...line].length < width, `narrower than the terminal: "${line}"`);
        assert.match(line, FRAME_LINE);
      }
      // The count, the most important field, is there, whole.
      assert.match(frame[0]!, /(?:^| )0\/1,000,002(?: |$)/);
    };
    assertWhole(await terminal.until(has(/1,000,002/), 'the display with the total'));
    terminal.keys('C-c');
    assertWhole(
      await terminal.until(has(/0\/1,000,002 {2}stopping/), 'the display to say stopping'),
    );
    writeFileSync(a, '');
    writeFileSync(b, '');
    await terminal.until(has(/^exit=130/), 'the command to end');
  });

  it('the time shown per task is the task’s own, not its wait behind the others on its worker', async (t) => {
    const dir = tempDir();
    const input = join(dir, 'in.jsonl');
    // 3.5 ms of CPU after an await: a worker starts hundreds at once, and each waits for the
    // others' turns, so from start to end they take about a second (the old "task p50 1.0 s").
    writeFileSync(input, jsonl(Array.from({ length: 20_000 }, () => ({ spin: 3.5 }))));
    const terminal = polyloop(t, [TASK, '-i', input, '-o', join(dir, 'out'), '-w', '1'], 120);
    const screen = await terminal.until(
      has(/\/task|task p50/),
      'the display to show the time per task',
    );
    const shown = screen.join('\n').match(/([\d.]+) (µs|ms|s)\/task/);
    assert.ok(shown, `no time per task on screen:\n${screen.join('\n')}`);
    const ms = Number(shown[1]) * (shown[2] === 's' ? 1000 : shown[2] === 'µs' ? 0.001 : 1);
    assert.ok(ms >= 2 && ms <= 25, `3.5 ms per task, shown as ${shown[0]}`);
  });
});
