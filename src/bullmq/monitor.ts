import type { Queue } from 'bullmq';
import { openQueue, type QueueTarget, whenConnected } from './connection.js';
import { pending, type QueueCounts, queueCounts } from './counts.js';
import { recordedInputCount, recordedJobCount } from './enqueue.js';
import { type MachineShare, readMachineShares } from './machine-tally.js';

/** A queue's state as polyloop sees it. */
export interface QueueStatus extends QueueCounts {
  /** Inputs enqueued, once an enqueue has finished (undefined before). */
  readonly inputs: number | undefined;
  /** Every enqueued input's job has finished (completed or failed), and nothing is left to run. */
  readonly finished: boolean;
  /** Each machine's inputs finished, as its worker last reported them (once a second). */
  readonly machines: readonly MachineShare[];
}

/** Reads a queue's totals over one connection, as often as asked (for progress displays). */
export class QueueMonitor {
  readonly #queue: Queue;

  private constructor(queue: Queue) {
    this.#queue = queue;
  }

  static async open(target: QueueTarget): Promise<QueueMonitor> {
    const queue = openQueue(target);
    try {
      await whenConnected(queue, target);
    } catch (error) {
      await queue.close();
      throw error;
    }
    return new QueueMonitor(queue);
  }

  async status(): Promise<QueueStatus> {
    // The input count first: once it is noted every job exists, so the counts cover them all.
    const inputs = await recordedInputCount(this.#queue);
    const jobs = await recordedJobCount(this.#queue);
    const counts = await queueCounts(this.#queue);
    const finished =
      jobs !== undefined && pending(counts) === 0 && counts.completed + counts.failed >= jobs;
    return { ...counts, inputs, finished, machines: await readMachineShares(this.#queue) };
  }

  close(): Promise<void> {
    return this.#queue.close();
  }
}
