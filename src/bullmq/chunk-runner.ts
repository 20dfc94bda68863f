/**
 * Runs a chunk job's inputs on the machine's pool: all at once through one stream, each input
 * retried on its own after a failure (its neighbours are not run again), one record per input.
 * The job completes when every input has settled, its return value holding the records.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type RetryOptions, retryDelayAfter } from '../core/retry-policy.js';
import { AbortError, TaskModuleError } from '../errors.js';
import type { Pool } from '../pool.js';
import { recordLine } from '../records/format.js';
import { parseJsonLine } from '../records/json-line.js';
import type { TaskModule } from '../types.js';
import type { ChunkData } from './job-data.js';

/** A chunk's records as JSONL, how many are values, and how many retries its inputs took. */
export interface ChunkOutcome {
  /** One line per input (newline-ended), as `polyloop run` writes them: `collect` copies them. */
  readonly lines: string;
  readonly ok: number;
  readonly retried: number;
}

/**
 * Every input's record. Throws only when the chunk cannot finish here: `signal` aborted (the lock
 * was lost, or the worker is being destroyed) or the pool broke (`TaskModuleError`): the caller
 * hands the job back.
 */
export async function runChunk<M extends TaskModule>(
  pool: Pool<M>,
  data: ChunkData,
  ownRetry: RetryOptions | undefined,
  signal: AbortSignal | undefined,
): Promise<ChunkOutcome> {
  const { indexes } = data;
  const inputs: unknown[] = data.inputs ? [...data.inputs] : new Array(indexes.length);
  const lines = new Array<string>(indexes.length);
  let ok = 0;
  const settle = (offset: number, succeeded: boolean, result: unknown, attempt: number) => {
    // A value JSON cannot hold (a BigInt, a cycle) becomes that input's error record.
    const record = recordLine(indexes[offset]!, succeeded, result, attempt);
    lines[offset] = record.line;
    if (record.ok) ok++;
  };
  // The job's own attempts and backoff, unless this worker decides retries itself.
  const retry = ownRetry ?? {
    retryErrors: data.attempts - 1,
    retryDelay: data.backoff,
    shouldRetry: undefined,
  };
  const runnable: number[] = [];
  for (let offset = 0; offset < indexes.length; offset++) {
    const index = indexes[offset]!;
    const inputError = data.inputErrors?.[offset];
    if (inputError) {
      lines[offset] = `${JSON.stringify({ index, error: inputError })}\n`;
      continue;
    }
    const json = data.json?.[offset];
    if (typeof json === 'string') {
      // The line's text as enqueued: not JSON is that input's record, as in `polyloop run`.
      const line = parseJsonLine(index, json);
      if (!line.ok) {
        settle(offset, false, line.error, 1);
        continue;
      }
      inputs[offset] = line.value;
    }
    runnable.push(offset);
  }
  const retries: Promise<void>[] = [];
  /** Records a failed attempt, or starts the input's next one. */
  const failed = (offset: number, error: unknown, attempt: number) => {
    if (error instanceof TaskModuleError) throw error;
    if (signal?.aborted) throw signal.reason ?? new AbortError();
    const delay = retryDelayAfter(retry, error, attempt);
    if (delay < 0) {
      settle(offset, false, error, attempt);
      return;
    }
    const retrying = retryInput(offset, attempt + 1, delay);
    // Awaited after the stream; until then a rejection must not count as unhandled.
    retrying.catch(() => {});
    retries.push(retrying);
  };
  const retryInput = async (offset: number, attempt: number, delay: number): Promise<void> => {
    await sleep(delay, undefined, { signal });
    try {
      const value = await pool.run(inputs[offset] as never, { signal });
      settle(offset, true, value, attempt);
    } catch (error) {
      failed(offset, error, attempt);
    }
  };
  const stream = pool.stream(
    runnable.map((offset) => inputs[offset] as never),
    { signal },
  );
  for await (const result of stream) {
    const offset = runnable[result.index]!;
    if (result.ok) settle(offset, true, result.value, 1);
    else failed(offset, result.error, 1);
  }
  // A retry's failure may start another retry: wait until none is left.
  for (let done = 0; done < retries.length; done++) await retries[done];
  if (signal?.aborted) throw signal.reason ?? new AbortError();
  return { lines: lines.join(''), ok, retried: retries.length };
}
