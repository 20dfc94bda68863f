import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFileSync,
  createWriteStream,
  existsSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CLI,
  CLI_TASK,
  jsonl,
  lineCount,
  parseRecords,
  readRecords,
  runCli,
  runShell,
  startCli,
  tempDir,
  until,
} from './cli-helpers.ts';

/** Every index in 0..count-1 exactly once. */
function assertEachIndexOnce(records: Array<{ index: number }>, count: number): void {
  const seen = new Map<number, number>();
  for (const { index } of records) seen.set(index, (seen.get(index) ?? 0) + 1);
  const twice = [...seen].filter(([, times]) => times > 1).map(([index]) => index);
  assert.deepEqual(twice, [], 'indices with more than one record');
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (!seen.has(i)) missing.push(i);
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} indices without a record`);
  assert.equal(records.length, count);
}

describe('polyloop run', () => {
  it('runs a .ts task over JSONL from stdin to stdout: one record per input, bad lines included', async () => {
    const input = `${jsonl([1, 2])}{not json\n\n${jsonl([{ throw: 'E_BAD' }, 5, { bigint: true }])}`;
    const result = await runCli(['run', CLI_TASK, '--workers', '2'], { stdin: input });
    assert.equal(result.code, 1, result.stderr);
    const records = parseRecords(result.stdout).sort((a, b) => a.index - b.index);
    // Line 4 is blank: not an input, but it keeps its line number, so line 5 is index 4.
    assert.deepEqual(records, [
      { index: 0, value: 2 },
      { index: 1, value: 4 },
      {
        index: 2,
        error: {
          code: 'ERR_POLYLOOP_INVALID_INPUT',
          message: records[2]!.error!.message,
        },
      },
      { index: 4, error: { code: 'E_BAD', message: 'failed on purpose: E_BAD' } },
      { index: 5, value: 10 },
      {
        index: 6,
        error: { code: 'ERR_POLYLOOP_OUTPUT_NOT_JSON', message: records[5]!.error!.message },
      },
    ]);
    assert.match(records[2]!.error!.message, /^Line 3 is not valid JSON/);
    assert.match(result.stderr, /6 inputs \(3 ok, 3 failed\)/);
  });

  it('--ordered writes records in input order, also with --workers 0 (the main thread alone)', async () => {
    const dir = tempDir();
    const inputs = Array.from({ length: 3000 }, (_, i) => (i % 500 === 7 ? { throw: 'E_X' } : i));
    const inputPath = join(dir, 'in.jsonl');
    writeFileSync(inputPath, `${jsonl(inputs)}oops\n`);
    const expected = [
      ...inputs.map((input, index) =>
        typeof input === 'number'
          ? { index, value: input * 2 }
          : { index, error: { code: 'E_X', message: 'failed on purpose: E_X' } },
      ),
    ];
    for (const workers of ['2', '0']) {
      const output = join(dir, `out-${workers}.jsonl`);
      const result = await runCli([
        'run',
        CLI_TASK,
        '-i',
        inputPath,
        '-o',
        output,
        '--ordered',
        '--workers',
        workers,
        '--quiet',
      ]);
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr, '', '--quiet prints nothing');
      const records = readRecords(output);
      assert.deepEqual(records.slice(0, -1), expected);
      assert.equal(records.at(-1)!.index, 3000);
      assert.equal(records.at(-1)!.error!.code, 'ERR_POLYLOOP_INVALID_INPUT');
    }
  });

  it('--lines reads plain text lines as string inputs; exit code 0 when every input succeeds', async () => {
    const result = await runCli(['run', CLI_TASK, '--lines', '--ordered', '-q'], {
      stdin: 'alpha\r\nbeta\n\ngamma',
    });
    assert.equal(result.code, 0);
    assert.deepEqual(parseRecords(result.stdout), [
      { index: 0, value: 'ALPHA' },
      { index: 1, value: 'BETA' },
      { index: 3, value: 'GAMMA' },
    ]);
  });

  it('exits with 2 and a one-line message on usage errors', async () => {
    const dir = tempDir();
    const existing = join(dir, 'existing.jsonl');
    writeFileSync(existing, '{"index":0,"value":1}\n');
    const cases: Array<[string[], RegExp]> = [
      [['run'], /Missing the task module/],
      [['run', join(dir, 'missing.js')], /Cannot find the task module/],
      [
        ['run', CLI_TASK, '--input', join(dir, 'nope.jsonl')],
        /Cannot read the input file .*no such file/,
      ],
      [
        ['run', CLI_TASK, '--workers', 'many'],
        /Expected --workers to be an integer >= 0, got "many"/,
      ],
      [['run', CLI_TASK, '--backend', 'gpu'], /Expected --backend to be one of thread, process/],
      [['run', CLI_TASK, '--frobnicate'], /Unknown option '--frobnicate'/],
      [['run', CLI_TASK, '--resume'], /--resume needs --output FILE/],
      [['run', CLI_TASK, '-o', existing], /already has records: pass --resume .* or --overwrite/],
      // Found before the run, not after it.
      [
        ['run', CLI_TASK, '--chart', join(dir, 'no-such-dir', 'c.svg')],
        /Cannot write the chart to .*c\.svg: ENOENT/,
      ],
      [['run', CLI_TASK, '--chart', dir], /Cannot write the chart to .*: it is a directory/],
      [
        ['run', CLI_TASK, '--resume', '-o', dir],
        /Cannot read the output file .* to resume: it is a directory/,
      ],
      [['fly'], /unknown command "fly"/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, `one line: ${result.stderr}`);
    }
  });

  it('a task module that fails to load is exit code 2, naming the cause, before any output', async () => {
    const broken = new URL('./fixtures/throws-on-import.js', import.meta.url).pathname;
    const result = await runCli(['run', broken], { stdin: jsonl([1]) });
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /could not be imported.*throws-on-import\.js/);
    assert.equal(result.stderr.trim().split('\n').length, 1);
  });

  it('--resume counts the error records already in the file for the exit code', async () => {
    const dir = tempDir();
    const output = join(dir, 'out.jsonl');
    writeFileSync(
      output,
      '{"index":0,"error":{"code":"E_EARLIER","message":"m"}}\n{"index":1,"value":2}\n',
    );
    const result = await runCli(['run', CLI_TASK, '-o', output, '--resume', '-q'], {
      stdin: jsonl([0, 1, 2]),
    });
    assert.equal(result.code, 1, result.stderr);
    assert.deepEqual(
      readRecords(output).map((r) => r.index),
      [0, 1, 2],
    );
    assert.deepEqual(readRecords(output)[2], { index: 2, value: 4 });
  });

  it('--input naming a pipe reads every line once (no second pass to count them)', async () => {
    // As with `--input <(zcat in.jsonl.gz)`: a progress count reading the pipe too stole lines.
    const fifo = join(tempDir(), 'in.fifo');
    execFileSync('mkfifo', [fifo]);
    const { done } = startCli(['run', CLI_TASK, '--input', fifo, '-q']);
    const count = 20_000;
    createWriteStream(fifo).end(jsonl(Array.from({ length: count }, (_, i) => i)));
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assertEachIndexOnce(parseRecords(result.stdout), count);
  });

  it('an output that cannot be written stops the run with exit code 2 and one line', async () => {
    const result = await runCli(['run', CLI_TASK, '-o', '/dev/full', '-q'], {
      stdin: jsonl(Array.from({ length: 5000 }, (_, i) => i)),
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^polyloop run: Cannot write the output to \/dev\/full: ENOSPC/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  });

  it('a stdout closed early (| head -1) ends the run quietly: exit 0, nothing on stderr', async () => {
    const dir = tempDir();
    const numbers = Array.from({ length: 200_000 }, (_, i) => i);
    const withHang = join(dir, 'hang.jsonl');
    // Input 0 ends only when aborted: these runs can end only by aborting what is in flight.
    writeFileSync(withHang, jsonl([{ waitForAbort: true }, ...numbers]));
    const plain = join(dir, 'plain.jsonl');
    writeFileSync(plain, jsonl(numbers));
    const cases: Array<[string, string[]]> = [
      [withHang, ['--workers', '2']],
      [withHang, ['--workers', '0']],
      // In input order, input 0 would hold every record back: no hang in this one.
      [plain, ['--ordered', '--workers', '2']],
      [plain, ['--ordered', '--workers', '0']],
    ];
    for (const [input, extra] of cases) {
      const args = [process.execPath, CLI, 'run', CLI_TASK, '-i', input, ...extra];
      // pipefail: bash's status is the command's own (head's is 0).
      const result = await runShell('set -o pipefail; "$@" | head -1', args);
      const what = extra.join(' ');
      assert.equal(result.code, 0, `${what}: ${result.stderr}`);
      assert.equal(result.stderr, '', what);
      assert.equal(parseRecords(result.stdout).length, 1, what);
    }
    // A stdout that cannot be written for another reason is still an output error.
    const full = await runShell('"$@" > /dev/full', [
      process.execPath,
      CLI,
      'run',
      CLI_TASK,
      '-i',
      plain,
    ]);
    assert.equal(full.code, 2, full.stderr);
    assert.match(full.stderr, /Cannot write the output to stdout: ENOSPC/);
  });

  it('prints help and version', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: polyloop <command>/);
    assert.match(help.stdout, /run +Run a task module/);
    const runHelp = await runCli(['run', '--help']);
    assert.equal(runHelp.code, 0);
    assert.match(runHelp.stdout, /Usage: polyloop run <task module> \[options\]/);
    assert.match(runHelp.stdout, /--resume/);
    const version = await runCli(['--version']);
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    assert.equal(version.stdout.trim(), manifest.version);
  });

  it('SIGINT stops reading, finishes what is in flight, exits 130; --resume then completes every input once', async () => {
    const dir = tempDir();
    const count = 200_000;
    const inputPath = join(dir, 'in.jsonl');
    writeFileSync(inputPath, jsonl(Array.from({ length: count }, (_, i) => i)));
    const output = join(dir, 'out.jsonl');
    const args = [
      'run',
      CLI_TASK,
      '-i',
      inputPath,
      '-o',
      output,
      '--workers',
      '2',
      '--concurrency',
      '64',
    ];
    const first = startCli(args);
    await until(() => lineCount(output) >= 1000, '1,000 records');
    first.child.kill('SIGINT');
    const stopped = await first.done;
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(stopped.stderr, /stopping/);
    assert.match(stopped.stderr, /interrupted: run the same command with --resume/);
    const partial = readRecords(output);
    assert.ok(partial.length < count, `stopped early (${partial.length} records)`);
    assert.equal(new Set(partial.map((r) => r.index)).size, partial.length, 'no index twice');
    for (const record of partial) assert.equal(record.value, record.index * 2);

    const resumed = await runCli([...args, '--resume']);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(
      resumed.stderr,
      new RegExp(`${(count - partial.length).toLocaleString('en-US')} inputs`),
    );
    assertEachIndexOnce(readRecords(output), count);
  });

  it('a second SIGINT aborts the tasks in flight; they get no record', async () => {
    const dir = tempDir();
    const output = join(dir, 'out.jsonl');
    const inputs = [1, 2, 3, { waitForAbort: true }, { waitForAbort: true }];
    const run = startCli(['run', CLI_TASK, '-o', output, '--workers', '1'], {
      stdin: jsonl(inputs),
    });
    await until(() => lineCount(output) >= 3, 'the three quick records');
    run.child.kill('SIGINT');
    await until(() => /stopping/.test(run.stderr()), 'the first SIGINT to be taken');
    run.child.kill('SIGINT');
    const result = await run.done;
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /aborting the tasks in flight/);
    assert.deepEqual(
      readRecords(output)
        .map((r) => r.index)
        .sort(),
      [0, 1, 2],
    );
  });

  it('the first SIGINT starts none of the inputs read ahead; Ctrl-C to the whole group spares process workers', async () => {
    for (const backend of ['thread', 'process']) {
      const gate = tempDir();
      const output = join(gate, 'out.jsonl');
      const inputs = Array.from({ length: 50 }, (_, id) => ({ gate, id }));
      const args = ['run', CLI_TASK, '-o', output, '-w', '2', '-c', '1', '-r', '0'];
      // With processes, signal the whole process group, as Ctrl-C in a terminal does.
      const run = startCli([...args, '--backend', backend], {
        stdin: jsonl(inputs),
        group: backend === 'process',
      });
      const started = (id: number) => existsSync(join(gate, `started-${id}`));
      await until(() => started(0) && started(1), `${backend}: two tasks in flight`);
      if (backend === 'process') process.kill(-run.child.pid!, 'SIGINT');
      else run.child.kill('SIGINT');
      await until(() => /stopping/.test(run.stderr()), `${backend}: the SIGINT to be taken`);
      writeFileSync(join(gate, 'open'), '');
      const result = await run.done;
      assert.equal(result.code, 130, `${backend}: ${result.stderr}`);
      // The pool had read up to 256 inputs ahead of its two slots: none of them may start.
      assert.deepEqual(
        readRecords(output).sort((a, b) => a.index - b.index),
        [
          { index: 0, value: 0 },
          { index: 1, value: 1 },
        ],
        backend,
      );
      assert.equal(started(2), false, `${backend}: a third input started`);
    }
  });

  it('a process worker whose pool was killed -9 ends, even inside a task that never yields', async () => {
    const dir = tempDir();
    const run = startCli(['run', CLI_TASK, '--backend', 'process', '-w', '1'], {
      stdin: jsonl([{ spinForever: dir }]),
    });
    const spinning = join(dir, 'spinning');
    await until(() => existsSync(spinning), 'the task to be spinning');
    const pid = Number(readFileSync(spinning, 'utf8'));
    // process.kill(0) would signal this test's own process group: never let a bad read get there.
    assert.ok(Number.isInteger(pid) && pid > 0, `a worker pid, got "${pid}"`);
    const exited = once(run.child, 'exit');
    run.child.kill('SIGKILL');
    // Not `done`: an orphan would hold the output pipes it shares with the command open.
    await exited;
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      await until(() => !alive(), 'the orphaned worker process to end', 10_000);
    } finally {
      if (alive()) process.kill(pid, 'SIGKILL');
    }
  });

  it('after kill -9 mid-run, --resume repairs a torn last line and ends with exactly one record per input', async () => {
    const dir = tempDir();
    const count = 5000;
    const holdFrom = 3000;
    const inputPath = join(dir, 'in.jsonl');
    writeFileSync(inputPath, jsonl(Array.from({ length: count }, (_, i) => i)));
    const output = join(dir, 'out.jsonl');
    const args = ['run', CLI_TASK, '-i', inputPath, '-o', output, '--workers', '2', '-q'];
    // Inputs from 3000 on never end in this first run: it can only be killed.
    const first = startCli(args, { env: { HOLD_FROM: String(holdFrom) } });
    await until(() => lineCount(output) >= holdFrom, 'the first 3,000 records');
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');
    // A record the kill cut in half.
    appendFileSync(output, '{"index":4999,"val');
    const resumed = await runCli([...args, '--ordered']);
    assert.equal(resumed.code, 2, 'refuses to overwrite without --resume');
    const finished = await runCli([...args, '--resume']);
    assert.equal(finished.code, 0, finished.stderr);
    const records = readRecords(output);
    assertEachIndexOnce(records, count);
    for (const record of records) assert.equal(record.value, record.index * 2);
  });

  it('--chart writes a well-formed SVG with one series per worker, the main thread and each core', async () => {
    const dir = tempDir();
    const chart = join(dir, 'load.svg');
    const result = await runCli(['run', CLI_TASK, '--workers', '3', '--chart', chart, '-q'], {
      stdin: jsonl(Array.from({ length: 2000 }, (_, i) => i)),
    });
    assert.equal(result.code, 0, result.stderr);
    const svg = readFileSync(chart, 'utf8');
    assertWellFormedXml(svg);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const series = [...svg.matchAll(/<g class="series" data-kind="(\w+)" data-id="(\d+)">/g)];
    const kinds = series.map(([, kind, id]) => `${kind}:${id}`);
    assert.deepEqual(
      kinds.filter((k) => k.startsWith('worker')),
      ['worker:0', 'worker:1', 'worker:2'],
    );
    assert.deepEqual(
      kinds.filter((k) => k.startsWith('main')),
      ['main:0'],
    );
    assert.ok(kinds.some((k) => k.startsWith('core')));
  });
});

/**
 * A strict enough XML check for our own SVG: every tag closes in order, attributes are quoted,
 * and text holds no raw `<` or unescaped `&`.
 */
function assertWellFormedXml(xml: string): void {
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let position = 0;
  for (let match = token.exec(xml); match !== null; match = token.exec(xml)) {
    position = token.lastIndex;
    const [, closing, name, , selfClosing, text] = match;
    if (text !== undefined) {
      assert.doesNotMatch(text, /&(?!amp;|lt;|gt;|quot;|apos;|#\d+;)/, 'unescaped & in text');
      continue;
    }
    if (closing) assert.equal(stack.pop(), name, `</${name}> closes the open element`);
    else if (!selfClosing) stack.push(name!);
  }
  assert.equal(
    position,
    xml.length,
    `unparsable XML at ${position}: ${xml.slice(position, position + 40)}`,
  );
  assert.deepEqual(stack, [], 'every element is closed');
}
