import type { Queue } from 'bullmq';
import { type ErrorInfo, errorInfo } from '../records/format.js';
import { parseJsonLine } from '../records/json-line.js';
import { chunksOf } from './chunker.js';
import { openQueue, type QueueTarget, whenConnected } from './connection.js';
import { jobTotal, queueCounts } from './counts.js';
import { ChunkMismatchError, QueueStateLostError } from './errors.js';
import {
  type ChunkData,
  chunkIdOf,
  JOB_NAME,
  type JobData,
  jobIdOf,
  META_CHUNK_FIELD,
  META_JOBS_FIELD,
  META_KEY_SUFFIX,
  META_TOTAL_FIELD,
} from './job-data.js';
import { closeWithin, RedisHealth } from './redis-health.js';
import { nonNegative, positiveInteger } from './validate.js';

/** Options of `enqueueInputs`. */
export interface EnqueueOptions {
  /**
   * Inputs per job. A job costs the queue about 0.3 ms of CPU (Redis and BullMQ), so a few
   * hundred inputs per job make that small next to a 10 µs task; the worker runs and retries
   * each input on its own. `1` makes one job per input, retried by BullMQ. A queue keeps the
   * chunk size of its first enqueue: another one is refused (`ChunkMismatchError`).
   * @default 256
   * @example 1 // one job per input: for tasks of seconds, where a chunk would hold a machine long
   */
  readonly chunk?: number | undefined;
  /** Runs each input gets when its task throws, the first included. @default 3 */
  readonly attempts?: number | undefined;
  /** Milliseconds before an input's first retry; each next retry waits twice as long. @default 1000 */
  readonly backoff?: number | undefined;
  /**
   * Inputs added per Redis round trip (`addBulk`), rounded to whole jobs; the first job goes
   * alone, so machines already waiting start on it. @default 2048
   */
  readonly bulkSize?: number | undefined;
  /** Called after each round trip with the number of inputs read so far. */
  readonly onProgress?: ((read: number) => void) | undefined;
  /**
   * Stops reading inputs: the jobs in hand are still added, but the input count is not noted, so
   * `collectResults` with `follow` keeps waiting until the list is enqueued again (adding the rest).
   */
  readonly signal?: AbortSignal | undefined;
}

/** What `enqueueInputs` did. */
export interface EnqueueSummary {
  /** Inputs read. */
  readonly inputs: number;
  /** Jobs they make (one per chunk). */
  readonly jobs: number;
  /** Jobs added; fewer than `jobs` when some were already in the queue (enqueued before). */
  readonly added: number;
  /** False when `signal` stopped it before the end of the inputs. */
  readonly complete: boolean;
}

/** One input to enqueue — or its JSON text, for the worker to parse — or why its line could not be read. */
export type EnqueueItem =
  | { readonly index: number; readonly input: unknown }
  | { readonly index: number; readonly json: string }
  | { readonly index: number; readonly inputError: ErrorInfo };

export const DEFAULT_CHUNK = 256;
const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF = 1000;
const DEFAULT_BULK_SIZE = 2048;

/**
 * Add the inputs to the queue, `chunk` consecutive inputs per job, the input's 0-based position
 * being its index (job ids derive from the indexes). Inputs are pulled lazily, a round trip's worth
 * at a time, so a list of millions takes bounded memory. Adding the same list again adds
 * nothing: jobs whose id exists are skipped by BullMQ, whatever their state. Once all are added,
 * the queue notes the input and job counts for `collectResults`'s `follow`.
 */
export function enqueueInputs(
  target: QueueTarget,
  inputs: Iterable<unknown> | AsyncIterable<unknown>,
  options?: EnqueueOptions,
): Promise<EnqueueSummary> {
  return enqueueItems(target, indexed(inputs), options);
}

async function* indexed(
  inputs: Iterable<unknown> | AsyncIterable<unknown>,
): AsyncIterable<EnqueueItem> {
  let index = 0;
  for await (const input of inputs) yield { index: index++, input };
}

type BulkJob = Parameters<Queue['addBulk']>[0][number];

/** `enqueueInputs` for items that carry their own index and may be unreadable (the CLI's JSONL lines). */
export async function enqueueItems(
  target: QueueTarget,
  items: Iterable<EnqueueItem> | AsyncIterable<EnqueueItem>,
  options?: EnqueueOptions,
): Promise<EnqueueSummary> {
  const chunk = positiveInteger('chunk', options?.chunk, DEFAULT_CHUNK);
  const attempts = positiveInteger('attempts', options?.attempts, DEFAULT_ATTEMPTS);
  const backoff = nonNegative('backoff', options?.backoff, DEFAULT_BACKOFF);
  const bulkSize = positiveInteger('bulkSize', options?.bulkSize, DEFAULT_BULK_SIZE);
  const jobsPerBulk = Math.max(1, Math.round(bulkSize / chunk));
  const signal = options?.signal;
  const queue = openQueue(target);
  // Stopped, it adds the chunk in hand if Redis takes it soon; not if Redis is away.
  const health = new RedisHealth(target, { signal: options?.signal, stopWithinMs: 2000 });
  try {
    try {
      await whenConnected(queue, target, signal);
    } catch (error) {
      // Stopped before anything was added.
      if (signal?.aborted) return { inputs: 0, jobs: 0, added: 0, complete: false };
      throw error;
    }
    await health.watch(queue);
    const before = jobTotal(await queueCounts(queue));
    await claimChunkSize(queue, target.queue, chunk, before);
    const retried = { attempts, backoff: { type: 'exponential', delay: backoff } };
    let bulk: BulkJob[] = [];
    let read = 0;
    let jobs = 0;
    const flush = async () => {
      if (bulk.length === 0) return;
      await queue.addBulk(bulk);
      bulk = [];
      options?.onProgress?.(read);
    };
    for await (const group of chunksOf(items, chunk, signal)) {
      read += group.length;
      jobs++;
      bulk.push(chunk === 1 ? singleJob(group[0]!, retried) : chunkJob(group, attempts, backoff));
      // The first job goes alone: machines already waiting start on it while the rest is read.
      if (bulk.length >= jobsPerBulk || jobs === 1) await flush();
    }
    await flush();
    const complete = !signal?.aborted;
    // Jobs added before Redis lost its data are gone: noting the counts would hide that.
    if (complete) await assertNoJobLost(queue, read, jobs, chunk);
    // Jobs, not the last line number + 1: blank lines have no job (and no record).
    if (complete) await recordCounts(queue, read, jobs);
    const after = jobTotal(await queueCounts(queue));
    return { inputs: read, jobs, added: after - before, complete };
  } catch (error) {
    throw health.gaveUp ?? error;
  } finally {
    health.dispose();
    await closeWithin(queue, () => queue.close());
  }
}

/**
 * Every one of the `inputs` has a job once they are all added: fewer jobs mean some vanished
 * meanwhile (Redis restarted without its data).
 */
async function assertNoJobLost(
  queue: Queue,
  inputs: number,
  jobs: number,
  chunk: number,
): Promise<void> {
  const held = jobTotal(await queueCounts(queue));
  if (held < jobs) {
    throw new QueueStateLostError(
      `${held} jobs for ${inputs} inputs in ${jobs} jobs once all were added`,
      Math.min(inputs, (jobs - held) * chunk),
      inputs,
    );
  }
}

function singleJob(item: EnqueueItem, retried: object): BulkJob {
  const data: JobData = 'json' in item ? parsed(item) : item;
  // An unreadable input fails once and for all: retrying cannot fix the line.
  const opts = 'inputError' in item ? { attempts: 1 } : retried;
  return { name: JOB_NAME, data, opts: { jobId: jobIdOf(item.index), ...opts } };
}

/** A one-input job's data: its line parsed here (one-input jobs carry values, not text). */
function parsed(item: { readonly index: number; readonly json: string }): JobData {
  const line = parseJsonLine(item.index, item.json);
  return line.ok
    ? { index: item.index, input: line.value }
    : { index: item.index, inputError: errorInfo(line.error) };
}

function chunkJob(group: readonly EnqueueItem[], attempts: number, backoff: number): BulkJob {
  let inputErrors: Record<number, ErrorInfo> | undefined;
  const text = group.some((item) => 'json' in item);
  const inputs = group.map((item, offset) => {
    if ('json' in item) return item.json;
    if ('input' in item) return text ? JSON.stringify(item.input) : item.input;
    inputErrors ??= {};
    inputErrors[offset] = item.inputError;
    return null;
  });
  const indexes = group.map((item) => item.index);
  const data: ChunkData = {
    indexes,
    ...(text ? { json: inputs as (string | null)[] } : { inputs }),
    ...(inputErrors ? { inputErrors } : {}),
    attempts,
    backoff,
  };
  // Inputs are retried one by one on the worker; a chunk job fails only if its machines die
  // under it more than maxStalledCount times (BullMQ's stalled check needs no attempts for that).
  return {
    name: JOB_NAME,
    data,
    opts: { jobId: chunkIdOf(indexes[0]!, group.length), attempts: 1 },
  };
}

/**
 * Notes the chunk size on the queue's first enqueue, or refuses another one: the job ids would
 * not match the first enqueue's, and every input would be added (and run) again. A queue with
 * jobs and no size noted was enqueued one input per job (before chunks existed).
 */
async function claimChunkSize(
  queue: Queue,
  name: string,
  chunk: number,
  jobsBefore: number,
): Promise<void> {
  // ioredis has hsetnx; BullMQ's client type does not list it.
  const client = (await queue.client) as Awaited<Queue['client']> & {
    hsetnx(key: string, field: string, value: number): Promise<number>;
  };
  const key = queue.toKey(META_KEY_SUFFIX);
  await client.hsetnx(key, META_CHUNK_FIELD, jobsBefore > 0 ? 1 : chunk);
  const claimed = Number(await client.hget(key, META_CHUNK_FIELD));
  if (claimed !== chunk) throw new ChunkMismatchError(name, claimed, chunk);
}

/** Notes how many inputs and jobs the queue holds (the largest counts any enqueue has seen). */
async function recordCounts(queue: Queue, inputs: number, jobs: number): Promise<void> {
  const client = await queue.client;
  const key = queue.toKey(META_KEY_SUFFIX);
  const [knownInputs, knownJobs] = await client.hmget(key, META_TOTAL_FIELD, META_JOBS_FIELD);
  const update: Record<string, number> = {};
  // An empty list is noted too: 0 inputs is an answer, where no count means "not yet".
  if (knownInputs === null || inputs > Number(knownInputs)) update[META_TOTAL_FIELD] = inputs;
  if (knownJobs === null || jobs > Number(knownJobs)) update[META_JOBS_FIELD] = jobs;
  if (Object.keys(update).length > 0) await client.hset(key, update);
}

/** Reads the input count `enqueue` noted, or undefined while no enqueue has finished. */
export async function recordedInputCount(queue: Queue): Promise<number | undefined> {
  const client = await queue.client;
  const value = await client.hget(queue.toKey(META_KEY_SUFFIX), META_TOTAL_FIELD);
  return value === null ? undefined : Number(value);
}

/**
 * Reads the input and job counts `enqueue` noted, in one round trip; undefined while no enqueue
 * has finished.
 */
export async function recordedCounts(
  queue: Queue,
): Promise<{ inputs: number | undefined; jobs: number | undefined }> {
  const client = await queue.client;
  const [inputs, jobs] = await client.hmget(
    queue.toKey(META_KEY_SUFFIX),
    META_TOTAL_FIELD,
    META_JOBS_FIELD,
  );
  // Enqueued before chunks: one job per input.
  const jobCount = jobs ?? inputs;
  return {
    inputs: inputs === null ? undefined : Number(inputs),
    jobs: jobCount === null ? undefined : Number(jobCount),
  };
}
