/**
 * The process's open-file limit, which every task's sockets and files count against: past it,
 * `socket()` and `open()` fail with EMFILE. Node has no getrlimit; Linux shows the soft limit in
 * /proc/self/limits and the open descriptors in /proc/self/fd. Elsewhere the limit is unknown and
 * the pool relies on backing off after EMFILE alone.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Descriptors kept free for what is not a task: stdio, pipes to workers, log files, the IPC. */
const RESERVED = 64;
/** ...and this share of the limit, for tasks that open more than one descriptor each. */
const RESERVED_SHARE = 0.25;

/** The soft limit on open files, or undefined where it cannot be read (or is unlimited). */
export function openFileLimit(limits = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limits, 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  const limit = soft === undefined ? Number.NaN : Number(soft);
  return Number.isFinite(limit) && limit > 0 ? limit : undefined;
}

/** Descriptors open now, or undefined where they cannot be counted. */
export function openFiles(fds = '/proc/self/fd'): number | undefined {
  try {
    return readdirSync(fds).length;
  } catch {
    return undefined;
  }
}

/**
 * How many tasks may be in flight at once without running out of descriptors, if each holds one:
 * the limit less what is open and a reserve. Undefined: no known bound.
 */
export function descriptorBudget(limit: number | undefined, open: number): number | undefined {
  if (limit === undefined) return undefined;
  return Math.max(1, Math.floor((limit - open - RESERVED) * (1 - RESERVED_SHARE)));
}

/** This process's budget now (see descriptorBudget). */
export function processDescriptorBudget(): number | undefined {
  return descriptorBudget(openFileLimit(), openFiles() ?? 0);
}
