import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Queue } from 'bullmq';
import type { OutputRecord } from '../records/format.js';
import { IndexSet } from '../records/index-set.js';
import { openQueue, type QueueTarget, whenConnected } from './connection.js';
import { pending, type QueueCounts, queueCounts } from './counts.js';
import { recordedInputCount } from './enqueue.js';
import { JOB_FAILED_CODE, JOB_STALLED_CODE, MissingJobsError } from './errors.js';
import {
  type AnyJobData,
  type ChunkResult,
  indexOfJobId,
  isChunk,
  isChunkId,
  type JobData,
} from './job-data.js';
import { type MachineShare, readMachineShares } from './machine-tally.js';
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
  /** Each machine's inputs finished, as its worker last reported them (once a second). */
  readonly machines: readonly MachineShare[];
  /**
   * Since when (epoch ms) Redis has been unreachable, while it is: progress is then reported
   * every `pollInterval` with the totals last seen.
   */
  readonly redisDownSince?: number | undefined;
}

const PAGE_SIZE = 1000;
/** Chunk jobs read at once: each holds hundreds of records, so fewer than one-input jobs. */
const CHUNKS_AT_ONCE = 16;
/** Finished jobs up to which a look at the queue is cheap enough to repeat every QUICK_POLL_MS. */
const QUICK_LOOK_JOBS = 2 * PAGE_SIZE;
const QUICK_POLL_MS = 100;
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
  for await (const batch of collectLines(target, options)) {
    for (const { line } of batch) yield JSON.parse(line) as OutputRecord;
  }
}

/** One input's record as a JSONL line (newline-ended), and whether it holds a value. */
export interface CollectedLine {
  readonly index: number;
  readonly line: string;
  readonly ok: boolean;
}

/**
 * `collectResults`, each record as the JSONL line `polyloop run` writes, in batches (a chunk's,
 * or a page of one-input jobs'): chunks store their records as such lines, so writing them out
 * costs a copy, not a parse and a serialization, and a batch costs one turn of the loop.
 */
export async function* collectLines(
  target: QueueTarget,
  options: CollectOptions = {},
): AsyncGenerator<CollectedLine[], void, undefined> {
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
    try {
      await whenConnected(queue, target, signal);
    } catch (error) {
      if (signal?.aborted) return; // stopped before anything was collected
      throw error;
    }
    await health.watch(queue);
    const seen = new Seen();
    while (!signal?.aborted) {
      // In this order: once the input count is noted every job exists, so a snapshot taken after
      // it, then a full pass, sees every job that had finished by the snapshot.
      const inputs = await recordedInputCount(queue);
      const counts = await queueCounts(queue);
      const lost = tracker.observe(inputs, counts, await chunkOf(queue));
      if (lost) throw lost;
      for (const state of ['completed', 'failed'] as const) {
        for await (const batch of finishedLines(queue, state, seen)) {
          if (batch.length > 0) yield batch;
          if (signal?.aborted) return;
        }
      }
      const collected = seen.indexes.size;
      // The machines' shares only for a watcher: a small hash, read once per look.
      const machines = options.onProgress ? await readMachineShares(queue) : [];
      last = { ...counts, collected, inputs, machines, redisDownSince: health.downSince };
      options.onProgress?.(last);
      if (!follow) return;
      if (inputs !== undefined && collected >= inputs) return;
      if (inputs !== undefined && pending(counts) === 0) {
        throw new MissingJobsError(inputs - collected, inputs);
      }
      // While a look is cheap (a few pages of finished ids: chunks), look often: the last
      // records then land within ~0.1 s of their job, not a --poll later.
      const cheap = counts.completed + counts.failed <= QUICK_LOOK_JOBS;
      const wait = cheap ? Math.min(pollInterval, QUICK_POLL_MS) : pollInterval;
      await sleep(wait, undefined, { signal }).catch(() => {});
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

/** What was yielded: each input index, and each chunk job (a chunk's records go out together). */
class Seen {
  readonly indexes = new IndexSet();
  readonly chunks = new Set<string>();

  has(id: string): boolean {
    if (isChunkId(id)) return this.chunks.has(id);
    const index = indexOfJobId(id);
    return index < 0 || this.indexes.has(index);
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
  machines: [],
};

/**
 * The records of the jobs in one finished state not yet in `seen`, oldest first, a page at a
 * time. Ids come first (cheap), so only unseen jobs are read in full — chunks a few at a time,
 * so memory holds a few chunks' records, not a page's.
 */
async function* finishedLines(
  queue: Queue,
  state: 'completed' | 'failed',
  seen: Seen,
): AsyncGenerator<CollectedLine[]> {
  for (let start = 0; ; start += PAGE_SIZE) {
    const ids = await queue.getRanges([state], start, start + PAGE_SIZE - 1, true);
    if (ids.length === 0) return;
    const unseen = ids.filter((id) => !seen.has(id));
    const atOnce = unseen.some(isChunkId) ? CHUNKS_AT_ONCE : PAGE_SIZE;
    for (let from = 0; from < unseen.length; from += atOnce) {
      const group = unseen.slice(from, from + atOnce);
      if (state === 'completed' && group.every(isChunkId)) {
        yield* completedChunks(queue, group, seen);
        continue;
      }
      // Issued together, the reads share the connection's round trips.
      const jobs = await Promise.all(group.map((id) => queue.getJob(id)));
      const batch: CollectedLine[] = [];
      for (const job of jobs) {
        // A job removed between the two reads, or moved on (retried by hand), is not finished.
        if (job?.id && job.finishedOn) {
          linesOf(job as Job<AnyJobData, unknown>, job.id, state, seen, batch);
        }
      }
      yield batch;
    }
    if (ids.length < PAGE_SIZE) return;
  }
}

/**
 * Completed chunks' lines, read as stored: only the return value (the job's data, its inputs,
 * is not needed), and copied, not parsed — but for each line's index and kind.
 */
async function* completedChunks(
  queue: Queue,
  ids: readonly string[],
  seen: Seen,
): AsyncGenerator<CollectedLine[]> {
  const client = await queue.client;
  const stored = await Promise.all(ids.map((id) => client.hget(queue.toKey(id), 'returnvalue')));
  for (let i = 0; i < ids.length; i++) {
    const json = stored[i];
    // Removed between the two reads.
    if (json === null || json === undefined) continue;
    seen.chunks.add(ids[i]!);
    const batch: CollectedLine[] = [];
    unseenLines((JSON.parse(json) as ChunkResult).lines, seen, batch);
    yield batch;
  }
}

/** The lines of a chunk's records whose index was not yielded (an overlapping chunk may have). */
function unseenLines(lines: string, seen: Seen, batch: CollectedLine[]): void {
  // Each line is `{"index":N,"value":...}` or `{"index":N,"error":...}`, as the worker wrote it.
  for (let start = 0; start < lines.length; ) {
    const end = lines.indexOf('\n', start) + 1;
    const comma = lines.indexOf(',', start + INDEX_AT);
    const index = Number(lines.slice(start + INDEX_AT, comma));
    if (seen.indexes.add(index)) {
      const ok = lines.startsWith('"value"', comma + 1);
      batch.push({ index, line: lines.slice(start, end), ok });
    }
    start = end;
  }
}

/** Where a record line's index starts: after `{"index":`. */
const INDEX_AT = '{"index":'.length;

/** A finished job's lines not yielded yet, into `batch`: one for a one-input job, one per input of a chunk. */
function linesOf(
  job: Job<AnyJobData, unknown>,
  id: string,
  state: 'completed' | 'failed',
  seen: Seen,
  batch: CollectedLine[],
): void {
  const data = job.data;
  if (!isChunk(data)) {
    const index = indexOfJobId(id);
    if (!seen.indexes.add(index)) return;
    const single = job as Job<JobData, unknown>;
    const record =
      state === 'completed' ? completedRecord(index, single) : failedRecord(index, single);
    batch.push({ index, line: `${JSON.stringify(record)}\n`, ok: 'value' in record });
    return;
  }
  seen.chunks.add(id);
  if (state === 'completed') {
    unseenLines((job.returnvalue as ChunkResult).lines, seen, batch);
    return;
  }
  // The chunk failed as a whole (its machines died under it too often): every input says why.
  const { error } = failedRecord(-1, job as Job<JobData, unknown>) as { error: unknown };
  for (const index of data.indexes) {
    if (seen.indexes.add(index)) {
      batch.push({ index, line: `${JSON.stringify({ index, error })}\n`, ok: false });
    }
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
