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
 * The most descriptors any of these child processes has open (Linux: /proc/<pid>/fd); 0 where
 * none can be counted (not started yet, gone, or not Linux).
 */
export function mostOpenFiles(pids: Iterable<number>): number {
  let most = 0;
  for (const pid of pids) most = Math.max(most, openFiles(`/proc/${pid}/fd`) ?? 0);
  return most;
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

/**
 * How long tasks are given to open their descriptors (a connect, an open through libuv's
 * threadpool) before a count is taken to show what they hold.
 */
const SETTLE_MS = 20;

/**
 * How many more tasks the process's descriptors allow, learned from the tasks themselves: the
 * descriptors opened since the pool was idle, per task in flight. Tasks that hold none (sleeps,
 * CPU work) are not limited; tasks that hold a socket each stop growing below the limit.
 */
export class DescriptorWatch {
  /**
   * Whether the workers share these descriptors (threads, in this process) or each has as many
   * of its own (child processes, which inherit the limit).
   */
  readonly shared: boolean;
  /** The most descriptors open at once that the budget allows. */
  private readonly ceiling: number | undefined;
  /** Descriptors open with no task in flight. */
  private baseline: number;
  private readonly initialOpen: number;
  private lastStep = Number.NEGATIVE_INFINITY;
  /** The most descriptors counted open since the last step. */
  private peakOpen = 0;
  /** When tasks were first in flight since the pool was last idle. */
  private activeSince: number | undefined;

  /**
   * `count`: descriptors open now — this process's, or the busiest child's (`shared` false: then
   * the room is each worker's, and before any child runs none is open).
   */
  constructor(
    limit: number | undefined,
    private readonly count: () => number | undefined = openFiles,
    private readonly now: () => number = () => performance.now(),
    shared = true,
  ) {
    this.shared = shared;
    this.initialOpen = count() ?? 0;
    this.baseline = this.initialOpen;
    this.ceiling = descriptorBudget(limit, 0);
  }

  /** Descriptors for tasks, before any runs: what the first window may take. */
  get initialRoom(): number {
    if (this.ceiling === undefined) return Number.POSITIVE_INFINITY;
    return Math.max(1, this.ceiling - this.initialOpen);
  }

  /**
   * How many more tasks may start, with `inFlight` running now (Infinity: no bound known). The
   * counts say what the tasks hold only once they had time to open it (SETTLE_MS after tasks
   * first ran, or after the last step); until then each new task is taken to hold one.
   */
  room(inFlight: number): number {
    if (this.ceiling === undefined) return Number.POSITIVE_INFINITY;
    const now = this.now();
    const open = this.count();
    // Counting takes a descriptor too: failing to count means none is left.
    if (open === undefined) return 0;
    if (inFlight === 0) {
      this.baseline = open;
      this.activeSince = undefined;
      this.peakOpen = open;
      return Math.max(0, this.ceiling - open);
    }
    this.activeSince ??= now;
    // Tasks open and close in waves: the peak since the last step is what they hold.
    this.peakOpen = Math.max(this.peakOpen, open);
    const free = Math.max(0, this.ceiling - this.peakOpen);
    // Not yet measurable: as if each new task held one descriptor.
    if (now - Math.max(this.activeSince, this.lastStep) < SETTLE_MS) return free;
    const perTask = Math.max(0, this.peakOpen - this.baseline) / inFlight;
    // Tasks that hold no descriptor (sleeps, CPU work) are not bounded by them at all.
    if (perTask < MIN_PER_TASK) return Number.POSITIVE_INFINITY;
    // A task that holds any is taken to hold at least one.
    return Math.floor(free / Math.max(1, perTask));
  }

  /** The window grew: its new tasks need time to open their descriptors before a count shows them. */
  stepped(): void {
    this.lastStep = this.now();
    this.peakOpen = 0;
  }
}

/** Below this many descriptors per task, tasks hold none (the workers' own are in the count). */
const MIN_PER_TASK = 0.05;
