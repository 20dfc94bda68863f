/**
 * The JSONL record of one input, as `polyloop run` (and `polyloop collect`) write them:
 * `{"index": 3, "value": ...}` or `{"index": 3, "error": {"code": "...", "message": "..."}}`.
 */
import { codeInChain, messageWithCauses, PolyloopError, TaskError } from '../errors.js';

/** `{ code, message }`: how an error travels in a record, and in Redis (a job's data). */
export interface ErrorInfo {
  readonly code: string;
  readonly message: string;
}

/**
 * One input's record: public in polyloop/bullmq as `QueueRecord`. `attempts`: the runs its
 * outcome took, only when error retries made it more than one.
 */
export type OutputRecord = (
  | { readonly index: number; readonly value: unknown }
  | { readonly index: number; readonly error: ErrorInfo }
) & { readonly attempts?: number };

/** An output `JSON.stringify` refuses (a BigInt, a cycle) fails its input with this code. */
const OUTPUT_NOT_JSON = 'ERR_POLYLOOP_OUTPUT_NOT_JSON';

/** The error of an input whose output cannot be written as JSON, for `problem`. */
export function outputNotJson(problem: string): ErrorInfo {
  return { code: OUTPUT_NOT_JSON, message: `The output cannot be written as JSON: ${problem}` };
}

/**
 * The code and message a record shows for an error: a task's own error speaks for itself when it,
 * or an error on its cause chain, has a string `code` (`ECONNREFUSED` under `fetch failed`,
 * `ERR_CRAWL_TOO_LARGE`); otherwise polyloop's code says what happened (`ERR_POLYLOOP_TIMEOUT`,
 * `ERR_POLYLOOP_TASK_FAILED`...).
 */
export function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof TaskError) {
    return { code: codeInChain(error.cause) ?? error.code, message: error.message };
  }
  if (error instanceof PolyloopError) return { code: error.code, message: error.message };
  return {
    code: codeInChain(error) ?? 'ERR_POLYLOOP_TASK_FAILED',
    message: messageWithCauses(error),
  };
}

export function recordOf(index: number, ok: boolean, result: unknown, attempts = 1): OutputRecord {
  // `undefined` would drop the key: every value record has one.
  const record: OutputRecord = ok
    ? { index, value: result === undefined ? null : result }
    : { index, error: errorInfo(result) };
  return attempts > 1 ? { ...record, attempts } : record;
}

/**
 * One JSONL line (with its newline) for a settled input, and whether it is a value record. A value
 * JSON cannot hold (a BigInt, a cycle, a function) becomes an OUTPUT_NOT_JSON error record.
 */
export function recordLine(
  index: number,
  ok: boolean,
  result: unknown,
  attempts = 1,
): { line: string; ok: boolean } {
  // After error retries, the runs it took follow (a record without retries is unchanged).
  const tail = attempts > 1 ? `,"attempts":${attempts}}\n` : '}\n';
  if (!ok) {
    return {
      line: `${JSON.stringify({ index, error: errorInfo(result) }).slice(0, -1)}${tail}`,
      ok: false,
    };
  }
  let json: string | undefined;
  let problem = 'it has no JSON form';
  try {
    // `undefined` would drop the key: every value record has one.
    json = JSON.stringify(result === undefined ? null : result);
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  if (json !== undefined) return { line: `{"index":${index},"value":${json}${tail}`, ok: true };
  const error = JSON.stringify({ index, error: outputNotJson(problem) }).slice(0, -1);
  return { line: `${error}${tail}`, ok: false };
}
