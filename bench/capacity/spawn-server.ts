/**
 * Runs the capacity server (server.ts) in its own process, so its CPU and its descriptors are its
 * own, apart from the client's. For the benchmark, and for tests that want a real server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CapacityStats, ScheduleStep } from './capacity-server.ts';

const MAIN = fileURLToPath(new URL('./server.ts', import.meta.url));

export interface SpawnCapacityOptions {
  readonly capacity: number;
  readonly serviceMs: number;
  readonly backlog: number;
  readonly schedule?: readonly ScheduleStep[];
}

export interface CapacityProcess {
  readonly port: number;
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  readonly child: ChildProcess;
  /** The server's counters now (GET /stats, which is not queued). */
  stats(): Promise<CapacityStats>;
  /** Stops the server; resolves with the stats it printed on the way out. */
  stop(): Promise<CapacityStats | undefined>;
}

export async function spawnCapacityServer(options: SpawnCapacityOptions): Promise<CapacityProcess> {
  const schedule = (options.schedule ?? []).map((s) => `${s.atSeconds}:${s.capacity}`).join(',');
  const args = [
    '--import',
    'tsx',
    MAIN,
    '--capacity',
    String(options.capacity),
    '--service-ms',
    String(options.serviceMs),
    '--backlog',
    String(options.backlog),
    '--schedule',
    schedule,
    '--exit-with-stdin',
  ];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const closed = once(lines, 'close');
  const received: string[] = [];
  let firstLine: (line: string) => void = () => {};
  const first = new Promise<string>((resolve) => {
    firstLine = resolve;
  });
  lines.on('line', (line) => {
    received.push(line);
    if (received.length === 1) firstLine(line);
  });
  const port = Number(
    await Promise.race([
      first,
      exited.then(([code]) => {
        throw new Error(`The capacity server exited (code ${code}) before printing its port`);
      }),
    ]),
  );
  const url = `http://127.0.0.1:${port}`;
  return {
    port,
    url,
    child,
    stats: async () => {
      const response = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(10_000) });
      return (await response.json()) as CapacityStats;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await closed;
      const last = received.length > 1 ? received.at(-1) : undefined;
      return last === undefined ? undefined : (JSON.parse(last) as CapacityStats);
    },
  };
}
