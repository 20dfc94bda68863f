/** The options naming the queue, which the `enqueue`, `worker` and `collect` commands share. */
import type { QueueTarget } from '../../bullmq/connection.js';
import { integerOption } from '../args.js';
import { UsageError } from '../usage-error.js';

const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

/** `parseArgs` specs of the options every queue command takes. */
export const QUEUE_OPTIONS = {
  redis: { type: 'string' },
  queue: { type: 'string' },
  prefix: { type: 'string' },
  'redis-down-timeout': { type: 'string' },
} as const;

export const QUEUE_OPTIONS_HELP = `  --redis URL            the Redis server (default: $POLYLOOP_REDIS or ${DEFAULT_REDIS});
                         redis://[user:password@]host:port[/db], rediss:// for TLS
  --queue NAME           the BullMQ queue (required); one queue holds one input list
  --prefix PREFIX        BullMQ's key prefix (default: bull)
  --redis-down-timeout MS
                         how long Redis may stay unreachable mid-run before the command gives
                         up with exit code 3 (default: 60000); meanwhile it waits and reconnects`;

export function targetOf(values: {
  redis?: string | undefined;
  queue?: string | undefined;
  prefix?: string | undefined;
  'redis-down-timeout'?: string | undefined;
}): QueueTarget {
  const redis = values.redis ?? process.env.POLYLOOP_REDIS ?? DEFAULT_REDIS;
  let url: URL;
  try {
    url = new URL(redis);
  } catch {
    throw new UsageError(`Expected --redis to be a URL like ${DEFAULT_REDIS}, got "${redis}"`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(`Expected --redis to be a redis:// or rediss:// URL, got "${redis}"`);
  }
  const queue = values.queue;
  if (queue === undefined || queue === '') throw new UsageError('Missing --queue NAME');
  // BullMQ builds Redis keys as prefix:queue:...; a colon would break them.
  if (queue.includes(':')) throw new UsageError(`A queue name cannot contain ":", got "${queue}"`);
  if (values.prefix === '') throw new UsageError('--prefix cannot be empty');
  const redisDownTimeout = integerOption('redis-down-timeout', values['redis-down-timeout'], {
    min: 0,
  });
  return { redis, queue, prefix: values.prefix, redisDownTimeout };
}
