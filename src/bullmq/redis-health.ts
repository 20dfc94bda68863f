/**
 * Redis going away, as the queue commands handle it: how long it may stay away (`RedisHealth`),
 * and whether it came back without the queue's data (`QueueStateTracker`).
 *
 * ioredis reconnects forever and, with BullMQ's `maxRetriesPerRequest: null` (which polyloop sets
 * on every connection it makes, see `connectionOf`), keeps every command waiting meanwhile: a
 * command never fails on its own, and neither BullMQ's `close()` (a QUIT, queued like the rest)
 * nor ioredis's `disconnect()` (which, between two reconnection attempts, settles nothing) ends the
 * wait. Giving up therefore means: disconnect, then reject every queued command with the reason.
 *
 * A frozen Redis (stopped, or too busy to answer) keeps its connections open, so ioredis sees no
 * outage: a PING every PING_EVERY_MS on each command connection tells. One unanswered for
 * SILENT_MS (or for `redisDownTimeout`, if shorter) counts as Redis away since it was sent.
 */
import type { QueueBase } from 'bullmq';
import { describeRedis, type QueueTarget } from './connection.js';
import type { QueueCounts } from './counts.js';
import { jobTotal } from './counts.js';
import { QueueStateLostError, RedisDownError } from './errors.js';
import { META_CHUNK_FIELD, META_KEY_SUFFIX } from './job-data.js';
import { nonNegative } from './validate.js';

/** How long Redis may stay unreachable before a command gives up, unless the target says. */
export const DEFAULT_REDIS_DOWN_TIMEOUT = 60_000;
/** How long closing a connection may take before it is cut (a close waits on a live Redis). */
const CLOSE_WITHIN_MS = 2000;
/** How often a command connection that seems up is asked for a PING. */
const PING_EVERY_MS = 1000;
/** A PING unanswered this long means Redis is not answering (frozen, or stuck on a command). */
const SILENT_MS = 5000;
/** The META field the chunked enqueue notes: inputs per job (1 when absent). */

/** The part of an ioredis client this module uses. */
interface RedisClient {
  readonly status: string;
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
  disconnect(): void;
  ping(): Promise<unknown>;
  flushQueue?(error: Error): void;
  /** The socket: ioredis's disconnect only ends it, which a frozen server never acknowledges. */
  readonly stream?: { destroy(): void } | undefined;
}

export interface RedisHealthOptions {
  /** Asked to stop: while Redis is away (or as soon as it goes away), give up at once. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Called when the connection is lost (with the time it was, epoch ms) and when it is back
   * (with undefined); while it is lost, again every `tickMs`.
   */
  readonly onChange?: ((downSince: number | undefined) => void) | undefined;
  readonly tickMs?: number | undefined;
  /**
   * Once stopping, give up after this long even if Redis seems up (it may be frozen, its
   * connections open but silent): for commands whose stop should not wait on Redis at all.
   */
  readonly stopWithinMs?: number | undefined;
  /** Called once on giving up, after the watched connections were cut. */
  readonly onGiveUp?: ((error: RedisDownError) => void) | undefined;
}

/**
 * Watches the connections of a command. When they are lost, the command waits for Redis (ioredis
 * reconnects); after `target.redisDownTimeout`, or at once if the command is stopping, it gives
 * up: the connections are cut and every command waiting on them rejects with `RedisDownError`.
 */
export class RedisHealth {
  readonly #target: QueueTarget;
  readonly #timeoutMs: number;
  readonly #options: RedisHealthOptions;
  readonly #clients: RedisClient[] = [];
  /** The connections asked for PINGs: not a worker's blocking one (its PING waits its turn). */
  readonly #pinged: RedisClient[] = [];
  /** When the PING in flight was sent (performance.now()), if one is. */
  #pingSentAt: number | undefined;
  /** Away because a PING went unanswered, not because a connection was lost. */
  #silent = false;
  #pinger: NodeJS.Timeout | undefined;
  readonly #detach: (() => void)[] = [];
  #downSince: number | undefined;
  #gaveUp: RedisDownError | undefined;
  #stopping = false;
  #disposed = false;
  #timer: NodeJS.Timeout | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #stopTimer: NodeJS.Timeout | undefined;

  constructor(target: QueueTarget, options: RedisHealthOptions = {}) {
    this.#target = target;
    this.#timeoutMs = nonNegative(
      'redisDownTimeout',
      target.redisDownTimeout,
      DEFAULT_REDIS_DOWN_TIMEOUT,
    );
    this.#options = options;
    const { signal } = options;
    if (signal) {
      const onAbort = () => this.stop();
      if (signal.aborted) this.stop();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        this.#detach.push(() => signal.removeEventListener('abort', onAbort));
      }
    }
  }

  /** When the connection was lost (epoch ms), or undefined while it is up. */
  get downSince(): number | undefined {
    return this.#downSince;
  }

  /** Set once it gave up. */
  get gaveUp(): RedisDownError | undefined {
    return this.#gaveUp;
  }

  /** Watches a BullMQ queue's or worker's connections (call it once connected). */
  async watch(base: QueueBase): Promise<void> {
    const clients = await clientsOf(base);
    if (clients[0]) this.#pinged.push(clients[0]);
    this.#pinger ??= setInterval(() => this.#ping(), PING_EVERY_MS).unref();
    for (const client of clients) {
      this.#clients.push(client);
      // 'reconnecting', not 'close': closing a connection on purpose (BullMQ's close) emits
      // 'close' too, but reconnects nothing.
      const onLost = () => this.#lost();
      const onReady = () => this.#back();
      client.on('reconnecting', onLost);
      client.on('ready', onReady);
      this.#detach.push(() => {
        client.off('reconnecting', onLost);
        client.off('ready', onReady);
      });
      if (client.status === 'reconnecting') this.#lost();
    }
    if (this.#gaveUp) cut(this.#clients, this.#gaveUp);
  }

  /** The command is stopping: if Redis is away, or goes away before it has stopped, give up now. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#downSince !== undefined) this.#giveUp('stopped');
    else if (this.#options.stopWithinMs !== undefined) {
      this.#stopTimer = setTimeout(() => this.#giveUp('stopped'), this.#options.stopWithinMs);
    }
  }

  /** Stops watching (before closing the connections, whose close is no outage). */
  dispose(): void {
    this.#disposed = true;
    clearInterval(this.#pinger);
    this.#clearTimers();
    clearTimeout(this.#stopTimer);
    for (const detach of this.#detach.splice(0)) detach();
  }

  /** One PING at a time, while Redis seems up; an unanswered one past the limit means away. */
  #ping(): void {
    if (this.#disposed || this.#gaveUp) return;
    const sentAt = this.#pingSentAt;
    if (sentAt !== undefined) {
      const silentFor = performance.now() - sentAt;
      if (!this.#silent && this.#downSince === undefined && silentFor >= this.#silentLimit()) {
        this.#silent = true;
        this.#lost(Date.now() - silentFor);
      }
      return;
    }
    if (this.#downSince !== undefined || this.#pinged.length === 0) return;
    this.#pingSentAt = performance.now();
    // Answered, or failed (cut, or reconnecting: the connection events tell the rest).
    const ended = () => this.#pingEnded();
    Promise.all(this.#pinged.map((client) => client.ping())).then(ended, ended);
  }

  #pingEnded(): void {
    this.#pingSentAt = undefined;
    if (!this.#silent) return;
    this.#silent = false;
    this.#back();
  }

  #silentLimit(): number {
    return Math.min(SILENT_MS, this.#timeoutMs);
  }

  #lost(since = Date.now()): void {
    if (this.#disposed || this.#gaveUp || this.#downSince !== undefined) return;
    this.#downSince = since;
    this.#options.onChange?.(this.#downSince);
    if (this.#stopping) {
      this.#giveUp('stopped');
      return;
    }
    const waited = Date.now() - since;
    this.#timer = setTimeout(() => this.#giveUp('timeout'), Math.max(0, this.#timeoutMs - waited));
    const { tickMs } = this.#options;
    if (tickMs !== undefined) {
      this.#ticker = setInterval(() => this.#options.onChange?.(this.#downSince), tickMs);
    }
  }

  #back(): void {
    if (this.#disposed || this.#gaveUp || this.#downSince === undefined) return;
    // Every watched connection must be back, and answering.
    if (this.#silent || this.#clients.some((client) => client.status !== 'ready')) return;
    this.#clearTimers();
    this.#downSince = undefined;
    this.#options.onChange?.(undefined);
  }

  #giveUp(reason: 'timeout' | 'stopped'): void {
    if (this.#gaveUp || this.#disposed) return;
    this.#clearTimers();
    clearTimeout(this.#stopTimer);
    this.#gaveUp = new RedisDownError(
      describeRedis(this.#target),
      this.#downSince ?? Date.now(),
      reason,
      this.#timeoutMs,
    );
    cut(this.#clients, this.#gaveUp);
    this.#options.onGiveUp?.(this.#gaveUp);
  }

  #clearTimers(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#ticker);
    this.#timer = undefined;
    this.#ticker = undefined;
  }
}

/** The ioredis clients of a queue or worker (a worker has a second one, for blocking reads). */
async function clientsOf(base: QueueBase): Promise<RedisClient[]> {
  const clients = [(await base.client) as unknown as RedisClient];
  const blocking = (base as unknown as { blockingConnection?: { client: Promise<unknown> } })
    .blockingConnection;
  if (blocking) clients.push((await blocking.client) as RedisClient);
  return clients;
}

/**
 * Disconnects, then rejects whatever waits on the connections (ioredis would keep it waiting),
 * and destroys the sockets (a server that is frozen, not gone, would keep them half-open).
 */
function cut(clients: readonly RedisClient[], error: Error): void {
  for (const client of clients) {
    try {
      client.disconnect();
      client.flushQueue?.(error);
      client.stream?.destroy();
    } catch {}
  }
}

/**
 * Closes a queue or worker's connections, cutting them if they do not close within a bound:
 * BullMQ's close sends a QUIT, which waits for a Redis that may be gone.
 */
export async function closeWithin(
  base: QueueBase,
  close: () => Promise<void>,
  ms = CLOSE_WITHIN_MS,
): Promise<void> {
  const closing = close().catch(() => {});
  if (await settlesWithin(closing, ms)) return;
  cut(await clientsOf(base), new Error('Connection closed by polyloop'));
  await settlesWithin(closing, ms);
}

/** Whether the promise settled within `ms` (it is left running otherwise). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Inputs per job noted by enqueue (1 unless the list was enqueued in chunks). */
export async function chunkOf(queue: QueueBase): Promise<number> {
  const client = (await queue.client) as unknown as {
    hget(key: string, field: string): Promise<string | null>;
  };
  const value = Number(await client.hget(queue.toKey(META_KEY_SUFFIX), META_CHUNK_FIELD));
  return Number.isSafeInteger(value) && value > 1 ? value : 1;
}

/** How many of `inputs` have no job when the queue holds `jobs` jobs of `chunk` inputs each. */
export function inputsWithoutJob(inputs: number, jobs: number, chunk: number): number {
  return Math.max(0, inputs - jobs * chunk);
}

/**
 * Tells, from successive looks at a queue, whether it lost state it had: the input count noted
 * by enqueue vanished after it had been seen, or the queue's job total dropped (polyloop never
 * removes a job; Redis restarting without its data, or an older snapshot, does).
 */
export class QueueStateTracker {
  #inputs: number | undefined;
  #jobs = 0;
  #chunk = 1;

  /** The largest input count seen. */
  get inputs(): number | undefined {
    return this.#inputs;
  }

  /** Notes one look (the input count first, then the counts); returns the loss it shows, if any. */
  observe(
    inputs: number | undefined,
    counts: QueueCounts,
    chunk = this.#chunk,
  ): QueueStateLostError | undefined {
    const jobs = jobTotal(counts);
    this.#chunk = Math.max(this.#chunk, chunk);
    const known = this.#inputs;
    if (known !== undefined && inputs === undefined) {
      return new QueueStateLostError(
        'the input count noted by enqueue is gone',
        inputsWithoutJob(known, jobs, this.#chunk),
        known,
      );
    }
    if (jobs < this.#jobs) {
      const total = inputs ?? known;
      const missing =
        total === undefined
          ? (this.#jobs - jobs) * this.#chunk
          : Math.max(inputsWithoutJob(total, jobs, this.#chunk), (this.#jobs - jobs) * this.#chunk);
      return new QueueStateLostError(
        `it held ${this.#jobs} jobs, now ${jobs}`,
        total === undefined ? missing : Math.min(missing, total),
        total,
      );
    }
    if (inputs !== undefined) this.#inputs = Math.max(known ?? 0, inputs);
    this.#jobs = Math.max(this.#jobs, jobs);
    return undefined;
  }
}
