import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Queue } from 'bullmq';
import type { OutputRecord } from '../records/format.js';
import { IndexSet } from '../records/index-set.js';
import { openQueue, type QueueTarget, whenConnected } from './connection.js';
import { pending, type QueueCounts, queueCounts } from './counts.js';
import { recordedInputCount } from './enqueue.js';
import { JOB_FAILED_CODE, JOB_STALLED_CODE, MissingJobsError } from './errors.js';
import { indexOfJobId, type JobData } from './job-data.js';
import { chunkOf, closeWithin, QueueStateTracker, RedisHealth } from './redis-health.js';
import { nonNegative } from './validate.js';

/** Options of `collectResults`. */
export interface CollectOptions {
  /**
   * Keep collecting until every enqueued input has a record (waiting, if need be, for an
   * `enqueue` still under way to finish), instead of stopping after what has finished now.
   * @default false
   */
  readonly follow?: boolean | undefined;
  /** Milliseconds between two looks at the queue while following. @default 1000 */
  readonly pollInterval?: number | undefined;
  /** Stops collecting: the iteration ends after the record it is on. */
  readonly signal?: AbortSignal | undefined;
  /** Called after each look at the queue with its totals. */
  readonly onProgress?: ((progress: CollectProgress) => void) | undefined;
}

/** The queue's totals as `collectResults` last saw them. */
export interface CollectProgress extends QueueCounts {
  /** Records yielded so far. */
  readonly collected: number;
  /** Inputs enqueued, once an enqueue has finished (undefined before). */
  readonly inputs: number | undefined;
  /**
   * Since when (epoch ms) Redis has been unreachable, while it is: progress is then reported
   * every `pollInterval` with the totals last seen.
   */
  readonly redisDownSince?: number | undefined;
}

const PAGE_SIZE = 1000;
/** Once `signal` aborts, how long a look at the queue may still take before it is cut. */
const STOP_WITHIN_MS = 2000;
// BullMQ's failedReason when a job's machines died under it more than `maxStalledCount` times.
const STALLED_REASON = /stalled more than allowable limit/;

/**
 * Yield one record per input whose job has finished: `{ index, value }` or `{ index, error: {
 * code, message } }` — the records `polyloop run` writes — in no particular order. Each index
 * is yielded once, even if its job ran more than once. The queue is left as it is (collecting
 * again yields the same records). Memory is bounded: jobs are read a page at a time, and what
 * was yielded is remembered as one bit per index.
 *
 * With `follow`, it ends once every enqueued input has a record; it throws `MissingJobsError`
 * if nothing is left to run while some inputs still have none (their jobs were removed), and
 * `QueueStateLostError` if the queue loses state it had (Redis restarted without its data).
 * If Redis goes away it waits for it, up to `target.redisDownTimeout`, then throws
 * `RedisDownError`; `signal` ends the iteration at once even then.
 */
export async function* collectResults(
  target: QueueTarget,
  options: CollectOptions = {},
): AsyncGenerator<OutputRecord, void, undefined> {
  const pollInterval = nonNegative('pollInterval', options.pollInterval, 1000);
  const { follow = false, signal } = options;
  const queue = openQueue(target);
  let last: CollectProgress | undefined;
  const health = new RedisHealth(target, {
    signal,
    stopWithinMs: STOP_WITHIN_MS,
    tickMs: pollInterval,
    onChange: (redisDownSince) => {
      last = { ...(last ?? NOTHING_SEEN), redisDownSince };
      options.onProgress?.(last);
    },
  });
  const tracker = new QueueStateTracker();
  try {
    await whenConnected(queue, target);
    await health.watch(queue);
    const seen = new IndexSet();
    while (!signal?.aborted) {
      // In this order: once the input count is noted every job exists, so a snapshot taken after
      // it, then a full pass, sees every job that had finished by the snapshot.
      const inputs = await recordedInputCount(queue);
      const counts = await queueCounts(queue);
      const lost = tracker.observe(inputs, counts, await chunkOf(queue));
      if (lost) throw lost;
      for (const state of ['completed', 'failed'] as const) {
        for await (const record of finishedRecords(queue, state, seen)) {
          yield record;
          if (signal?.aborted) return;
        }
      }
      last = { ...counts, collected: seen.size, inputs, redisDownSince: health.downSince };
      options.onProgress?.(last);
      if (!follow) return;
      if (inputs !== undefined && seen.size >= inputs) return;
      if (inputs !== undefined && pending(counts) === 0) {
        throw new MissingJobsError(inputs - seen.size, inputs);
      }
      await sleep(pollInterval, undefined, { signal }).catch(() => {});
    }
  } catch (error) {
    // Stopped while Redis was away: the iteration ends with what it has yielded.
    if (health.gaveUp?.reason === 'stopped') return;
    throw health.gaveUp ?? error;
  } finally {
    health.dispose();
    await closeWithin(queue, () => queue.close());
  }
}

const NOTHING_SEEN: CollectProgress = {
  waiting: 0,
  active: 0,
  delayed: 0,
  completed: 0,
  failed: 0,
  collected: 0,
  inputs: undefined,
};

/**
 * The records of the jobs in one finished state not yet in `seen`, oldest first, a page at a
 * time. Ids come first (cheap), so only unseen jobs are read in full.
 */
async function* finishedRecords(
  queue: Queue,
  state: 'completed' | 'failed',
  seen: IndexSet,
): AsyncGenerator<OutputRecord> {
  for (let start = 0; ; start += PAGE_SIZE) {
    const ids = await queue.getRanges([state], start, start + PAGE_SIZE - 1, true);
    if (ids.length === 0) return;
    const unseen = ids.filter((id) => {
      const index = indexOfJobId(id);
      return index >= 0 && !seen.has(index);
    });
    // Issued together, the reads share the connection's round trips.
    const jobs = await Promise.all(unseen.map((id) => queue.getJob(id)));
    for (const job of jobs) {
      // A job removed between the two reads, or moved on (retried by hand), is not finished.
      if (!job?.id || !job.finishedOn) continue;
      const index = indexOfJobId(job.id);
      if (!seen.add(index)) continue;
      yield state === 'completed' ? completedRecord(index, job) : failedRecord(index, job);
    }
    if (ids.length < PAGE_SIZE) return;
  }
}

function completedRecord(index: number, job: Job<JobData, unknown>): OutputRecord {
  const stored = job.returnvalue as { value?: unknown; attempts?: unknown } | null | undefined;
  // The worker stores the record itself; a job finished by anything else carries a bare value.
  if (
    stored !== null &&
    typeof stored === 'object' &&
    (stored as { index?: unknown }).index === index
  ) {
    const attempts = stored.attempts;
    return typeof attempts === 'number' && attempts > 1
      ? { index, value: stored.value, attempts }
      : { index, value: stored.value };
  }
  return { index, value: stored };
}

function failedRecord(index: number, job: Job<JobData, unknown>): OutputRecord {
  const error = job.data.error ?? job.data.inputError;
  if (error) {
    const attempts = job.data.error ? job.data.attempts : undefined;
    const info = { code: error.code, message: error.message };
    return attempts !== undefined && attempts > 1
      ? { index, error: info, attempts }
      : { index, error: info };
  }
  const reason = job.failedReason ?? 'The job failed';
  return {
    index,
    error: {
      code: STALLED_REASON.test(reason) ? JOB_STALLED_CODE : JOB_FAILED_CODE,
      message: reason,
    },
  };
}
