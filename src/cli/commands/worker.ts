/**
 * `polyloop worker <task module>`: this machine's consumer of a BullMQ queue. One BullMQ worker
 * takes jobs, as many as the pool has room for, and runs them on every core; results go back to
 * Redis for `polyloop collect`. Runs until stopped (or, with --until-done, until the queue is done).
 */

import { integerOption, parseCommand } from '../args.js';
import { EXIT_INTERRUPTED, EXIT_OK } from '../exit-codes.js';
import { POOL_OPTIONS, poolOptionsFrom, taskModuleArgument } from '../pool-arguments.js';
import { Progress } from '../progress.js';
import { QUEUE_OPTIONS, QUEUE_OPTIONS_HELP, targetOf } from '../queue/arguments.js';
import { loadQueueLibrary } from '../queue/library.js';

export const HELP = `Usage: polyloop worker <task module> --queue NAME [--redis URL] [options]

Run the jobs of a BullMQ queue (added by "polyloop enqueue") on every core of this machine: one
BullMQ consumer feeds a polyloop pool, taking a job only when the pool has room for it. Start one
per machine, on as many machines as you like; each job's record goes back to Redis for
"polyloop collect". A task that throws or times out is retried per the job's attempts (enqueue
--attempts), or per --retry-errors if given; the jobs of a machine that dies go to the others
once their locks expire (--lock-duration).

Options:
${QUEUE_OPTIONS_HELP}
  -w, --workers N        workers, one event loop each (default: the number of CPU cores)
  -c, --concurrency N    most tasks in flight per worker, or "infinity" (default: 10000);
                         within it the pool finds its number, backing off on load
      --fixed-concurrency  no backing off: the window only grows, up to --concurrency
      --prefetch N       most jobs this machine holds at once
                         (default: workers × the smaller of concurrency and 256)
  -t, --timeout MS       a task running longer fails with ERR_POLYLOOP_TIMEOUT (default: none)
  -r, --retries N        re-runs of a task whose worker thread crashed (default: 2)
      --retry-errors N   retries of a job whose task threw or timed out, through BullMQ (a
                         delayed job, for any machine), in place of the job's own attempts
      --retry-delay MS   wait before the first retry, doubled for each next one (up to 30 s),
                         plus up to 50 % at random (default: 1000)
      --backend KIND     thread or process (default: thread)
      --max-memory MB    heap limit of each worker
      --max-block MS     the longest a task may block its worker's event loop, timeout or
                         not, before it fails and the worker is replaced (default: 30000)
      --lock-duration MS a job's lock; a dead machine's jobs return after it (default: 30000)
      --stalled-interval MS
                         how often to look for dead machines' jobs (default: 30000)
      --max-stalled N    times a job may return from dead machines before it fails with
                         ERR_POLYLOOP_WORKER_CRASHED (default: 2)
      --name NAME        this machine's name, stored on each job it runs (default: host:pid)
      --until-done       exit once every enqueued input has a finished job
  -q, --quiet            no progress display and no summary on stderr
  -h, --help             show this help

Ctrl-C (SIGINT) or SIGTERM takes no more jobs and finishes the ones in hand; a second one stops
at once: the jobs in hand go back to the queue, without using an attempt, for another machine.

Exit codes: 0 stopped (by --until-done, or a signal after finishing its jobs); 2 a usage error,
the task module failed to load, or Redis did not answer; 130 stopped by a second signal.
`;

const OPTIONS = {
  ...QUEUE_OPTIONS,
  ...POOL_OPTIONS,
  prefetch: { type: 'string' },
  'lock-duration': { type: 'string' },
  'stalled-interval': { type: 'string' },
  'max-stalled': { type: 'string' },
  name: { type: 'string' },
  'until-done': { type: 'boolean', default: false },
  quiet: { type: 'boolean', short: 'q', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** How often --until-done looks at the queue's totals. */
const UNTIL_DONE_POLL_MS = 500;

export async function main(argv: string[]): Promise<number> {
  const { values: options, positionals } = parseCommand(argv, OPTIONS);
  if (options.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  const taskPath = taskModuleArgument(positionals, 'polyloop worker <task module> --queue NAME');
  const target = targetOf(options);
  const poolOptions = poolOptionsFrom(options, { minWorkers: 1 });
  const { startQueueWorker, QueueMonitor } = await loadQueueLibrary('worker');

  let lastError: string | undefined;
  const worker = await startQueueWorker(taskPath, target, {
    ...poolOptions,
    prefetch: integerOption('prefetch', options.prefetch, { min: 1 }),
    lockDuration: integerOption('lock-duration', options['lock-duration'], { min: 1 }),
    stalledInterval: integerOption('stalled-interval', options['stalled-interval'], { min: 1 }),
    maxStalledCount: integerOption('max-stalled', options['max-stalled'], { min: 0 }),
    name: options.name,
    // BullMQ reports Redis hiccups here and carries on; the summary names the last one.
    onError: (error) => {
      lastError = error.message;
    },
  });

  const progress = new Progress(
    Progress.modeFor(process.stderr, options.quiet),
    () => {
      const counts = worker.counts();
      return {
        done: counts.completed + counts.failed,
        failed: counts.failed,
        total: undefined,
        pool: worker.pool.stats(),
      };
    },
    process.stderr,
    'polyloop worker',
  );
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    // Through the display: above its live lines, which then do not erase it.
    if (signals === 1) {
      progress.notice('stopping — finishing the jobs in hand (press Ctrl-C again to stop now)');
      void worker.close();
    } else if (signals === 2) {
      progress.notice('stopping now');
      void worker.destroy();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const watch = options['until-done']
    ? await watchUntilDone(QueueMonitor, target, worker)
    : undefined;
  progress.start();
  try {
    await worker.stopped;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await watch?.stop();
    const counts = worker.counts();
    const notes = [
      counts.retried > 0 ? `${counts.retried} attempts failed and were retried` : '',
      lastError === undefined ? '' : `last Redis/BullMQ error: ${lastError}`,
    ].filter(Boolean);
    progress.finish(notes.join('; ') || undefined);
  }
  return signals >= 2 ? EXIT_INTERRUPTED : EXIT_OK;
}

/** Closes the worker once every enqueued input has a finished job. */
async function watchUntilDone(
  Monitor: typeof import('../../bullmq/index.js').QueueMonitor,
  target: import('../../bullmq/index.js').QueueTarget,
  worker: { close(): Promise<void>; readonly stopped: Promise<void> },
): Promise<{ stop(): Promise<void> }> {
  const monitor = await Monitor.open(target);
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const status = await monitor.status().catch(() => undefined);
      if (status?.finished) {
        await worker.close();
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, UNTIL_DONE_POLL_MS));
    }
  })();
  void worker.stopped.finally(() => {
    stopped = true;
  });
  return {
    async stop() {
      stopped = true;
      await loop;
      await monitor.close();
    },
  };
}
