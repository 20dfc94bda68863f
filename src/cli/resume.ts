/**
 * `--resume`: read what an earlier run (killed, interrupted, crashed) already wrote, so this run
 * processes only the inputs without a record. A torn last line — the write the kill cut short —
 * is cut off the file first, so the output ends with exactly one whole record per input. And
 * check that those records are of this run's input (see input-fingerprint.ts).
 */
import { createReadStream } from 'node:fs';
import { stat, truncate } from 'node:fs/promises';
import { IndexSet, MAX_INDEX } from '../records/index-set.js';
import { fingerprintPath } from './fingerprint-file.js';
import type { Fingerprint, InputFingerprint } from './input-fingerprint.js';
import { UsageError } from './usage-error.js';

/** How a run keeps and checks the fingerprint of its input beside its output file. */
export interface InputCheck {
  readonly output: string;
  /** The output has records already (--resume): they must be of this input. */
  readonly resuming: boolean;
  /** --force: resume even so, with a warning. */
  readonly force: boolean;
  /** A warning for stderr (not printed with --quiet). */
  readonly warn: (message: string) => void;
}

/**
 * Refuses (exit code 2) to resume an output whose records are of another input, unless --force.
 * An output without a fingerprint, from a polyloop that kept none, is resumed with a warning:
 * refusing would strand every interrupted run of an older version.
 */
export function checkResumedInput(
  check: InputCheck,
  stored: Fingerprint | undefined | Error,
  current: InputFingerprint,
): void {
  const input = current.input === '-' ? 'stdin' : current.input;
  if (stored === undefined) {
    check.warn(
      `${check.output} has no input fingerprint (${fingerprintPath(check.output)}; an older polyloop wrote it?): resuming without checking that its records are of ${input}`,
    );
    return;
  }
  let message: string;
  if (stored instanceof Error) {
    message = `cannot tell which input the records of ${check.output} are of: ${stored.message}`;
  } else {
    const difference = current.differences(stored);
    if (difference === undefined) return;
    message = `${check.output} has records of another input than ${input} (${difference})`;
  }
  if (check.force) {
    check.warn(`resuming anyway (--force): ${message}`);
    return;
  }
  throw new UsageError(`Cannot resume: ${message}; --force resumes it anyway`);
}

export interface Recovered {
  /** Indices that have a record already. */
  readonly done: IndexSet;
  /** Of those, how many are error records (they count for the exit code). */
  readonly failed: number;
  /** Bytes of a torn last line that were cut off (0 if none). */
  readonly repairedBytes: number;
}

export async function recoverOutput(path: string): Promise<Recovered> {
  const done = new IndexSet();
  let size: number;
  try {
    const stats = await stat(path);
    if (stats.isDirectory()) throw new Error('it is a directory');
    size = stats.size;
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT')
      return { done, failed: 0, repairedBytes: 0 };
    throw new UsageError(
      `Cannot read the output file ${path} to resume: ${(error as Error).message}`,
    );
  }
  let offset = 0; // bytes of whole lines read so far
  let line = 1;
  let carry = Buffer.alloc(0);
  let failed = 0;
  for await (const chunk of createReadStream(path)) {
    let data = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let end = data.indexOf(0x0a, start); end !== -1; end = data.indexOf(0x0a, start)) {
      const text = data.toString('utf8', start, end);
      const record = parseRecord(text);
      if (record === undefined && text.trim() !== '') {
        throw new UsageError(`Cannot resume: line ${line} of ${path} is not a polyloop record`);
      }
      if (record !== undefined && done.add(record.index) && record.failed) failed++;
      offset += end + 1 - start;
      start = end + 1;
      line++;
    }
    data = data.subarray(start);
    carry = Buffer.from(data);
  }
  // What follows the last newline was being written when the run died.
  const repairedBytes = size - offset;
  if (repairedBytes > 0) await truncate(path, offset);
  return { done, failed, repairedBytes };
}

function parseRecord(text: string): { index: number; failed: boolean } | undefined {
  try {
    const record = JSON.parse(text) as { index?: unknown; error?: unknown };
    const index = record?.index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index > MAX_INDEX) {
      return undefined;
    }
    return { index, failed: record.error !== undefined };
  } catch {
    return undefined;
  }
}
