import type { Queue } from 'bullmq';
import { openQueue, type QueueTarget, whenConnected } from './connection.js';
import { pending, type QueueCounts, queueCounts } from './counts.js';
import { recordedCounts } from './enqueue.js';
import { type MachineShare, readMachineShares } from './machine-tally.js';
import { chunkOf, closeWithin, QueueStateTracker, RedisHealth } from './redis-health.js';

/** A queue's state as polyloop sees it. */
export interface QueueStatus extends QueueCounts {
  /** Inputs enqueued, once an enqueue has finished (undefined before). */
  readonly inputs: number | undefined;
  /** The jobs they make (one per chunk), once an enqueue has finished. */
  readonly jobs: number | undefined;
  /** Every enqueued input's job has finished (completed or failed), and nothing is left to run. */
  readonly finished: boolean;
  /** Each machine's inputs finished, as its worker last reported them (once a second). */
  readonly machines: readonly MachineShare[];
}

/** Options of `QueueMonitor.open`. */
export interface QueueMonitorOptions {
  /** Stopping: a `status()` waiting for a Redis that is away rejects at once. */
  readonly signal?: AbortSignal | undefined;
  /** Called when Redis becomes unreachable (with since when, epoch ms) and when it is back (undefined). */
  readonly onRedisChange?: ((downSince: number | undefined) => void) | undefined;
}

/**
 * Reads a queue's totals over one connection, as often as asked (for progress displays). While
 * Redis is away, `status()` waits for it, up to `target.redisDownTimeout` (then rejects with
 * `RedisDownError`); it rejects with `QueueStateLostError` once the queue has lost state an
 * earlier `status()` saw (Redis came back without its data).
 */
export class QueueMonitor {
  readonly #queue: Queue;
  readonly #health: RedisHealth;
  readonly #tracker = new QueueStateTracker();

  private constructor(queue: Queue, health: RedisHealth) {
    this.#queue = queue;
    this.#health = health;
  }

  static async open(target: QueueTarget, options: QueueMonitorOptions = {}): Promise<QueueMonitor> {
    const queue = openQueue(target);
    const health = new RedisHealth(target, {
      signal: options.signal,
      onChange: options.onRedisChange,
    });
    try {
      await whenConnected(queue, target);
      await health.watch(queue);
    } catch (error) {
      health.dispose();
      await closeWithin(queue, () => queue.close());
      throw error;
    }
    return new QueueMonitor(queue, health);
  }

  async status(): Promise<QueueStatus> {
    try {
      // The input count first: once it is noted every job exists, so the counts cover them all.
      const { inputs, jobs } = await recordedCounts(this.#queue);
      const counts = await queueCounts(this.#queue);
      const lost = this.#tracker.observe(inputs, counts, await chunkOf(this.#queue));
      if (lost) throw lost;
      const finished =
        jobs !== undefined && pending(counts) === 0 && counts.completed + counts.failed >= jobs;
      const machines = await readMachineShares(this.#queue);
      return { ...counts, inputs, jobs, finished, machines };
    } catch (error) {
      throw this.#health.gaveUp ?? error;
    }
  }

  /** Since when (epoch ms) Redis has been unreachable, or undefined while it answers. */
  get redisDownSince(): number | undefined {
    return this.#health.downSince;
  }

  /** Closes the connection (at once if Redis is away: a `status()` waiting on it rejects). */
  close(): Promise<void> {
    this.#health.stop();
    this.#health.dispose();
    return closeWithin(this.#queue, () => this.#queue.close());
  }
}
