/**
 * What the `enqueue`, `worker` and `collect` commands share: the options naming the queue, and
 * loading the BullMQ side only when one of them runs (BullMQ is an optional peer dependency).
 */
import { UsageError } from '../cli/usage-error.js';
import type { QueueTarget } from './connection.js';

export const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

/** `parseArgs` specs of the options every queue command takes. */
export const QUEUE_OPTIONS = {
  redis: { type: 'string' },
  queue: { type: 'string' },
  prefix: { type: 'string' },
} as const;

export const QUEUE_OPTIONS_HELP = `  --redis URL            the Redis server (default: $POLYLOOP_REDIS or ${DEFAULT_REDIS});
                         redis://[user:password@]host:port[/db], rediss:// for TLS
  --queue NAME           the BullMQ queue (required); one queue holds one input list
  --prefix PREFIX        BullMQ's key prefix (default: bull)`;

export function targetOf(values: {
  redis?: string | undefined;
  queue?: string | undefined;
  prefix?: string | undefined;
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
  return { redis, queue, prefix: values.prefix };
}

/** The `polyloop/bullmq` library, or a usage error saying to install BullMQ. */
export async function loadQueueLibrary(
  command: string,
): Promise<typeof import('./cli-library.js')> {
  try {
    return await import('./cli-library.js');
  } catch (error) {
    if (
      (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND' &&
      /bullmq/.test(String(error))
    ) {
      throw new UsageError(
        `polyloop ${command} needs the bullmq package next to polyloop: npm install bullmq`,
        { cause: error },
      );
    }
    throw error;
  }
}
