/**
 * `polyloop/bullmq`: spread one input list over several machines through a BullMQ queue on
 * Redis, each machine running its share on a polyloop pool (all cores, many tasks per core).
 *
 * - `enqueueInputs(target, inputs)` adds one job per input, with a stable id per input index;
 * - `startQueueWorker(taskModule, target, options)` consumes the jobs on this machine's cores;
 * - `collectResults(target, { follow })` yields one record per input: `{ index, value }` or
 *   `{ index, error: { code, message } }`.
 *
 * Requires the optional peer dependency `bullmq`.
 */

// The records `polyloop run` writes: one format for both, named for the queue here.
export type { ErrorInfo, OutputRecord as QueueRecord } from '../records/format.js';
export type { CollectedLine, CollectOptions, CollectProgress } from './collect.js';
export { collectLines, collectResults } from './collect.js';
export type { QueueTarget } from './connection.js';
export type { QueueCounts } from './counts.js';
export type { EnqueueOptions, EnqueueSummary } from './enqueue.js';
export { enqueueInputs } from './enqueue.js';
export {
  ChunkMismatchError,
  MissingJobsError,
  QueueStateLostError,
  RedisDownError,
  RedisUnavailableError,
} from './errors.js';
export type { MachineShare } from './machine-tally.js';
export type { QueueMonitorOptions, QueueStatus } from './monitor.js';
export { QueueMonitor } from './monitor.js';
export type { QueueWorkerCounts, QueueWorkerOptions } from './queue-worker.js';
export { QueueWorker, startQueueWorker } from './queue-worker.js';
