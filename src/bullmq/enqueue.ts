import type { Queue } from 'bullmq';
import type { ErrorInfo } from '../records/format.js';
import { openQueue, type QueueTarget, whenConnected } from './connection.js';
import { jobTotal, queueCounts } from './counts.js';
import { QueueStateLostError } from './errors.js';
import { JOB_NAME, type JobData, jobIdOf, META_KEY_SUFFIX, META_TOTAL_FIELD } from './job-data.js';
import { chunkOf, closeWithin, inputsWithoutJob, RedisHealth } from './redis-health.js';
import { nonNegative, positiveInteger } from './validate.js';

/** Options of `enqueueInputs`. */
export interface EnqueueOptions {
  /** Runs each input gets when its task throws (BullMQ `attempts`), the first included. @default 3 */
  readonly attempts?: number | undefined;
  /** Milliseconds before the first retry; each next retry waits twice as long (BullMQ exponential backoff). @default 1000 */
  readonly backoff?: number | undefined;
  /** Jobs added per Redis round trip (`addBulk`). @default 1000 */
  readonly chunkSize?: number | undefined;
  /** Called after each chunk with the number of inputs read so far. */
  readonly onProgress?: ((read: number) => void) | undefined;
  /**
   * Stops reading inputs: the chunk in hand is still added, but the input count is not noted, so
   * `collectResults` with `follow` keeps waiting until the list is enqueued again (adding the rest).
   */
  readonly signal?: AbortSignal | undefined;
}

/** What `enqueueInputs` did. */
export interface EnqueueSummary {
  /** Inputs read. */
  readonly inputs: number;
  /** Jobs added; fewer than `inputs` when some were already in the queue (enqueued before). */
  readonly added: number;
  /** False when `signal` stopped it before the end of the inputs. */
  readonly complete: boolean;
}

/** One input to enqueue, or the reason its line could not be read. */
export type EnqueueItem =
  | { readonly index: number; readonly input: unknown }
  | { readonly index: number; readonly inputError: ErrorInfo };

const DEFAULT_ATTEMPTS = 3;
const DEFAULT_BACKOFF = 1000;
const DEFAULT_CHUNK_SIZE = 1000;

/**
 * Add one job per input to the queue, the input's 0-based position being its index (and its job
 * id). Inputs are pulled lazily, a chunk at a time, so a list of millions takes bounded memory.
 * Adding the same list again adds nothing: jobs whose id exists are skipped by BullMQ, whatever
 * their state. Once all are added, the queue notes the input count for `collectResults`'s
 * `follow`.
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

/** `enqueueInputs` for items that carry their own index and may be unreadable (the CLI's JSONL lines). */
export async function enqueueItems(
  target: QueueTarget,
  items: Iterable<EnqueueItem> | AsyncIterable<EnqueueItem>,
  options?: EnqueueOptions,
): Promise<EnqueueSummary> {
  const attempts = positiveInteger('attempts', options?.attempts, DEFAULT_ATTEMPTS);
  const backoff = nonNegative('backoff', options?.backoff, DEFAULT_BACKOFF);
  const chunkSize = positiveInteger('chunkSize', options?.chunkSize, DEFAULT_CHUNK_SIZE);
  const queue = openQueue(target);
  // Stopped, it adds the chunk in hand if Redis takes it soon; not if Redis is away.
  const health = new RedisHealth(target, { signal: options?.signal, stopWithinMs: 2000 });
  try {
    await whenConnected(queue, target);
    await health.watch(queue);
    const before = jobTotal(await queueCounts(queue));
    const retried = { attempts, backoff: { type: 'exponential', delay: backoff } };
    let chunk: Parameters<Queue['addBulk']>[0] = [];
    let read = 0;
    const flush = async () => {
      if (chunk.length === 0) return;
      await queue.addBulk(chunk);
      chunk = [];
      options?.onProgress?.(read);
    };
    let complete = true;
    for await (const item of items) {
      if (options?.signal?.aborted) {
        complete = false;
        break;
      }
      read++;
      const data: JobData = item;
      chunk.push({
        name: JOB_NAME,
        data,
        // An unreadable input fails once and for all: retrying cannot fix the line.
        opts: { jobId: jobIdOf(item.index), ...('inputError' in item ? { attempts: 1 } : retried) },
      });
      if (chunk.length >= chunkSize) await flush();
    }
    await flush();
    if (options?.signal?.aborted) complete = false;
    // Jobs added before Redis lost its data are gone: noting the count would hide that.
    if (complete) await assertNoJobLost(queue, read);
    // The number of jobs, not the last line number + 1: blank lines have no job (and no record).
    if (complete) await recordInputCount(queue, read);
    const after = jobTotal(await queueCounts(queue));
    return { inputs: read, added: after - before, complete };
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
async function assertNoJobLost(queue: Queue, inputs: number): Promise<void> {
  const chunk = await chunkOf(queue);
  const jobs = jobTotal(await queueCounts(queue));
  if (jobs < Math.ceil(inputs / chunk)) {
    throw new QueueStateLostError(
      `${jobs} jobs for ${inputs} inputs once all were added`,
      Math.max(inputsWithoutJob(inputs, jobs, chunk), 1),
      inputs,
    );
  }
}

/** Notes how many inputs the queue holds (the largest count any enqueue of it has seen). */
async function recordInputCount(queue: Queue, count: number): Promise<void> {
  const client = await queue.client;
  const key = queue.toKey(META_KEY_SUFFIX);
  const known = Number((await client.hget(key, META_TOTAL_FIELD)) ?? 0);
  if (count > known) await client.hset(key, { [META_TOTAL_FIELD]: count });
}

/** Reads the input count `enqueue` noted, or undefined while no enqueue has finished. */
export async function recordedInputCount(queue: Queue): Promise<number | undefined> {
  const client = await queue.client;
  const value = await client.hget(queue.toKey(META_KEY_SUFFIX), META_TOTAL_FIELD);
  return value === null ? undefined : Number(value);
}
