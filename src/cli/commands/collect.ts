/**
 * `polyloop collect`: the records of a queue's finished jobs as JSONL — the same records as
 * `polyloop run`, one per input — optionally following the queue until every input has one.
 */

import type { CollectProgress } from '../../bullmq/index.js';
import { integerOption, parseCommand } from '../args.js';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED } from '../exit-codes.js';
import { count, duration } from '../format.js';
import { JsonlWriter } from '../jsonl-output.js';
import { Progress } from '../progress.js';
import { QUEUE_OPTIONS, QUEUE_OPTIONS_HELP, targetOf } from '../queue/arguments.js';
import { loadQueueLibrary } from '../queue/library.js';
import { machineShares, RunStatus } from '../queue/run-status.js';
import { redisDownText, StatusLine } from '../queue/status-line.js';
import { UsageError } from '../usage-error.js';
import { assertWritable } from '../writable.js';

export const HELP = `Usage: polyloop collect --queue NAME [--redis URL] [--output FILE.jsonl] [--follow]

Write the record of every finished job of a queue (filled by "polyloop enqueue", run by "polyloop
worker"): {"index": N, "value": ...} or {"index": N, "error": {"code": ..., "message": ...}}, N
being the input's 0-based line number — the records of "polyloop run", in completion order. Each
input has exactly one record, even if its job ran more than once (a machine died under it).
The queue keeps its jobs: collecting again writes the same records.

Options:
${QUEUE_OPTIONS_HELP}
  -o, --output FILE      where the records go; "-" is stdout (default: -); replaced if it exists
  -f, --follow           wait until every enqueued input has a record, then exit
      --poll MS          how often --follow looks at the queue (default: 1000); every 100 ms
                         while at most 2,000 jobs have finished (chunks)
  -q, --quiet            no queue totals and no summary on stderr
  -h, --help             show this help

Ctrl-C (SIGINT) or SIGTERM ends it at once, keeping the records written so far (exit code 130),
even while Redis is unreachable; a second one exits at once, whatever is pending.

While Redis is unreachable it waits for it and reconnects (a Redis restarted with its data loses
nothing, and no record is written twice); after --redis-down-timeout it gives up, with exit code 3.
If Redis comes back without the queue's data it says how many inputs have no job, with exit
code 4: re-run polyloop enqueue with the same file (it adds only the missing jobs), then collect.

Exit codes: 0 every record written is a value; 1 some are errors; 2 a usage error, Redis did not
answer at start, or (--follow) some inputs have no job left in the queue; 3 Redis unreachable for
longer than --redis-down-timeout; 4 the queue lost its state (Redis restarted without its data);
130 interrupted.
`;

const OPTIONS = {
  ...QUEUE_OPTIONS,
  output: { type: 'string', short: 'o', default: '-' },
  follow: { type: 'boolean', short: 'f', default: false },
  poll: { type: 'string' },
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
    throw new UsageError(`Unexpected argument: ${positionals.join(' ')}`);
  }
  const target = targetOf(options);
  const pollInterval = integerOption('poll', options.poll, { min: 1 });

  const status = new StatusLine(
    Progress.modeFor(process.stderr, options.quiet),
    'polyloop collect',
  );
  const started = performance.now();
  const stop = new AbortController();
  const onSignal = () => {
    // A second signal: out now, whatever is pending.
    if (stop.signal.aborted) process.exit(EXIT_INTERRUPTED);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // After the handlers: a signal while BullMQ loads stops the collection before it starts.
  const { collectLines } = await loadQueueLibrary('collect');
  let values = 0;
  let errors = 0;
  let last: CollectProgress | undefined;
  const run = new RunStatus();
  // Opened once Redis has answered: a wrong --redis must not empty the last collection's file.
  if (options.output !== '-') await assertWritable(options.output, 'output');
  let writer: JsonlWriter | undefined;
  const open = async (): Promise<JsonlWriter> => {
    writer ??= await JsonlWriter.open(options.output, { append: false });
    return writer;
  };
  try {
    const records = collectLines(target, {
      follow: options.follow,
      pollInterval,
      signal: stop.signal,
      onProgress: (progress) => {
        last = progress;
        status.update(run.fields(progress, errors));
      },
    });
    for await (const batch of records) {
      let text = '';
      for (const { line, ok } of batch) {
        if (ok) values++;
        else errors++;
        text += line;
      }
      const output = await open();
      if (!output.write(text)) await output.drain();
    }
    // No record at all: still an (empty) output, as before.
    await open();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await writer?.close();
  }
  const missing = last?.inputs === undefined ? 0 : last.inputs - values - errors;
  const unfinished =
    last?.inputs === undefined
      ? ', the enqueue has not finished'
      : missing > 0
        ? `, ${count(missing)} inputs not finished yet`
        : '';
  status.finish(
    `${count(values + errors)} records (${count(errors)} errors) in ${duration(performance.now() - started)}` +
      (stop.signal.aborted ? ' — interrupted' : options.follow ? '' : unfinished) +
      (last ? ` — queue: ${totals(last).join(', ')}` : '') +
      (last && machineShares(last.machines, Date.now())
        ? `; ${machineShares(last.machines, Date.now())}`
        : ''),
  );
  if (stop.signal.aborted) return EXIT_INTERRUPTED;
  return errors > 0 ? EXIT_SOME_FAILED : EXIT_OK;
}

/** The queue's totals, for the summary line. */
function totals(progress: CollectProgress): string[] {
  const { waiting, delayed, active, completed, failed, collected, inputs } = progress;
  // Not the queue's fault: say so first, then the totals last seen.
  const down =
    progress.redisDownSince === undefined ? [] : [redisDownText(progress.redisDownSince)];
  return [
    ...down,
    `jobs waiting ${count(waiting + delayed)}`,
    `active ${count(active)}`,
    `done ${count(completed)}`,
    `failed ${count(failed)}`,
    inputs === undefined
      ? `collected ${count(collected)} (enqueue not finished)`
      : `collected ${count(collected)}/${count(inputs)}`,
  ];
}
