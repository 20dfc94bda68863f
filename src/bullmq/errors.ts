import { PolyloopError } from '../errors.js';

/** Redis did not answer in time when a queue command started (wrong URL, server down). */
export class RedisUnavailableError extends PolyloopError {
  readonly redis: string;
  constructor(redis: string, timeoutMs: number, options?: ErrorOptions) {
    super(
      'ERR_POLYLOOP_REDIS_UNAVAILABLE',
      `Redis at ${redis} did not answer within ${timeoutMs} ms`,
      options,
    );
    this.redis = redis;
  }
}

/**
 * `collect --follow` found nothing left to run, yet some inputs have no finished job: their jobs
 * were removed from Redis (by hand, or by a `removeOnComplete` policy), so they would never come.
 */
export class MissingJobsError extends PolyloopError {
  readonly missing: number;
  constructor(missing: number, total: number) {
    super(
      'ERR_POLYLOOP_QUEUE_INCOMPLETE',
      `${missing} of ${total} inputs have no job left in the queue: enqueue them again`,
    );
    this.missing = missing;
  }
}

/**
 * `enqueue` into a queue whose first enqueue used another chunk size: the job ids would not
 * match, so every input would be added, and run, a second time.
 */
export class ChunkMismatchError extends PolyloopError {
  constructor(queue: string, queueChunk: number, chunk: number) {
    super(
      'ERR_POLYLOOP_CHUNK_MISMATCH',
      `Queue "${queue}" holds inputs enqueued ${queueChunk} per job; this enqueue asks for ${chunk} per job. ` +
        `Enqueue with chunk ${queueChunk} (--chunk ${queueChunk}) to add what is missing, or use a new queue`,
    );
  }
}

/**
 * The code of a record whose job failed without a polyloop error attached: something other than
 * a polyloop worker failed it (its message is BullMQ's failedReason).
 */
export const JOB_FAILED_CODE = 'ERR_POLYLOOP_QUEUE_JOB_FAILED';
/** The code of a record whose job stalled (its machine died or stopped renewing its lock) too often. */
export const JOB_STALLED_CODE = 'ERR_POLYLOOP_WORKER_CRASHED';

/**
 * Redis went away after the command had connected, and did not come back within
 * `target.redisDownTimeout` — or the command was asked to stop (a signal, `close()`) while it was
 * away. Whatever the command held in Redis when it stopped (a worker's jobs in hand) comes back
 * once Redis does and their locks expire.
 */
export class RedisDownError extends PolyloopError {
  readonly redis: string;
  /** When the connection was lost (epoch ms). */
  readonly downSince: number;
  /** Why the command stopped waiting: the timeout passed, or it was asked to stop. */
  readonly reason: 'timeout' | 'stopped';
  constructor(
    redis: string,
    downSince: number,
    reason: 'timeout' | 'stopped',
    timeoutMs: number,
    options?: ErrorOptions,
  ) {
    const since = new Date(downSince).toISOString();
    super(
      'ERR_POLYLOOP_REDIS_DOWN',
      reason === 'timeout'
        ? `Redis at ${redis} has been unreachable since ${since}: gave up after ${timeoutMs} ms`
        : `Redis at ${redis} has been unreachable since ${since}: stopped without waiting for it`,
      options,
    );
    this.redis = redis;
    this.downSince = downSince;
    this.reason = reason;
  }
}

/**
 * The queue lost state it had: the input count `enqueue` noted vanished, or jobs disappeared —
 * most often Redis restarted without its data (no persistence, or a snapshot older than the
 * enqueue). The inputs without a job would never get a record; enqueueing the same list again
 * adds only the missing jobs.
 */
export class QueueStateLostError extends PolyloopError {
  /** Inputs with no job in the queue now (an estimate when several inputs share a job). */
  readonly missing: number;
  /** The input count, when known. */
  readonly inputs: number | undefined;
  constructor(what: string, missing: number, inputs: number | undefined) {
    const of = inputs === undefined ? '' : ` of ${inputs}`;
    super(
      'ERR_POLYLOOP_QUEUE_STATE_LOST',
      `The queue lost its state (${what}; did Redis restart without its data?): ${missing}${of} ` +
        'inputs have no job. Re-run polyloop enqueue with the same input: it adds only the missing jobs',
    );
    this.missing = missing;
    this.inputs = inputs;
  }
}
