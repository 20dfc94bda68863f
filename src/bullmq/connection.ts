import { type ConnectionOptions, Queue, type QueueBase } from 'bullmq';
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
}

const DEFAULT_CONNECT_TIMEOUT = 10_000;

export function connectionOf(target: QueueTarget): ConnectionOptions {
  return typeof target.redis === 'string' ? { url: target.redis } : target.redis;
}

/** How to name the Redis in messages, without its password. */
function describeRedis(target: QueueTarget): string {
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
export async function whenConnected(client: QueueBase, target: QueueTarget): Promise<void> {
  const timeoutMs = target.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  let lastError: unknown;
  const onError = (error: unknown) => {
    lastError = error;
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.waitUntilReady(),
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
    client.off('error', onError);
  }
}

/**
 * A Queue handle on the target. Its connection errors are left to `whenConnected` and to the
 * commands' own reports: without a listener, an 'error' event would throw.
 */
export function openQueue(target: QueueTarget): Queue {
  const queue = new Queue(target.queue, {
    connection: connectionOf(target),
    ...(target.prefix === undefined ? {} : { prefix: target.prefix }),
  });
  queue.on('error', () => {});
  return queue;
}
