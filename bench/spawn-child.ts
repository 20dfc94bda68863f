import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildResult } from './child.ts';
import type { InputShape } from './workload.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

export type ChildOutcome = ({ ok: true } & ChildResult) | { ok: false; error: string };

export interface ChildJob {
  readonly contestant: string;
  readonly variant: string;
  readonly count: number;
  readonly workers: number;
  readonly inputs: InputShape;
  readonly timeoutMs: number;
}

/** Runs child.ts in a fresh Node process; never rejects, a failure comes back as `ok: false`. */
export function runChild(job: ChildJob): Promise<ChildOutcome> {
  const args = [job.contestant, job.variant, String(job.count), String(job.workers), job.inputs];
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  // A hung contestant must not hang the whole benchmark.
  const timer = setTimeout(() => child.kill('SIGKILL'), job.timeoutMs);

  return new Promise((resolve) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, error: `could not start: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) {
        resolve({ ok: true, ...(JSON.parse(line) as ChildResult) });
        return;
      }
      const why =
        signal === 'SIGKILL' ? `timed out after ${job.timeoutMs / 1000} s` : `exit ${code}`;
      const tail = stderr.trim().split('\n').slice(-5).join('\n');
      resolve({ ok: false, error: `${why}${tail ? `: ${tail}` : ''}` });
    });
  });
}
