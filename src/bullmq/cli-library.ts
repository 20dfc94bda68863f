/** What the queue commands use: the public library, plus the enqueue of parsed JSONL lines. */

export type { EnqueueItem } from './enqueue.js';
export { enqueueItems } from './enqueue.js';
export * from './index.js';
