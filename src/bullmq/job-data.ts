/**
 * What polyloop keeps in BullMQ: the protocol shared by `enqueue`, `worker` and `collect`.
 * One job per input; its id is derived from the input's index, so adding the same input list
 * twice adds nothing the second time (BullMQ ignores a job whose id exists).
 */
import type { ErrorInfo } from '../records/format.js';

/** The name every polyloop job carries (BullMQ requires one; workers do not branch on it). */
export const JOB_NAME = 'polyloop';

/** A job's data. */
export interface JobData {
  /** The input's 0-based position in the input list (the line number of a JSONL file). */
  readonly index: number;
  /** The task's input (absent when `inputError` is set). */
  readonly input?: unknown;
  /** The input could not be read (a malformed JSONL line): the job fails at once, not retried. */
  readonly inputError?: ErrorInfo;
  /** Set by the worker on the job's last attempt: the error its record carries. */
  readonly error?: ErrorInfo;
  /** Set with `error` when the job took more than one attempt: how many. */
  readonly attempts?: number;
}

// BullMQ refuses ids that are plain integers or contain ':', hence the prefix.
const ID_PREFIX = 'input-';

export function jobIdOf(index: number): string {
  return `${ID_PREFIX}${index}`;
}

/** The index a polyloop job id stands for, or -1 if the id is not one of ours. */
export function indexOfJobId(id: string): number {
  if (!id.startsWith(ID_PREFIX)) return -1;
  const index = Number(id.slice(ID_PREFIX.length));
  return Number.isSafeInteger(index) && index >= 0 ? index : -1;
}

/**
 * The hash where `enqueue` notes, once it has added every input, how many there are: `collect
 * --follow` waits for it, so it cannot finish early while an enqueue is still under way.
 * It lives under the queue's own key prefix, so obliterating the queue removes it too.
 */
export const META_KEY_SUFFIX = 'polyloop';
export const META_TOTAL_FIELD = 'inputs';
