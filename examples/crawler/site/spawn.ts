/**
 * Runs the test site in its own process (so its CPU is its own, apart from the crawler's) and
 * reads what it serves from /site.json. Used by the tests and the benchmark.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { SiteShape } from './pages.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

export interface SiteProcess extends SiteShape {
  readonly url: string;
  readonly latencyMs: readonly [number, number];
  readonly child: ChildProcess;
  /** Stops the site and waits for its process to end. */
  stop(): Promise<void>;
}

export interface SpawnSiteOptions {
  readonly pages: number;
  readonly latencyMs: readonly [number, number];
  readonly origins?: number;
}

export async function spawnSite(options: SpawnSiteOptions): Promise<SiteProcess> {
  const args = [
    '--import',
    'tsx',
    MAIN,
    '--pages',
    String(options.pages),
    '--latency',
    options.latencyMs.join('-'),
    '--port',
    '0',
    '--origins',
    String(options.origins ?? 8),
    '--exit-with-stdin',
  ];
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => line as string),
    exited.then(([code]) => {
      throw new Error(`The test site exited (code ${code}) before printing its URL`);
    }),
  ]);
  lines.close();
  const url = first.trim();
  const info = await request(`${url}/site.json`);
  const shape = (await info.body.json()) as SiteShape & { latencyMs: [number, number] };
  return {
    url,
    pages: shape.pages,
    origins: shape.origins,
    latencyMs: shape.latencyMs,
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
