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
export type { CollectOptions, CollectProgress } from './collect.ts';
export { collectResults } from './collect.ts';
export type { QueueTarget } from './connection.ts';
export type { QueueCounts } from './counts.ts';
export type { EnqueueOptions, EnqueueSummary } from './enqueue.ts';
export { enqueueInputs } from './enqueue.ts';
export { MissingJobsError, RedisUnavailableError } from './errors.ts';
export type { ErrorInfo, QueueRecord } from './job-data.ts';
export type { QueueStatus } from './monitor.ts';
export { QueueMonitor } from './monitor.ts';
export type { QueueWorkerCounts, QueueWorkerOptions } from './queue-worker.ts';
export { QueueWorker, startQueueWorker } from './queue-worker.ts';
