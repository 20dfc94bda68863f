/**
 * `polyloop enqueue`: one BullMQ job per line of a JSONL input, for `polyloop worker` machines
 * to run. Job ids come from line numbers, so enqueueing the same file again adds nothing.
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

Add one job per input line to a BullMQ queue on Redis, for "polyloop worker" to run on one or
more machines and "polyloop collect" to gather. Each job's id is its input's 0-based line number,
so enqueueing the same file again adds nothing twice (an interrupted enqueue can just be rerun).

Options:
${QUEUE_OPTIONS_HELP}
  -i, --input FILE       JSONL inputs, one JSON value per line; "-" is stdin (default: -)
      --lines            read each line as a plain string input instead of JSON
      --attempts N       runs an input gets when its task fails, the first included (default: 3)
      --backoff MS       wait before the first retry, doubled for each next one (default: 1000)
  -q, --quiet            no progress and no summary on stderr
  -h, --help             show this help

Blank lines are not inputs (they keep their line number). A line that is not JSON gets a job
that fails at once, without retries: its record is an ERR_POLYLOOP_INVALID_INPUT error.

While Redis is unreachable it waits for it and reconnects; after --redis-down-timeout it gives
up, with exit code 3. A signal then stops it at once (exit code 130). Jobs added before Redis
restarted without its data are gone: it then exits with code 4 without noting the list complete.
Either way, run the same command again: it adds only what is missing.

Exit codes: 0 every input is in the queue; 2 a usage error, or Redis did not answer at start; 3
Redis unreachable for longer than --redis-down-timeout; 4 jobs vanished during the enqueue (Redis
restarted without its data); 130 interrupted (run the same command again to add the rest).
`;

const OPTIONS = {
  ...QUEUE_OPTIONS,
  input: { type: 'string', short: 'i', default: '-' },
  lines: { type: 'boolean', default: false },
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
    const summary = await enqueueItems(target, items(reader), {
      attempts,
      backoff,
      signal: stop.signal,
      onProgress: (read) => {
        const seconds = (performance.now() - started) / 1000;
        status.update([`${count(read)} inputs read`, `${rate(read / Math.max(seconds, 1e-3))}/s`]);
      },
    });
    const already = summary.inputs - summary.added;
    status.finish(
      `${count(summary.inputs)} inputs, ${count(summary.added)} added` +
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

const INTERRUPTED = 'interrupted: run the same command again to add the rest';

/** The reader's lines as jobs: a malformed line carries its error instead of an input. */
async function* items(reader: InputReader) {
  for await (const item of reader.inputs()) {
    yield item.ok
      ? { index: item.index, input: item.value }
      : { index: item.index, inputError: errorInfo(item.error) };
  }
}
