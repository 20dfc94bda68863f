/**
 * CPU accounting on Linux, from /proc: how busy the whole machine was, and how much CPU one
 * process (all its threads) used. The crawl benchmark uses it to tell the crawler's CPU, the test
 * site's and everybody else's apart. Elsewhere it reports nothing (undefined), and the
 * benchmark still runs.
 */
import { readFileSync } from 'node:fs';

// USER_HZ: 100 on every Linux Node supports.
const TICKS_PER_SECOND = 100;

/** CPU seconds used so far by process `pid` (user + system, all threads), or undefined. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores), or undefined. */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.split(/\s+/).slice(1).map(Number);
    return (user! + nice! + system! + irq! + softirq! + steal!) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The 1-minute load average. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

/**
 * Follows a process's CPU time while it runs: /proc/PID disappears when it exits, so keep the
 * last reading (at most `intervalMs` old).
 */
export class CpuWatch {
  #last: number | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.#last = processCpuSeconds(pid);
    this.#timer = setInterval(() => {
      this.#last = processCpuSeconds(pid) ?? this.#last;
    }, intervalMs);
  }

  /** CPU seconds at the last reading. */
  stop(): number | undefined {
    clearInterval(this.#timer);
    return processCpuSeconds(this.pid) ?? this.#last;
  }
}
