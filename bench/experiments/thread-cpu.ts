import { readdirSync, readFileSync } from 'node:fs';

/** CPU ms used so far by each thread of this process, by thread id (Linux: /proc). */
export function threadCpu(): Map<string, number> {
  const cpu = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    cpu.set(tid, cpuOf(tid));
  }
  return cpu;
}

/** CPU ms used so far by this process's main thread. */
export function mainThreadCpu(): number {
  return cpuOf(String(process.pid));
}

function cpuOf(tid: string): number {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces); utime and stime are in clock ticks.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
