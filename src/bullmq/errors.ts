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
