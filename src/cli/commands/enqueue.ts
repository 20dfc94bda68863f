/**
 * `polyloop enqueue`: the lines of a JSONL input as BullMQ jobs, a chunk of consecutive lines per
 * job, for `polyloop worker` machines to run. Job ids come from line numbers, so enqueueing the
 * same file again adds nothing.
 */

import { errorInfo } from '../../records/format.js';
import { integerOption, parseCommand } from '../args.js';
import { EXIT_INTERRUPTED, EXIT_OK } from '../exit-codes.js';
import { count, duration, rate } from '../format.js';
import { InputReader } from '../jsonl-input.js';
import { Progress } from '../progress.js';
import { QUEUE_OPTIONS, QUEUE_OPTIONS_HELP, targetOf } from '../queue/arguments.js';
import { loadQueueLibrary } from '../queue/library.js';
import { StatusLine } from '../queue/status-line.js';
import { UsageError } from '../usage-error.js';

export const HELP = `Usage: polyloop enqueue --queue NAME [--redis URL] [--input FILE.jsonl] [options]

Add the input lines to a BullMQ queue on Redis, --chunk consecutive lines per job, for
"polyloop worker" to run on one or more machines and "polyloop collect" to gather (one record per
input). Job ids derive from the 0-based line numbers, so enqueueing the same file again adds
nothing twice (an interrupted enqueue can just be rerun, with the same --chunk).

Options:
${QUEUE_OPTIONS_HELP}
  -i, --input FILE       JSONL inputs, one JSON value per line; "-" is stdin (default: -)
      --lines            read each line as a plain string input instead of JSON
      --chunk N          inputs per job (default: 256): a job costs Redis and BullMQ ~0.3 ms of
                         CPU; the worker runs and retries each input on its own. 1 = one job
                         per input. A queue keeps the --chunk of its first enqueue
      --attempts N       runs an input gets when its task fails, the first included (default: 3)
      --backoff MS       wait before the first retry, doubled for each next one (default: 1000)
  -q, --quiet            no progress and no summary on stderr
  -h, --help             show this help

Blank lines are not inputs (they keep their line number). A line that is not JSON is not run:
its record is an ERR_POLYLOOP_INVALID_INPUT error, without retries.

Exit codes: 0 every input is in the queue; 2 a usage error, Redis did not answer at start, or
the queue was enqueued with another --chunk; 3 Redis unreachable for longer than
--redis-down-timeout; 4 jobs vanished during the enqueue (Redis restarted without its data); 130
interrupted (run the same command again to add the rest).
`;

const INTERRUPTED = 'interrupted: run the same command again to add the rest';

const OPTIONS = {
  ...QUEUE_OPTIONS,
  input: { type: 'string', short: 'i', default: '-' },
  lines: { type: 'boolean', default: false },
  chunk: { type: 'string' },
  attempts: { type: 'string' },
  backoff: { type: 'string' },
  quiet: { type: 'boolean', short: 'q', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function main(argv: string[]): Promise<number> {
  const { values: options, positionals } = parseCommand(argv, OPTIONS);
  if (options.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) {
    throw new UsageError(`Unexpected argument: ${positionals.join(' ')} (inputs go in --input)`);
  }
  const target = targetOf(options);
  const chunk = integerOption('chunk', options.chunk, { min: 1 });
  const attempts = integerOption('attempts', options.attempts, { min: 1 });
  const backoff = integerOption('backoff', options.backoff, { min: 0 });
  const { enqueueItems } = await loadQueueLibrary('enqueue');
  const reader = await InputReader.open(options.input, options.lines ? 'lines' : 'json');

  const status = new StatusLine(
    Progress.modeFor(process.stderr, options.quiet),
    'polyloop enqueue',
  );
  const started = performance.now();
  const stop = new AbortController();
  const onSignal = () => {
    // A second signal: out now, whatever is pending.
    if (stop.signal.aborted) process.exit(EXIT_INTERRUPTED);
    stop.abort();
    reader.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await enqueueItems(target, items(reader, options.lines ? 'lines' : 'json'), {
      chunk,
      attempts,
      backoff,
      signal: stop.signal,
      onProgress: (read) => {
        const seconds = (performance.now() - started) / 1000;
        status.update([`${count(read)} inputs read`, `${rate(read / Math.max(seconds, 1e-3))}/s`]);
      },
    });
    const already = summary.jobs - summary.added;
    status.finish(
      `${count(summary.inputs)} inputs in ${count(summary.jobs)} jobs, ${count(summary.added)} added` +
        (already > 0 ? ` (${count(already)} were already in the queue)` : '') +
        ` to ${target.queue} in ${duration(performance.now() - started)}` +
        (summary.complete ? '' : ` — ${INTERRUPTED}`),
    );
    return summary.complete ? EXIT_OK : EXIT_INTERRUPTED;
  } catch (error) {
    // Stopped by the signal while Redis was away: interrupted, as with Redis up.
    const { code, reason } = error as { code?: unknown; reason?: unknown };
    if (code !== 'ERR_POLYLOOP_REDIS_DOWN' || reason !== 'stopped') throw error;
    status.finish(`${(error as Error).message} — ${INTERRUPTED}`);
    return EXIT_INTERRUPTED;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * The reader's lines as jobs' items: JSON lines as text (the worker parses them: a line that is not
 * JSON gets its record there), plain-text lines as string inputs; a line that is not UTF-8
 * carries its error instead.
 */
async function* items(reader: InputReader, format: 'json' | 'lines') {
  for await (const line of reader.texts()) {
    if ('error' in line) yield { index: line.index, inputError: errorInfo(line.error) };
    else if (format === 'json') yield { index: line.index, json: line.text };
    else yield { index: line.index, input: line.text };
  }
}
