/**
 * One JSONL input line made an input, or the error its record carries — the same for
 * `polyloop run` (which parses as it reads) and a queue worker (which parses the lines a chunk
 * job carries as text: `enqueue` never parses them).
 */
import { PolyloopError } from '../errors.js';

/** A line that is not valid JSON, or not UTF-8: that input fails with this error, the run goes on. */
export class InvalidInputError extends PolyloopError {
  readonly line: number;
  /** `problem` completes "Line 3 ...": "is not valid JSON: ...". */
  constructor(index: number, problem: string, options?: ErrorOptions) {
    super('ERR_POLYLOOP_INVALID_INPUT', `Line ${index + 1} ${problem}`, options);
    this.line = index + 1;
  }
}

export type ParsedInput =
  | { readonly index: number; readonly ok: true; readonly value: unknown }
  | { readonly index: number; readonly ok: false; readonly error: InvalidInputError };

/** The input on line `index` (0-based), or why it is none. */
export function parseJsonLine(index: number, text: string): ParsedInput {
  try {
    return { index, ok: true, value: JSON.parse(text) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const problem = `is not valid JSON: ${message}`;
    return { index, ok: false, error: new InvalidInputError(index, problem, { cause: error }) };
  }
}
