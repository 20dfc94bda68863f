/** What the queue commands use: the public library, plus the enqueue of parsed JSONL lines. */

export type { EnqueueItem } from './enqueue.ts';
export { enqueueItems } from './enqueue.ts';
export * from './index.ts';
