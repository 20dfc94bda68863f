import { hostname } from 'node:os';
import type { Worker as BullWorker, Job } from 'bullmq';
import { type RetryOptions, retryDelayAfter } from '../core/retry-policy.js';
import { TaskModuleError } from '../errors.js';
import { type PoolOptions, resolveOptions } from '../options.js';
import { Pool } from '../pool.js';
import { errorInfo, type OutputRecord, outputNotJson, recordOf } from '../records/format.js';
import type { TaskModule } from '../types.js';
import { Worker as BullWorkerClass, DelayedError, UnrecoverableError } from './bullmq-runtime.js';
import { runChunk } from './chunk-runner.js';
import { connectionOf, type QueueTarget, whenConnected } from './connection.js';
import type { RedisDownError } from './errors.js';
import { type AnyJobData, type ChunkData, type ChunkResult, isChunk } from './job-data.js';
import { MachineTally } from './machine-tally.js';
import { closeWithin, RedisHealth, settlesWithin } from './redis-health.js';
import { nonNegative, positiveInteger } from './validate.js';

/**
 * Options of `startQueueWorker`: the pool's, plus how this machine takes jobs from the queue.
 * `retryErrors`, `retryDelay` and `shouldRetry` are applied through BullMQ, not by the pool: a
 * failed attempt goes back to the queue as a delayed job (holding no place on this machine) and
 * may run on any machine. Given `retryErrors`, they decide every job's retries on this machine,
 * in place of the `attempts` and `backoff` the job was enqueued with.
 */
export interface QueueWorkerOptions extends PoolOptions {
  /**
   * The most jobs this machine holds at once (BullMQ's worker `concurrency`): the room its pool
   * has. A job is taken only when one finishes, so a machine never takes more than it can run.
   * @default jobs for workers × min(concurrency, 256) inputs, one more for chunks (set at the first chunk)
   */
  readonly prefetch?: number | undefined;
  /**
   * Milliseconds a job stays locked to this machine without a renewal. The lock is renewed every
   * half of it while the job runs; when a machine dies, its jobs go back to the queue once their
   * locks expire (within `lockDuration` + 2 × `stalledInterval`).
   * @default 30000
   */
  readonly lockDuration?: number | undefined;
  /** Milliseconds between this machine's checks for other machines' expired jobs. @default 30000 */
  readonly stalledInterval?: number | undefined;
  /**
   * How many times a job may be taken back from a dead machine before it fails with
   * `ERR_POLYLOOP_WORKER_CRASHED`. Every worker of a queue should use the same value.
   * @default 2
   */
  readonly maxStalledCount?: number | undefined;
  /**
   * This machine's name, stored by BullMQ on every job it takes (`job.processedBy`), to tell
   * which machine ran what.
   * @default `${os.hostname()}:${process.pid}`
   */
  readonly name?: string | undefined;
  /** Called with errors of the Redis connection or of BullMQ bookkeeping (the worker carries on). */
  readonly onError?: ((error: Error) => void) | undefined;
  /**
   * Called when Redis becomes unreachable (with since when, epoch ms) and when it is back
   * (undefined). Meanwhile the worker waits for it, up to `target.redisDownTimeout`; then it
   * stops and `stopped` rejects with `RedisDownError`.
   */
  readonly onRedisChange?: ((downSince: number | undefined) => void) | undefined;
}

/** How many inputs a `QueueWorker` has finished, by outcome (this machine only). */
export interface QueueWorkerCounts {
  /** Inputs in the jobs this machine holds now. */
  readonly active: number;
  /** Inputs finished with a value. */
  readonly completed: number;
  /** Inputs finished with an error (their record is one). */
  readonly failed: number;
  /** Attempts that failed and were retried after their backoff. */
  readonly retried: number;
}

const DEFAULT_MAX_STALLED_COUNT = 2;
/** Jobs taken at first, before the first job shows how many inputs a job holds. */
const FIRST_PREFETCH = 2;
/**
 * CPU-bound tasks gain nothing from more jobs in hand than a core can run, and every job in hand
 * has a lock to renew and is what a machine's death delays; I/O-bound tasks want the pool's whole
 * window. 256 per worker keeps both cheap; raise `prefetch` for tasks that mostly wait.
 */
const PREFETCH_PER_WORKER = 256;
/** How long destroy() waits for Redis to take the jobs in hand back before leaving them to expire. */
const HANDBACK_WITHIN_MS = 500;

/**
 * Start consuming the queue's jobs on a new polyloop pool: one BullMQ consumer for the machine,
 * feeding every core. Resolves once the pool's workers are up (a broken task module fails here,
 * before any job is taken) and the worker is connected.
 */
export async function startQueueWorker<M extends TaskModule = TaskModule>(
  taskModule: URL | string,
  target: QueueTarget,
  options: QueueWorkerOptions = {},
): Promise<QueueWorker<M>> {
  const {
    prefetch,
    lockDuration,
    stalledInterval,
    maxStalledCount,
    name,
    onError,
    onRedisChange,
    retryErrors,
    retryDelay,
    shouldRetry,
    ...poolOptions
  } = options;
  // Validated as the pool would; then left out of the pool, so a task is not retried twice over.
  const retry = resolveOptions({ retryErrors, retryDelay, shouldRetry });
  const pool = new Pool<M>(taskModule, poolOptions);
  try {
    await pool.ready();
  } catch (error) {
    await pool.destroy();
    throw error;
  }
  const prefetchInputs =
    pool.workers *
    Math.min(poolOptions.concurrency ?? Number.POSITIVE_INFINITY, PREFETCH_PER_WORKER);
  const worker = new QueueWorker(pool, target, {
    prefetch: positiveInteger('prefetch', prefetch, prefetchInputs),
    prefetchInputs: prefetch === undefined ? prefetchInputs : undefined,
    lockDuration: nonNegative('lockDuration', lockDuration, 30_000),
    stalledInterval: nonNegative('stalledInterval', stalledInterval, 30_000),
    maxStalledCount: nonNegative('maxStalledCount', maxStalledCount, DEFAULT_MAX_STALLED_COUNT),
    name: name ?? `${hostname()}:${process.pid}`,
    onError: onError ?? (() => {}),
    onRedisChange,
    retry: retryErrors === undefined ? undefined : retry,
  });
  try {
    await worker.connected();
  } catch (error) {
    await worker.destroy();
    throw error;
  }
  return worker;
}

interface ResolvedWorkerOptions {
  readonly prefetch: number;
  /** Inputs to hold when `prefetch` was not given: chunk jobs set it in jobs when they come. */
  readonly prefetchInputs: number | undefined;
  readonly lockDuration: number;
  readonly stalledInterval: number;
  readonly maxStalledCount: number;
  readonly name: string;
  readonly onError: (error: Error) => void;
  readonly onRedisChange?: ((downSince: number | undefined) => void) | undefined;
  /** Error retries decided here, in place of the job's own attempts and backoff. */
  readonly retry: RetryOptions | undefined;
}

/** A machine's consumer of a queue: a BullMQ worker whose jobs run on a polyloop pool. */
export class QueueWorker<M extends TaskModule = TaskModule> {
  /** The pool running the jobs (for its workers count, or progress). */
  readonly pool: Pool<M>;
  readonly #worker: BullWorker<AnyJobData, OutputRecord | ChunkResult>;
  /** This machine's share of the run, in Redis for `collect` to show. */
  readonly #tally: MachineTally;
  readonly #target: QueueTarget;
  readonly #retry: RetryOptions | undefined;
  /** Resolves when the first job comes (see connected()). */
  readonly #firstJob: Promise<void>;
  #tookAJob!: () => void;
  /** Inputs to hold, in jobs once the first chunk shows their size (unless `prefetch` was given). */
  #prefetchInputs: number | undefined;
  #completed = 0;
  #failed = 0;
  #retried = 0;
  #active = 0;
  #fatal: Error | undefined;
  #stopping: Promise<void> | undefined;
  /** destroy() was called: a task that fails now was aborted, and its job goes back. */
  #destroying = false;
  /** Jobs being handed back to the queue by destroy(). */
  readonly #handbacks = new Set<Promise<void>>();
  /** The Redis connections' watch: gives up on a Redis away too long, or while stopping. */
  readonly #health: RedisHealth;
  #resolveStopped!: () => void;
  #rejectStopped!: (error: Error) => void;
  /** Settles when the worker has stopped: resolves after `close()`/`destroy()`, rejects if the pool broke. */
  readonly stopped: Promise<void>;

  /** @internal Use `startQueueWorker`. */
  constructor(pool: Pool<M>, target: QueueTarget, options: ResolvedWorkerOptions) {
    this.pool = pool;
    this.#target = target;
    this.#retry = options.retry;
    this.#prefetchInputs = options.prefetchInputs;
    this.#firstJob = new Promise((resolve) => {
      this.#tookAJob = resolve;
    });
    this.stopped = new Promise((resolve, reject) => {
      this.#resolveStopped = resolve;
      this.#rejectStopped = reject;
    });
    // Whoever awaits `stopped` sees the failure; not awaiting it must not crash the process.
    this.stopped.catch(() => {});
    this.#health = new RedisHealth(target, {
      onChange: options.onRedisChange,
      onGiveUp: (error) => this.#redisGone(error),
    });
    // Three parameters: BullMQ hands the processor an AbortSignal only when it declares one.
    const processor = (
      job: Job<AnyJobData, OutputRecord | ChunkResult>,
      token?: string,
      signal?: AbortSignal,
    ) => this.#process(job, token, signal);
    this.#worker = new BullWorkerClass<AnyJobData, OutputRecord | ChunkResult>(
      target.queue,
      processor,
      {
        connection: connectionOf(target),
        ...(target.prefix === undefined ? {} : { prefix: target.prefix }),
        // Until the first job shows whether jobs are chunks, take few: a machine that took 256
        // chunks at once would hoard the queue.
        concurrency: options.prefetchInputs === undefined ? options.prefetch : FIRST_PREFETCH,
        lockDuration: options.lockDuration,
        stalledInterval: options.stalledInterval,
        maxStalledCount: options.maxStalledCount,
        name: options.name,
      },
    );
    this.#worker.on('error', options.onError);
    this.#tally = new MachineTally(this.#worker, options.name, () => this.counts());
    // A chunk's inputs are counted by its processor; here one-input jobs, and chunks that failed
    // as a whole (their machines died under them too often).
    this.#worker.on('completed', (job) => {
      if (!isChunk(job.data)) this.#completed++;
    });
    this.#worker.on('failed', (job, error) => {
      if (job && isChunk(job.data)) {
        this.#failed += job.data.indexes.length;
        return;
      }
      const final =
        job === undefined ||
        error instanceof UnrecoverableError ||
        job.attemptsMade >= (job.opts.attempts ?? 1);
      if (final) this.#failed++;
      else this.#retried++;
    });
    // Another machine will run a job whose lock was lost: stop spending this one's cores on it.
    this.#worker.on('lockRenewalFailed', (jobIds) => {
      for (const id of jobIds) this.#worker.cancelJob(id, 'lock lost');
    });
  }

  /** @internal */
  async connected(): Promise<void> {
    // A job taken says the connection is up, even if Redis goes away before BullMQ's ready
    // event is seen: the outage is then the health watch's to time, not a failed start.
    await Promise.race([whenConnected(this.#worker, this.#target), this.#firstJob]);
    await this.#health.watch(this.#worker);
  }

  /** Since when (epoch ms) Redis has been unreachable, or undefined while it answers. */
  get redisDownSince(): number | undefined {
    return this.#health.downSince;
  }

  /**
   * Redis stayed away too long, or went away while stopping: its connections are cut, so nothing
   * can be handed back or finished; stop now. The jobs in hand come back once their locks expire.
   */
  #redisGone(error: RedisDownError): void {
    this.#fatal ??= error;
    void this.destroy();
  }

  /** This machine's job counts so far. */
  counts(): QueueWorkerCounts {
    return {
      active: this.#active,
      completed: this.#completed,
      failed: this.#failed,
      retried: this.#retried,
    };
  }

  /**
   * Take no more jobs, finish the ones in hand (their results reach Redis), then stop the pool.
   * The graceful way out (SIGTERM). If Redis is away (or goes away before the jobs are done), it
   * stops at once instead, as `destroy()` does but without handing the jobs back (they come back
   * when their locks expire), and `stopped` rejects with `RedisDownError`.
   */
  close(): Promise<void> {
    this.#stopping ??= this.#stop(false);
    this.#health.stop();
    return this.#stopping;
  }

  /**
   * Stop now: the tasks running are aborted and their jobs go back to the queue, without using an
   * attempt, to run on another machine (or this one, restarted) — at once if Redis takes the
   * hand-back, else once their locks expire.
   */
  destroy(): Promise<void> {
    const stopping = this.#stop(true);
    this.#stopping ??= stopping;
    this.#health.stop();
    return stopping;
  }

  async #stop(force: boolean): Promise<void> {
    try {
      if (force) {
        this.#destroying = true;
        // Aborting the tasks makes each job in hand hand itself back (see #process); then the
        // connection may close.
        await this.pool.destroy();
        // Bounded: a Redis that does not answer soon will not take them (their locks expire).
        await settlesWithin(Promise.all(this.#handbacks), HANDBACK_WITHIN_MS);
        await settlesWithin(this.#tally.close(), HANDBACK_WITHIN_MS);
        await closeWithin(this.#worker, () => this.#worker.close(true));
      } else {
        // Take no more jobs and finish those in hand, then report the last counts while the
        // connection is still open.
        // A destroy() meanwhile (a second signal) closes the connection under it: then it rejects.
        await this.#worker.pause().catch(() => {});
        await settlesWithin(this.#tally.close(), HANDBACK_WITHIN_MS);
        await this.#worker.close();
        await this.pool.close();
      }
    } finally {
      this.#health.dispose();
      if (this.#fatal) this.#rejectStopped(this.#fatal);
      else this.#resolveStopped();
    }
  }

  async #process(
    job: Job<AnyJobData, OutputRecord | ChunkResult>,
    token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<OutputRecord | ChunkResult> {
    this.#tookAJob();
    const data = job.data;
    if (isChunk(data)) return this.#processChunk(job, data, token, signal);
    this.#sizePrefetch(1);
    if (data.inputError) throw new UnrecoverableError(data.inputError.message);
    this.#active++;
    let value: unknown;
    try {
      value = await this.pool.run(data.input as never, { signal });
    } catch (error) {
      await this.#handBackIfStopped(job, token, error);
      const attempt = job.attemptsMade + 1;
      if (this.#retry && !signal?.aborted) {
        // This attempt's retry, decided as the pool decides it, carried out by BullMQ: it reads
        // attempts and backoff from this copy of the job's options when the processor throws.
        const delay = retryDelayAfter(this.#retry, error, attempt);
        job.opts.attempts = delay < 0 ? attempt : attempt + 1;
        job.opts.backoff = { type: 'fixed', delay: Math.max(0, delay) };
      }
      if (!signal?.aborted && attempt >= (job.opts.attempts ?? 1)) {
        // The last attempt: keep the code (BullMQ stores only the message) for `collect`.
        const attempts = attempt > 1 ? { attempts: attempt } : {};
        await job.updateData({ ...data, error: errorInfo(error), ...attempts });
      }
      throw error;
    } finally {
      this.#active--;
    }
    // Failed attempts before this one are BullMQ's attemptsMade (a stalled job's re-runs are not).
    const record = recordOf(data.index, true, value, job.attemptsMade + 1);
    const notJson = jsonProblem(record);
    if (notJson !== undefined) {
      // BullMQ stores results as JSON. Not retried: the same input gives the same output.
      const error = outputNotJson(notJson);
      await job.updateData({ ...data, error });
      throw new UnrecoverableError(error.message);
    }
    return record;
  }

  /**
   * Once, at the first job (unless `prefetch` was given): hold about `prefetchInputs` inputs —
   * in one-input jobs, or in chunks of this size plus the next one ready.
   */
  #sizePrefetch(inputsPerJob: number): void {
    if (this.#prefetchInputs === undefined) return;
    this.#worker.concurrency =
      inputsPerJob === 1
        ? this.#prefetchInputs
        : Math.ceil(this.#prefetchInputs / inputsPerJob) + 1;
    this.#prefetchInputs = undefined;
  }

  /** Runs a chunk's inputs, each retried on its own; the job completes with every record. */
  async #processChunk(
    job: Job<AnyJobData, OutputRecord | ChunkResult>,
    data: ChunkData,
    token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ChunkResult> {
    const size = data.indexes.length;
    this.#sizePrefetch(size);
    this.#active += size;
    try {
      const outcome = await runChunk(this.pool, data, this.#retry, signal);
      this.#completed += outcome.ok;
      this.#failed += size - outcome.ok;
      this.#retried += outcome.retried;
      return { lines: outcome.lines };
    } catch (error) {
      await this.#handBackIfStopped(job, token, error);
      throw error;
    } finally {
      this.#active -= size;
    }
  }

  /**
   * A job this machine cannot finish — destroy() is stopping it, or the pool broke — goes back to
   * the queue without using an attempt (if Redis cannot take it now, its lock expires and it
   * comes back as stalled): throws BullMQ's DelayedError for it. Returns for any other failure.
   */
  async #handBackIfStopped(job: Job, token: string | undefined, error: unknown): Promise<void> {
    if (this.#destroying) {
      // Stopped by destroy(), not failed: the job was not its inputs' fault.
      const handback = job.moveToDelayed(Date.now(), token).catch(() => {});
      this.#handbacks.add(handback);
      await handback;
      throw new DelayedError();
    }
    if (error instanceof TaskModuleError) {
      this.#fatal ??= error;
      await job.moveToDelayed(Date.now(), token).catch(() => {});
      void this.destroy();
      throw new DelayedError();
    }
  }
}

/** Why JSON cannot hold the record (a BigInt, a cycle), or undefined if it can. */
function jsonProblem(record: OutputRecord): string | undefined {
  try {
    JSON.stringify(record);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
