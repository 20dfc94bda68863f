/** `polyloop run`'s input: --resume refuses another input's output, and bytes that are not UTF-8. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CLI_TASK,
  type CliResult,
  jsonl,
  lineCount,
  parseRecords,
  readRecords,
  runCli,
  startCli,
  tempDir,
  until,
} from './cli-helpers.ts';

/** Every index in 0..count-1 exactly once, each with the task's value for input n: n * 2. */
function assertDoubledOnce(records: Array<{ index: number; value?: unknown }>, count: number) {
  const seen = new Map<number, number>();
  for (const { index } of records) seen.set(index, (seen.get(index) ?? 0) + 1);
  const twice = [...seen].filter(([, times]) => times > 1).map(([index]) => index);
  assert.deepEqual(twice.slice(0, 20), [], 'indices with more than one record');
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!seen.has(i)) missing.push(i);
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} indices without a record`);
  assert.equal(records.length, count);
  const wrong = records.filter((r) => r.value !== r.index * 2);
  assert.deepEqual(wrong.slice(0, 5), [], 'records of another input');
}

function assertOneLine(result: CliResult, pattern: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, pattern);
  assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
}

/** Keeps the first `count` lines of a file: an earlier run that stopped there. */
function keepLines(path: string, count: number): void {
  const lines = readFileSync(path, 'utf8').split('\n').slice(0, count);
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/**
 * runCli, but the command may end before it has read all of its stdin (a refused resume, a kill):
 * the EPIPE of that unread rest is expected, not an error of the test.
 */
function runTolerant(args: string[], stdin?: string, env?: Record<string, string>) {
  const started = startCli(args, { stdin, env });
  started.child.stdin!.on('error', () => {});
  return started;
}

const numbers = (count: number, from = 0) =>
  jsonl(Array.from({ length: count }, (_, i) => from + i));

describe('polyloop run --resume checks the input', () => {
  it('resumes with the same input; refuses another one (exit 2, one line naming both); --force resumes anyway', async () => {
    const dir = tempDir();
    const count = 50;
    const a = join(dir, 'a.jsonl');
    writeFileSync(a, numbers(count));
    // Same size as a, other lines; and one of another size.
    const sameSize = join(dir, 'same-size.jsonl');
    writeFileSync(sameSize, numbers(count).replace('\n7\n', '\n8\n'));
    const longer = join(dir, 'longer.jsonl');
    writeFileSync(longer, numbers(count + 1));
    const output = join(dir, 'out.jsonl');
    const run = (input: string, ...extra: string[]) =>
      runCli(['run', CLI_TASK, '-i', input, '-o', output, '-w', '1', ...extra]);

    assert.equal((await run(a, '-q')).code, 0);
    assert.ok(existsSync(`${output}.polyloop-input`), 'the fingerprint beside the output');
    keepLines(output, 20);
    const before = readFileSync(output, 'utf8');

    assertOneLine(
      await run(sameSize, '--resume'),
      /^polyloop run: Cannot resume: .*out\.jsonl has records of another input than .*same-size\.jsonl \(their first \d+ bytes differ\); --force resumes it anyway/,
    );
    assertOneLine(
      await run(longer, '--resume'),
      /another input than .*longer\.jsonl \(.*a\.jsonl then had 140 bytes, .*longer\.jsonl now has 143\)/,
    );
    assertOneLine(await run(a, '--resume', '--lines'), /\(read as JSON then, as plain text lines/);
    assert.equal(readFileSync(output, 'utf8'), before, 'nothing written when refused');

    const resumed = await run(a, '--resume');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.doesNotMatch(resumed.stderr, /fingerprint|anyway/);
    assertDoubledOnce(readRecords(output), count);

    keepLines(output, 20);
    const forced = await run(sameSize, '--resume', '--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /resuming anyway \(--force\): .*another input than .*same-size/);
    assert.equal(new Set(readRecords(output).map((r) => r.index)).size, count);
    // From now on the output is taken to be of that input.
    const again = await run(sameSize, '--resume');
    assert.equal(again.code, 0, again.stderr);
    assertOneLine(await run(a, '--resume'), /another input than .*a\.jsonl/);

    assertOneLine(await run(a, '--force'), /--force goes with --resume/);
  });

  it('from stdin: the head the fingerprint covers is compared before the run; an output without one resumes with a warning', async () => {
    const dir = tempDir();
    const output = join(dir, 'out.jsonl');
    const run = (stdin: string, ...extra: string[]) =>
      runTolerant(['run', CLI_TASK, '-o', output, '-w', '1', ...extra], stdin).done;
    assert.equal((await run(numbers(30), '-q')).code, 0);
    keepLines(output, 10);
    const before = readFileSync(output, 'utf8');

    assertOneLine(
      await run(numbers(30, 1), '--resume'),
      /Cannot resume: .*out\.jsonl has records of another input than stdin \(their first \d+ bytes differ\)/,
    );
    assertOneLine(await run(numbers(5), '--resume'), /stdin now ends before the \d+ bytes/);
    assert.equal(readFileSync(output, 'utf8'), before, 'nothing written when refused');
    // The same input from a file: what a stream's fingerprint covers is compared.
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, numbers(30));
    const fromFile = await runCli(['run', CLI_TASK, '-i', file, '-o', output, '--resume', '-q']);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assertDoubledOnce(readRecords(output), 30);

    // Records an older polyloop wrote: no fingerprint beside them.
    const old = join(dir, 'old.jsonl');
    writeFileSync(old, '{"index":0,"value":0}\n');
    const unchecked = await runCli(['run', CLI_TASK, '-o', old, '--resume', '-w', '1'], {
      stdin: numbers(3),
    });
    assert.equal(unchecked.code, 0, unchecked.stderr);
    assert.match(
      unchecked.stderr,
      /polyloop: .*old\.jsonl has no input fingerprint .*: resuming without checking that its records are of stdin/,
    );
    assertDoubledOnce(readRecords(old), 3);
    assert.ok(existsSync(`${old}.polyloop-input`), 'kept from now on');
  });

  for (const source of ['file', 'stdin'] as const) {
    it(`killed -9 mid-run (input from ${source}), resumed with the same input: every index exactly once; another input refused`, async () => {
      const dir = tempDir();
      const count = 150_000; // ~1 MB: more than a stream's hashed head
      const holdFrom = 2000;
      const text = numbers(count);
      const input = join(dir, 'in.jsonl');
      writeFileSync(input, text);
      const output = join(dir, 'out.jsonl');
      const inputArgs = source === 'file' ? ['-i', input] : [];
      const stdin = source === 'stdin' ? text : undefined;
      const args = ['run', CLI_TASK, ...inputArgs, '-o', output, '-w', '2', '-q'];
      // Inputs from 2000 on never end in this first run: it can only be killed.
      const first = runTolerant(args, stdin, { HOLD_FROM: String(holdFrom) });
      await until(() => lineCount(output) >= holdFrom, 'the first 2,000 records');
      first.child.kill('SIGKILL');
      assert.equal((await first.done).signal, 'SIGKILL');

      const other = text.replace('\n5\n', '\n6\n');
      const otherFile = join(dir, 'other.jsonl');
      writeFileSync(otherFile, other);
      const otherArgs = source === 'file' ? ['-i', otherFile] : [];
      const refused = await runTolerant(
        ['run', CLI_TASK, ...otherArgs, '-o', output, '--resume'],
        source === 'stdin' ? other : undefined,
      ).done;
      assertOneLine(refused, /Cannot resume: .*has records of another input/);

      const resumed = await runCli([...args, '--resume'], { stdin });
      assert.equal(resumed.code, 0, resumed.stderr);
      assertDoubledOnce(readRecords(output), count);
    });
  }
});

describe('polyloop run: input that is not UTF-8', () => {
  it('a line with bytes that are not UTF-8 gets ERR_POLYLOOP_INVALID_INPUT naming its line and byte offset; the others their values', async () => {
    const lines: Array<[Buffer, string | RegExp]> = [
      [Buffer.from('"ok é 日本"'), 'OK É 日本'],
      [Buffer.from([0x22, 0x61, 0xff, 0x22]), /0xFF, a byte that never occurs in UTF-8/],
      [Buffer.from([0x22, 0xe6, 0x97, 0x22]), /0xE6 0x97, a sequence cut short/],
      [Buffer.from([0x22, 0xc0, 0xaf, 0x22]), /0xC0 0xAF, an overlong encoding/],
      [Buffer.from([0x22, 0xe0, 0x80, 0xaf, 0x22]), /0xE0 0x80 0xAF, an overlong encoding/],
      [Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), /0xED 0xA0 0x80, a UTF-16 surrogate/],
      [Buffer.from([0x22, 0x80, 0x22]), /0x80, a continuation byte without a lead byte/],
      [Buffer.from('"last"'), 'LAST'],
      // The last line, without a newline, cut in the middle of a character.
      [Buffer.from([0x22, 0x7a, 0xe6, 0x97]), /0xE6 0x97, a sequence cut short/],
    ];
    const input = Buffer.concat(
      lines.flatMap(([bytes], i) => (i < lines.length - 1 ? [bytes, Buffer.from('\n')] : [bytes])),
    );
    const dir = tempDir();
    const path = join(dir, 'in.jsonl');
    writeFileSync(path, input);
    let offset = 0;
    const offsets = lines.map(([bytes]) => {
      const at = offset;
      offset += bytes.length + 1;
      return at;
    });
    for (const format of ['json', 'lines'] as const) {
      const extra = format === 'lines' ? ['--lines'] : [];
      const result = await runCli([
        'run',
        CLI_TASK,
        '-i',
        path,
        '--ordered',
        '-w',
        '1',
        '-q',
        ...extra,
      ]);
      assert.equal(result.code, 1, result.stderr);
      const records = parseRecords(result.stdout);
      assert.equal(records.length, lines.length, format);
      for (const [i, [bytes, expected]] of lines.entries()) {
        const record = records[i]!;
        assert.equal(record.index, i);
        if (typeof expected === 'string') {
          // --lines: the line itself, quotes included.
          assert.equal(record.value, format === 'json' ? expected : `"${expected}"`, format);
          continue;
        }
        assert.equal(record.error?.code, 'ERR_POLYLOOP_INVALID_INPUT', `${format} line ${i + 1}`);
        const at = bytes.findIndex((byte, k) => k > 0 && byte >= 0x80);
        assert.match(
          record.error.message,
          new RegExp(
            `^Line ${i + 1} is not valid UTF-8 at byte offset ${offsets[i]! + at} of the input \\(offset ${at} in the line: `,
          ),
        );
        assert.match(record.error.message, expected);
      }
    }
  });

  it('characters split across read chunks decode whole; a bad byte deep in a long line is found', async () => {
    const dir = tempDir();
    // Lines of 3-byte characters: the 256 KiB reads split many of them in two.
    const word = '日本語'.repeat(1000);
    const count = 400;
    const long = Buffer.concat([
      Buffer.from(`"${word.repeat(200)}`),
      Buffer.from([0xff]),
      Buffer.from('"'),
    ]);
    const head = Buffer.from(jsonl(Array.from({ length: count }, () => word)));
    const path = join(dir, 'in.jsonl');
    writeFileSync(path, Buffer.concat([head, long, Buffer.from('\n"end"\n')]));
    const result = await runCli(['run', CLI_TASK, '-i', path, '--ordered', '-w', '1', '-q']);
    assert.equal(result.code, 1, result.stderr);
    const records = parseRecords(result.stdout);
    assert.equal(records.length, count + 2);
    for (const record of records.slice(0, count)) assert.equal(record.value, word);
    const bad = records[count]!;
    assert.equal(bad.error?.code, 'ERR_POLYLOOP_INVALID_INPUT');
    const at = long.length - 2;
    assert.match(
      bad.error.message,
      new RegExp(
        `^Line ${count + 1} is not valid UTF-8 at byte offset ${head.length + at} .*offset ${at} in the line: 0xFF`,
      ),
    );
    assert.deepEqual(records[count + 1], { index: count + 1, value: 'END' });
  });
});
