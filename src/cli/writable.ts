import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from './usage-error.js';

/**
 * A file this command writes later (a chart after the run, `collect`'s output once Redis answers):
 * find out now, without touching it, that it could not be written.
 */
export async function assertWritable(path: string, what: string): Promise<void> {
  try {
    const existing = await stat(path).catch(() => undefined);
    if (existing?.isDirectory()) throw new Error('it is a directory');
    await access(existing ? path : dirname(resolve(path)), constants.W_OK);
  } catch (error) {
    throw new UsageError(`Cannot write the ${what} to ${path}: ${(error as Error).message}`);
  }
}
