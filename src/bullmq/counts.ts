import type { Queue } from 'bullmq';

/** How many of a queue's jobs are in each state that matters to polyloop. */
export interface QueueCounts {
  /** Waiting to be taken (BullMQ's waiting, prioritized and paused). */
  readonly waiting: number;
  /** Being run by a worker now. */
  readonly active: number;
  /** Waiting out a retry's backoff. */
  readonly delayed: number;
  /** Finished with a value. */
  readonly completed: number;
  /** Finished with an error, attempts used up. */
  readonly failed: number;
}

/** Every state a job can be in, so their sum is the queue's job count. */
const STATES = [
  'waiting',
  'prioritized',
  'paused',
  'waiting-children',
  'active',
  'delayed',
  'completed',
  'failed',
] as const;

/** One consistent snapshot (BullMQ counts in one Lua script, so no job is seen twice or missed). */
export async function queueCounts(queue: Queue): Promise<QueueCounts> {
  const counts = await queue.getJobCounts(...STATES);
  const of = (state: (typeof STATES)[number]) => counts[state] ?? 0;
  return {
    waiting: of('waiting') + of('prioritized') + of('paused') + of('waiting-children'),
    active: of('active'),
    delayed: of('delayed'),
    completed: of('completed'),
    failed: of('failed'),
  };
}

export function jobTotal(counts: QueueCounts): number {
  return counts.waiting + counts.active + counts.delayed + counts.completed + counts.failed;
}

/** Jobs that will still finish without anyone adding them again. */
export function pending(counts: QueueCounts): number {
  return counts.waiting + counts.active + counts.delayed;
}
