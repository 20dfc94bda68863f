import type { ConnectionOptions, QueueBase, Queue as QueueType, RedisOptions } from 'bullmq';
import { Queue } from './bullmq-runtime.js';
import { RedisUnavailableError } from './errors.js';

/** Which queue, on which Redis: what every queue command needs. */
export interface QueueTarget {
  /** A Redis URL (`redis://host:6379/0`, `rediss://...` for TLS) or ioredis/BullMQ connection options. */
  readonly redis: string | ConnectionOptions;
  /** The BullMQ queue name (no `:`). One queue holds one input list. */
  readonly queue: string;
  /** BullMQ's key prefix. @default 'bull' */
  readonly prefix?: string | undefined;
  /** How long to wait for Redis to answer at start before failing with `RedisUnavailableError`. @default 10000 */
  readonly connectTimeout?: number | undefined;
  /**
   * How long Redis may stay unreachable once connected before the command gives up with
   * `RedisDownError` (a worker then stops: its jobs in hand come back when their locks expire).
   * Meanwhile it waits and reconnects; a restarted Redis that kept its data loses nothing.
   * @default 60000
   */
  readonly redisDownTimeout?: number | undefined;
}

const DEFAULT_CONNECT_TIMEOUT = 10_000;
/** The longest wait between two reconnection attempts (BullMQ's default grows to 20 s). */
const MAX_RECONNECT_DELAY = 1000;

/**
 * The connection options BullMQ gets. Unless given otherwise: commands wait for a lost connection
 * to come back instead of failing after 20 reconnection attempts (ioredis's `maxRetriesPerRequest`,
 * which made a command fail minutes into an outage with a stack trace) — the commands' own
 * `redisDownTimeout` decides when to give up — and reconnection is tried every second at most,
 * so a restarted Redis is found again within a second rather than BullMQ's 20.
 */
export function connectionOf(target: QueueTarget): ConnectionOptions {
  const given = typeof target.redis === 'string' ? { url: target.redis } : target.redis;
  // An ioredis instance (or cluster) is the caller's: used as it is.
  if (['connect', 'disconnect', 'duplicate'].some((name) => name in given)) return given;
  const defaults: RedisOptions = {
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 10), MAX_RECONNECT_DELAY),
  };
  return { ...defaults, ...(given as RedisOptions) };
}

/** How to name the Redis in messages, without its password. */
export function describeRedis(target: QueueTarget): string {
  if (typeof target.redis !== 'string') return 'the given Redis connection';
  try {
    const url = new URL(target.redis);
    url.password = '';
    url.username = '';
    return url.href;
  } catch {
    return 'the given Redis URL';
  }
}

/**
 * Resolves once the queue's Redis connection is up. ioredis retries forever by default, so a
 * wrong URL would otherwise hang a command with no word; this names the problem instead.
 */
export async function whenConnected(
  client: QueueBase,
  target: QueueTarget,
  signal?: AbortSignal,
): Promise<void> {
  const timeoutMs = target.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  let lastError: unknown;
  const onError = (error: unknown) => {
    lastError = error;
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      client.waitUntilReady(),
      // Stopped while waiting: rejects at once, with the signal's reason.
      new Promise((_, reject) => {
        onAbort = () => reject(signal?.reason);
        if (signal?.aborted) onAbort();
        else signal?.addEventListener('abort', onAbort, { once: true });
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new RedisUnavailableError(describeRedis(target), timeoutMs, {
                cause: lastError,
              }),
            ),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    client.off('error', onError);
  }
}

/**
 * A Queue handle on the target. Its connection errors are left to `whenConnected` and to the
 * commands' own reports: without a listener, an 'error' event would throw.
 */
export function openQueue(target: QueueTarget): QueueType {
  const queue = new Queue(target.queue, {
    connection: connectionOf(target),
    ...(target.prefix === undefined ? {} : { prefix: target.prefix }),
  });
  queue.on('error', () => {});
  return queue;
}
