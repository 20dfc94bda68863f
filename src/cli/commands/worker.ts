/**
 * `polyloop worker <task module>`: this machine's consumer of a BullMQ queue. One BullMQ worker
 * takes jobs, as many as the pool has room for, and runs them on every core; results go back to
 * Redis for `polyloop collect`. Runs until stopped (or, with --until-done, until the queue is done).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { integerOption, parseCommand } from '../args.js';
import { EXIT_INTERRUPTED, EXIT_OK } from '../exit-codes.js';
import { POOL_OPTIONS, poolOptionsFrom, taskModuleArgument } from '../pool-arguments.js';
import { Progress } from '../progress.js';
import { QUEUE_OPTIONS, QUEUE_OPTIONS_HELP, targetOf } from '../queue/arguments.js';
import { loadQueueLibrary } from '../queue/library.js';
import { redisDownText } from '../queue/status-line.js';

export const HELP = `Usage: polyloop worker <task module> --queue NAME [--redis URL] [options]

Run the jobs of a BullMQ queue (added by "polyloop enqueue") on every core of this machine: one
BullMQ consumer feeds a polyloop pool, taking a job only when the pool has room for it. Start one
per machine, on as many machines as you like; each input's record goes back to Redis for
"polyloop collect". A task that throws or times out is retried per the job's attempts (enqueue
--attempts), or per --retry-errors if given; the jobs of a machine that dies go to the others
once their locks expire (--lock-duration).

Options:
${QUEUE_OPTIONS_HELP}
  -w, --workers N        workers, one event loop each (default: the number of CPU cores)
  -c, --concurrency N    most tasks in flight per worker, or "infinity" (default: 10000);
                         within it the pool finds its number, backing off on load
      --fixed-concurrency  no backing off: the window only grows, up to --concurrency
      --prefetch N       most jobs this machine holds at once (default: about workers × the
                         smaller of concurrency and 256 inputs, in jobs, set at the first job)
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
      --until-done       exit once every enqueued input has a finished job; exit 4 if the
                         queue lost its state, 2 if some inputs have no job left
  -q, --quiet            no progress display and no summary on stderr
  -h, --help             show this help

Ctrl-C (SIGINT) or SIGTERM takes no more jobs and finishes the ones in hand; a second one stops
at once (within a second): the jobs in hand go back to the queue, without using an attempt, for
another machine. If Redis is unreachable, the first one stops at once too: the jobs in hand
cannot be handed back and return to the queue when their locks expire (--lock-duration).

While Redis is unreachable the worker waits for it and reconnects (a Redis restarted with its
data loses nothing); after --redis-down-timeout it gives up, with exit code 3. If Redis comes back
without the queue's data, it says how many inputs have no job (re-run polyloop enqueue with the
same file: it adds only the missing jobs); with --until-done it then exits with code 4.

Exit codes: 0 stopped (by --until-done, or a signal after finishing its jobs); 2 a usage error,
the task module failed to load, Redis did not answer at start, or (--until-done) some inputs
have no job left; 3 Redis unreachable for longer than --redis-down-timeout; 4 (--until-done)
the queue lost its state; 130 stopped by a second signal, or by a signal while Redis was
unreachable.
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
/** Without --until-done, how often the worker looks for a queue that lost its state. */
const STATE_POLL_MS = 5000;
/** After a second signal, the longest the worker takes to exit, whatever is pending. */
const SECOND_SIGNAL_EXIT_MS = 700;

export async function main(argv: string[]): Promise<number> {
  const { values: options, positionals } = parseCommand(argv, OPTIONS);
  if (options.help) {
    process.stdout.write(HELP);
    return EXIT_OK;
  }
  const taskPath = taskModuleArgument(positionals, 'polyloop worker <task module> --queue NAME');
  const target = targetOf(options);
  const poolOptions = poolOptionsFrom(options, { minWorkers: 1 });
  const library = await loadQueueLibrary('worker');
  const { startQueueWorker } = library;
  // Opened before the worker, not after: a Redis gone between the two would be a failed start
  // (after the connect timeout) instead of an outage timed by --redis-down-timeout.
  const watching = new AbortController();
  const monitor = await library.QueueMonitor.open(target, { signal: watching.signal });

  let lastError: string | undefined;
  // Set once the display exists; Redis may go away before.
  let notice: (text: string) => void = () => {};
  /** Jobs this machine held when Redis went away: they come back when their locks expire. */
  let heldWhenDown = 0;
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
    onRedisChange: (downSince) => {
      if (downSince === undefined) {
        notice('Redis is back: carrying on');
        return;
      }
      heldWhenDown = worker.counts().active;
      const timeout = target.redisDownTimeout ?? 60_000;
      notice(`${redisDownText(downSince)}: waiting for it, for ${timeout / 1000} s at most`);
    },
  }).catch(async (error: unknown) => {
    // A task module that fails to load: no watch either.
    watching.abort();
    await monitor.close().catch(() => {});
    throw error;
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
  notice = (text) => progress.notice(text);
  const handedBackLater = () =>
    `${heldWhenDown} jobs in hand come back to the queue when their locks expire`;
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    // Through the display: above its live lines, which then do not erase it.
    if (signals === 1) {
      if (worker.redisDownSince !== undefined) {
        progress.notice(`stopping — Redis is unreachable: ${handedBackLater()}`);
      } else {
        progress.notice('stopping — finishing the jobs in hand (press Ctrl-C again to stop now)');
      }
      void worker.close();
    } else if (signals === 2) {
      progress.notice('stopping now');
      void worker.destroy();
      // Whatever is still pending (a Redis that does not answer), the process ends now.
      setTimeout(() => {
        if (summarized) return;
        progress.finish(worker.redisDownSince === undefined ? 'stopped' : handedBackLater());
        process.exit(EXIT_INTERRUPTED);
      }, SECOND_SIGNAL_EXIT_MS).unref();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const watch = watchQueue(library, monitor, watching, worker, {
    untilDone: options['until-done'],
    onLost: (error) => notice(error.message),
  });
  progress.start();
  let note = '';
  let summarized = false;
  try {
    await worker.stopped;
    if (watch.failure) throw watch.failure;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ERR_POLYLOOP_REDIS_DOWN') throw error;
    note = handedBackLater();
    // Stopped by a signal while Redis was away: interrupted, not failed.
    if ((error as { reason?: unknown }).reason !== 'stopped') throw error;
    note = `stopped while ${redisDownText((error as { downSince: number }).downSince)}: ${note}`;
    signals = Math.max(signals, 2);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await watch.stop();
    const counts = worker.counts();
    const notes = [
      counts.retried > 0 ? `${counts.retried} attempts failed and were retried` : '',
      lastError === undefined ? '' : `last Redis/BullMQ error: ${lastError}`,
      note,
    ].filter(Boolean);
    summarized = true;
    progress.finish(notes.join('; ') || undefined);
  }
  return signals >= 2 ? EXIT_INTERRUPTED : EXIT_OK;
}

type Library = typeof import('../../bullmq/index.js');

/**
 * Looks at the queue as the worker runs: with --until-done, closes the worker once every enqueued
 * input has a finished job, or once it never will (the queue lost its state, or jobs were removed:
 * `failure` says which). Without it, only says when the queue lost its state (the worker keeps
 * taking jobs: enqueueing the list again gives it the missing ones).
 */
function watchQueue(
  { MissingJobsError }: Library,
  monitor: import('../../bullmq/index.js').QueueMonitor,
  stopping: AbortController,
  worker: { close(): Promise<void>; readonly stopped: Promise<void> },
  options: { untilDone: boolean; onLost: (error: Error) => void },
): { stop(): Promise<void>; readonly failure: Error | undefined } {
  let failure: Error | undefined;
  const pollMs = options.untilDone ? UNTIL_DONE_POLL_MS : STATE_POLL_MS;
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      let status: import('../../bullmq/index.js').QueueStatus | undefined;
      try {
        status = await monitor.status();
      } catch (error) {
        if (stopping.signal.aborted) return;
        const code = (error as { code?: unknown }).code;
        if (code === 'ERR_POLYLOOP_QUEUE_STATE_LOST') {
          options.onLost(error as Error);
          if (options.untilDone) {
            failure = error as Error;
            await worker.close();
            return;
          }
          // Reported once; the next looks start from the state as it is now.
          return;
        }
        // Redis away: the worker's own watch decides when to give up.
      }
      if (status && options.untilDone) {
        if (status.finished) {
          await worker.close();
          return;
        }
        const { waiting, active, delayed, completed, failed, inputs, jobs } = status;
        // The input count is noted once every job exists: nothing left to run then means jobs
        // were removed, and --until-done would wait for them forever.
        if (inputs !== undefined && jobs !== undefined && waiting + active + delayed === 0) {
          const perJob = inputs / Math.max(jobs, 1);
          const missing = Math.round((jobs - completed - failed) * perJob);
          failure = new MissingJobsError(Math.min(inputs, Math.max(1, missing)), inputs);
          await worker.close();
          return;
        }
      }
      await sleep(pollMs, undefined, { signal: stopping.signal }).catch(() => {});
    }
  })();
  void worker.stopped.finally(() => stopping.abort()).catch(() => {});
  return {
    get failure() {
      return failure;
    },
    async stop() {
      stopping.abort();
      await monitor.close();
      await loop;
    },
  };
}
