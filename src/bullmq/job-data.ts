/**
 * What polyloop keeps in BullMQ: the protocol shared by `enqueue`, `worker` and `collect`.
 * A job carries one input (`--chunk 1`) or a chunk of consecutive inputs; its id is derived from
 * the inputs' indexes, so adding the same input list twice adds nothing the second time (BullMQ
 * ignores a job whose id exists).
 */
import type { ErrorInfo } from '../records/format.js';

/** The name every polyloop job carries (BullMQ requires one; workers do not branch on it). */
export const JOB_NAME = 'polyloop';

/** A one-input job's data. */
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

/** A chunk job's data: consecutive inputs, each run and retried on its own by the worker. */
export interface ChunkData {
  /** Each input's index (line numbers: blank lines leave gaps). */
  readonly indexes: readonly number[];
  /** The inputs, by position (null where the line could not be read)... */
  readonly inputs?: readonly unknown[];
  /** ...or their JSON text, parsed by the worker (the CLI's lines: `enqueue` does not parse them). */
  readonly json?: readonly (string | null)[];
  /** Lines that could not be read, by position in the chunk. */
  readonly inputErrors?: Readonly<Record<number, ErrorInfo>>;
  /** Runs each input gets when its task fails (the enqueue's `attempts`). */
  readonly attempts: number;
  /** Milliseconds before an input's first retry, doubled for each next one. */
  readonly backoff: number;
}

/**
 * What a chunk job returns: one record per input as a JSONL line, as `polyloop run` writes them
 * — text, so `collect` copies it instead of parsing and writing every record again.
 */
export interface ChunkResult {
  readonly lines: string;
}

export type AnyJobData = JobData | ChunkData;

export function isChunk(data: AnyJobData): data is ChunkData {
  return Array.isArray((data as ChunkData).indexes);
}

// BullMQ refuses ids that are plain integers or contain ':', hence the prefixes.
const ID_PREFIX = 'input-';
const CHUNK_PREFIX = 'chunk-';

export function jobIdOf(index: number): string {
  return `${ID_PREFIX}${index}`;
}

/**
 * A chunk's id: its first index and its length. A list enqueued again with lines appended makes
 * a longer last chunk, a new job that overlaps the old one: inputs run twice, collected once —
 * where an id of the first index alone would skip the appended lines.
 */
export function chunkIdOf(first: number, length: number): string {
  return `${CHUNK_PREFIX}${first}-${length}`;
}

export function isChunkId(id: string): boolean {
  return id.startsWith(CHUNK_PREFIX);
}

/** The index a one-input job id stands for, or -1 if the id is not one. */
export function indexOfJobId(id: string): number {
  if (!id.startsWith(ID_PREFIX)) return -1;
  const index = Number(id.slice(ID_PREFIX.length));
  return Number.isSafeInteger(index) && index >= 0 ? index : -1;
}

/**
 * The hash where `enqueue` notes, once it has added every input, how many there are and in how
 * many jobs: `collect --follow` and `worker --until-done` wait for it, so they cannot finish
 * early while an enqueue is still under way. It also holds the chunk size, from the first
 * enqueue on, so a second enqueue with another one is refused. It lives under the queue's own
 * key prefix, so obliterating the queue removes it too.
 */
export const META_KEY_SUFFIX = 'polyloop';
export const META_TOTAL_FIELD = 'inputs';
export const META_JOBS_FIELD = 'jobs';
export const META_CHUNK_FIELD = 'chunk';
