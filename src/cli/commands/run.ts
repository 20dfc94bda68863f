/**
 * `polyloop run <task module>`: every line of a JSONL input becomes a task on the pool, and every
 * input gets exactly one JSONL record in the output — its value or its error — written in
 * batches. Progress on stderr; SIGINT stops cleanly; `--resume` finishes an interrupted run.
 */
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { AbortError } from '../../errors.js';
import { type PoolOptions, resolveOptions } from '../../options.js';
import { Pool } from '../../pool.js';
import { recordLine } from '../../records/format.js';
import { IndexSet } from '../../records/index-set.js';
import { ResultStream } from '../../result-stream.js';
import type { PoolStats, StreamResult } from '../../types.js';
import { parseCommand } from '../args.js';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED } from '../exit-codes.js';
import { count } from '../format.js';
import { InlineRunner } from '../inline-runner.js';
import { countInputs, InputReader } from '../jsonl-input.js';
import { JsonlWriter, OutputError } from '../jsonl-output.js';
import { renderChartFile } from '../load-chart.js';
import { LoadRecorder } from '../load-recorder.js';
import { POOL_OPTIONS, poolOptionsFrom, taskModuleArgument } from '../pool-arguments.js';
import { Progress } from '../progress.js';
import { recoverOutput } from '../resume.js';
import { UsageError } from '../usage-error.js';
import { assertWritable } from '../writable.js';

export const HELP = `Usage: polyloop run <task module> [options]

Run the task module's default export once per input, on every core, and write one JSONL record
per input: {"index": N, "value": ...} or {"index": N, "error": {"code": ..., "message": ...}},
where N is the input's 0-based line number. Task modules may be .js, .mjs, .cjs, .ts, .mts
or .cts, ES modules or CommonJS.

Options:
  -i, --input FILE       JSONL inputs, one JSON value per line; "-" is stdin (default: -)
      --lines            read each line as a plain string input instead of JSON
  -o, --output FILE      where the records go; "-" is stdout (default: -)
      --ordered          write records in input order (default: as they complete)
      --resume           finish an interrupted run: run only the inputs that have no record in
                         --output yet, and append their records; refused if those records are of
                         another input (FILE.polyloop-input keeps which input they are of)
      --force            with --resume: resume even records of another input
      --overwrite        replace an --output file that already has records
  -w, --workers N        workers, one event loop each; 0 runs every task on the main thread
                         (default: the number of CPU cores)
  -c, --concurrency N    most tasks in flight per worker, or "infinity" (default: 10000);
                         within it the pool finds its number, backing off on load
      --fixed-concurrency  no backing off: the window only grows, up to --concurrency
  -t, --timeout MS       a task running longer fails with ERR_POLYLOOP_TIMEOUT (default: none)
  -r, --retries N        re-runs of a task whose worker crashed (default: 2)
      --retry-errors N   re-runs of a task that threw or timed out, before its error is its
                         record; the record then says "attempts" (default: 0)
      --retry-delay MS   wait before the first such re-run, doubled for each next one (up to
                         30 s), plus up to 50 % at random (default: 1000)
      --backend KIND     thread or process (default: thread)
      --max-memory MB    heap limit of each worker
      --max-block MS     the longest a task may block its worker's event loop, timeout or
                         not, before it fails and the worker is replaced (default: 30000)
      --chart FILE.svg   draw how busy each worker, the main thread and each core was, the
                         tasks in flight against their limit, and the tasks' latency
                         (FILE.json: write the samples instead, as JSON)
  -q, --quiet            no progress display and no summary on stderr
  -h, --help             show this help

Blank lines are not inputs (they keep their line number). A line that is not JSON, or not UTF-8,
gets an error record (ERR_POLYLOOP_INVALID_INPUT) and the run goes on.

Progress goes to stderr: on a terminal a live display (fields that do not fit a narrow one are
left out), otherwise a line every 5 s; a summary line at the end.

Ctrl-C (SIGINT) or SIGTERM stops reading inputs and lets the tasks in flight finish; a second
Ctrl-C aborts them. Inputs without a record can then be run with --resume. A stdout closed by
its reader (| head) stops the run quietly: no more inputs, the tasks in flight aborted, exit 0.

Exit codes: 0 every input succeeded (or stdout's reader closed it); 1 some inputs have an error
record; 2 a usage error, the task module failed to load, or the output cannot be written;
130 interrupted.
`;

const OPTIONS = {
  input: { type: 'string', short: 'i', default: '-' },
  lines: { type: 'boolean', default: false },
  output: { type: 'string', short: 'o', default: '-' },
  ordered: { type: 'boolean', default: false },
  resume: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  overwrite: { type: 'boolean', default: false },
  ...POOL_OPTIONS,
  chart: { type: 'string' },
  quiet: { type: 'boolean', short: 'q', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** What the run loop needs from a Pool, or from the main-thread runner of `--workers 0`. */
interface Runner {
  stream(
    inputs: AsyncIterable<unknown>,
    options: { ordered: boolean; signal: AbortSignal },
  ): AsyncIterableIterator<StreamResult<unknown, unknown>>;
  stats(): PoolStats;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export async function main(argv: string[]): Promise<number> {
  const { values: options, positionals } = parseCommand(argv, OPTIONS);
  if (options.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  const taskPath = taskModuleArgument(positionals, 'polyloop run <task module> --input FILE');
  const poolOptions = poolOptionsFrom(options, { minWorkers: 0 });
  // 0 workers: every task on the main thread (see inline-runner.ts).
  const workers = poolOptions.workers;
  if (
    workers === 0 &&
    (poolOptions.backend !== undefined ||
      poolOptions.maxMemoryMb !== undefined ||
      poolOptions.maxBlockMs !== undefined)
  ) {
    throw new UsageError(
      '--backend, --max-memory and --max-block need workers: they do not apply to --workers 0',
    );
  }

  if (options.chart !== undefined) await assertWritable(options.chart, 'chart');
  const output = options.output;
  let done = new IndexSet();
  let failedBefore = 0;
  if (options.force && !options.resume) {
    throw new UsageError('--force goes with --resume: it resumes records of another input');
  }
  if (options.resume) {
    if (output === '-')
      throw new UsageError('--resume needs --output FILE: it reads what that file has');
    const recovered = await recoverOutput(output);
    done = recovered.done;
    failedBefore = recovered.failed;
    if (!options.quiet && recovered.repairedBytes > 0) {
      process.stderr.write(
        `polyloop: cut a torn last line (${recovered.repairedBytes} bytes) off ${output}\n`,
      );
    }
  } else if (
    output !== '-' &&
    !options.overwrite &&
    existsSync(output) &&
    statSync(output).size > 0
  ) {
    throw new UsageError(
      `${output} already has records: pass --resume to finish that run, or --overwrite to start over`,
    );
  }
  // Which input the records are of, kept beside the output file and checked by --resume.
  const check = {
    output,
    resuming: done.size > 0,
    force: options.force,
    warn: (message: string) => options.quiet || process.stderr.write(`polyloop: ${message}\n`),
  };
  const format = options.lines ? 'lines' : 'json';
  const reader = await InputReader.open(options.input, format, output === '-' ? undefined : check);

  const pool = workers === 0 ? undefined : await startPool(taskPath, poolOptions);
  const runner: Runner =
    pool ??
    (await InlineRunner.start(
      taskPath,
      // The pool's own defaults, so --workers 0 runs with what the workers would have.
      resolveOptions({
        concurrency: poolOptions.concurrency,
        timeout: poolOptions.timeout,
        retryErrors: poolOptions.retryErrors,
        retryDelay: poolOptions.retryDelay,
      }),
    ));

  const run = new RunLoop(runner, reader, done, options.ordered);
  if (options.input !== '-') {
    // Known later, in the background: counting a big file must not delay the start.
    countInputs(options.input).then(
      (total) => {
        if (total !== undefined) run.total = total;
      },
      () => {},
    );
  }
  const progressMode = Progress.modeFor(process.stderr, options.quiet);
  const progress = new Progress(progressMode, () => ({
    done: run.ok + run.failed,
    failed: run.failed,
    total: run.total,
    // With --resume the display counts the whole file: the records already in it are done.
    doneBefore: done.size,
    failedBefore,
    state: !run.interrupted ? 'running' : run.aborted ? 'aborting' : 'stopping',
    pool: runner.stats(),
  }));
  // Records to the terminal the live display is on: it steps aside for them (see live-frame.ts).
  const sharesTerminal = output === '-' && progressMode === 'live' && process.stdout.isTTY;
  const writer = await JsonlWriter.open(output, {
    append: options.resume,
    screen: sharesTerminal ? progress : undefined,
  });
  void writer.closed.then(() => {
    // The reader of stdout has gone (`| head`): what it did not take would be lost work.
    progress.stop();
    run.outputClosed();
  });
  // With --workers 0 the main thread is the only event loop: it has its own row already. The
  // task counters are the runner's either way: the inline runner keeps them too.
  const recorder =
    options.chart === undefined
      ? undefined
      : new LoadRecorder(
          () => (pool ? pool.stats().workers : []),
          () => runner.stats(),
        );
  const stopSignals = handleStopSignals(run, progress);
  progress.start();
  recorder?.start();
  let failure: unknown;
  try {
    await run.writeAll(writer);
  } catch (error) {
    failure = error;
  } finally {
    stopSignals.dispose();
  }
  try {
    await writer.close();
  } catch (error) {
    failure ??= error;
  }
  // The last sample is taken before the pool shuts down: a worker that has exited is no longer in
  // its stats, and a run shorter than one sampling interval would lose that worker's series.
  const recording = recorder?.stop();
  // Nobody will take the results of tasks still running after a failure: stop them now.
  if (run.aborted || failure !== undefined) await runner.destroy();
  else await runner.close();
  if (recording && options.chart !== undefined) {
    const mode = pool ? `${pool.workers} workers` : 'one event loop (--workers 0)';
    const title = `polyloop run ${basename(taskPath)}: ${mode}, ${count(run.ok + run.failed)} inputs`;
    try {
      await writeFile(options.chart, renderChartFile(options.chart, recording, title));
    } catch (error) {
      // The records are written; only the picture is lost. Said on one line, exit code 2, on a
      // line of its own: the live display goes first.
      progress.stop();
      throw new UsageError(
        `Cannot write the chart to ${options.chart}: ${(error as Error).message}`,
      );
    }
  }
  if (run.closedOutput) {
    // Like `yes | head`: the reader has what it wanted, which is no failure: exit 0, no word.
    if (failure !== undefined) throw failure;
    return run.interrupted ? EXIT_INTERRUPTED : EXIT_OK;
  }
  const note =
    failure instanceof OutputError
      ? 'stopped: the output cannot be written'
      : run.interrupted
        ? 'interrupted: run the same command with --resume to process the inputs without a record'
        : undefined;
  progress.finish(note);
  if (failure !== undefined && (failure instanceof OutputError || !run.interrupted)) throw failure;
  if (run.interrupted) return EXIT_INTERRUPTED;
  // With --resume, the error records of the earlier runs count too: the file is the result.
  return run.failed + failedBefore > 0 ? EXIT_SOME_FAILED : EXIT_OK;
}

/** A pool whose workers are all up: a task module that cannot load fails here, before any output. */
async function startPool(taskPath: string, options: PoolOptions): Promise<Pool> {
  const pool = new Pool(taskPath, options);
  try {
    await pool.ready();
  } catch (error) {
    await pool.destroy();
    throw error;
  }
  return pool;
}

/** Reads the inputs, feeds the runner, and writes one record per input. */
class RunLoop {
  ok = 0;
  failed = 0;
  /** Inputs this run has to do, once the background count of the input file is done. */
  total: number | undefined;
  interrupted = false;
  aborted = false;
  /** Stdout's reader has gone: the run stopped itself, which is not an interruption. */
  closedOutput = false;
  private readonly abort = new AbortController();
  /** The line of each input handed to the runner, by the runner's index, until it settles. */
  private readonly lineOf = new Map<number, number>();
  /** Records of malformed lines, held back in --ordered mode until their turn. */
  private readonly heldBack: Array<{ index: number; line: string }> = [];
  private writer: JsonlWriter | undefined;
  private results: AsyncIterableIterator<unknown> | undefined;

  constructor(
    private readonly runner: Runner,
    private readonly reader: InputReader,
    private readonly done: IndexSet,
    private readonly ordered: boolean,
  ) {}

  /** First stop: read no more inputs; what is in flight finishes and is written. */
  stop(): void {
    this.interrupted = true;
    this.stopReading();
  }

  /** Second stop: abort the tasks in flight too (they get no record, so --resume reruns them). */
  abortInFlight(): void {
    this.aborted = true;
    this.abort.abort(new AbortError('Interrupted'));
  }

  /** Nobody reads the output any more: read no more inputs and abort what runs. */
  outputClosed(): void {
    this.closedOutput = true;
    this.stopReading();
    this.abortInFlight();
  }

  private stopReading(): void {
    this.reader.stop();
    // The pool has read ahead of its free slots: those inputs must not start either.
    if (this.results instanceof ResultStream) this.results.endInputs();
  }

  async writeAll(writer: JsonlWriter): Promise<void> {
    this.writer = writer;
    const results = this.runner.stream(this.inputs(), {
      ordered: this.ordered,
      signal: this.abort.signal,
    });
    this.results = results;
    try {
      for await (const result of results) {
        const line = this.lineOf.get(result.index)!;
        this.lineOf.delete(result.index);
        if (this.ordered) this.releaseHeldBack(line);
        const attempts = result.attempts ?? 1;
        const written = result.ok
          ? this.write(line, true, result.value, attempts)
          : this.write(line, false, result.error, attempts);
        if (!written) await writer.drain();
      }
      this.releaseHeldBack(Number.POSITIVE_INFINITY);
    } catch (error) {
      if (this.aborted && error instanceof AbortError) return;
      throw error;
    }
  }

  private async *inputs(): AsyncGenerator<unknown> {
    let next = 0;
    for await (const item of this.reader.inputs()) {
      if (this.done.has(item.index)) continue;
      if (!item.ok) {
        const { line } = recordLine(item.index, false, item.error);
        if (this.ordered) this.heldBack.push({ index: item.index, line });
        else if (!this.writeLine(line, false)) await this.writer!.drain();
        continue;
      }
      this.lineOf.set(next++, item.index);
      yield item.value;
    }
  }

  private releaseHeldBack(before: number): void {
    while (this.heldBack.length > 0 && this.heldBack[0]!.index < before) {
      this.writeLine(this.heldBack.shift()!.line, false);
    }
  }

  private write(index: number, ok: boolean, result: unknown, attempts: number): boolean {
    // A value JSON cannot hold becomes an error record: counted as one.
    const record = recordLine(index, ok, result, attempts);
    return this.writeLine(record.line, record.ok);
  }

  private writeLine(line: string, ok: boolean): boolean {
    if (ok) this.ok++;
    else this.failed++;
    return this.writer!.write(line);
  }
}

/** SIGINT/SIGTERM once: stop reading; twice: abort what runs. */
function handleStopSignals(run: RunLoop, progress: Progress): { dispose(): void } {
  const onSignal = (): void => {
    if (!run.interrupted) {
      progress.notice(
        'stopping — finishing the tasks in flight (press Ctrl-C again to abort them)',
      );
      run.stop();
    } else if (!run.aborted) {
      progress.notice('aborting the tasks in flight');
      run.abortInFlight();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
