import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU ms used so far by each thread of this process, by thread id (Linux: /proc's schedstat, in
 * ns: the 10 ms ticks of `stat` are too coarse for a 0.2 s run's threads).
 */
export function threadCpu(): Map<string, number> {
  const cpu = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      cpu.set(tid, schedstatMs(`/proc/self/task/${tid}/schedstat`));
    } catch {
      // A thread that ended between the listing and the read.
    }
  }
  return cpu;
}

/** CPU ms used so far by this process's main thread. */
export function mainThreadCpu(): number {
  return schedstatMs(`/proc/self/task/${process.pid}/schedstat`);
}

/** CPU ns used so far by the calling thread. */
export function threadCpuNs(): number {
  return schedstatMs('/proc/thread-self/schedstat') * 1e6;
}

/** The first field of a schedstat: time on a CPU, in ns. */
function schedstatMs(path: string): number {
  return Number(readFileSync(path, 'utf8').split(' ')[0]) / 1e6;
}

/**
 * CPU ms used so far by each live child process of this one (all its threads), by pid (Linux:
 * /proc). process.cpuUsage() leaves them out, and a pool's process backend works in them.
 */
export function childProcessesCpu(): Map<string, number> {
  const cpu = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const fields = statFields(`/proc/${pid}/stat`);
      if (Number(fields[1]) === process.pid) cpu.set(pid, ticksMs(fields));
    } catch {
      // Gone between the listing and the read: not ours to count anyway.
    }
  }
  return cpu;
}

/** The fields after the command name, which may hold spaces: state is [0], ppid [1]. */
function statFields(path: string): string[] {
  const stat = readFileSync(path, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

// utime and stime, in clock ticks of 10 ms.
function ticksMs(fields: readonly string[]): number {
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
