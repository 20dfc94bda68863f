export { threadCpuNs } from '../thread-cpu.ts';

import { PerformanceObserver } from 'node:perf_hooks';

/** CPU ns of every thread of this process (V8's GC and compiler helpers included). */
export function processCpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** Milliseconds spent in GC pauses since `start()`, read by `take()`. */
export class GcTime {
  private ms = 0;
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.ms += entry.duration;
  });
  start(): void {
    this.observer.observe({ entryTypes: ['gc'] });
  }
  take(): number {
    const ms = this.ms;
    this.ms = 0;
    return ms;
  }
  stop(): void {
    this.observer.disconnect();
  }
}
