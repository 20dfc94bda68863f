/**
 * The real polyloop CLI as the queue tests run it (test/bullmq*.test.ts): child processes with
 * their output and their end, input files, and waits on observed state.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** When it exited (performance.now()). */
  readonly at: number;
}

export interface Running {
  readonly child: ChildProcess;
  readonly finished: Promise<Finished>;
  /** What it has written so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
}

/** The CLI processes of a test file: started, awaited, and killed if a test leaves any. */
export class CliProcesses {
  private readonly children = new Set<ChildProcess>();

  /** `patienceMs`: how long any of them may take; a guard against a hung test, not a pace. */
  constructor(private readonly patienceMs: number) {}

  /** `stdin`: the test writes the process's standard input (`child.stdin`). */
  start(args: string[], { stdin = false } = {}): Running {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk;
    });
    const finished = new Promise<Finished>((resolve) => {
      child.once('close', (code, signal) => {
        this.children.delete(child);
        resolve({ code, signal, stdout, stderr, at: performance.now() });
      });
    });
    return { child, finished, stdout: () => stdout, stderr: () => stderr };
  }

  /** The process's end, or a failure (and SIGKILL) if it has not ended within `ms`. */
  async exitWithin(running: Running, ms: number, what: string): Promise<Finished> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        running.child.kill('SIGKILL');
        reject(new Error(`${what} did not exit within ${ms} ms:\n${running.stderr()}`));
      }, ms);
    });
    try {
      return await Promise.race([running.finished, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Run `polyloop ...args` to its end, which must be `expectedCode`. */
  async succeeds(args: string[], expectedCode = 0): Promise<Finished> {
    const result = await this.exitWithin(this.start(args), this.patienceMs, `polyloop ${args[0]}`);
    assert.equal(result.code, expectedCode, `polyloop ${args.join(' ')}:\n${result.stderr}`);
    return result;
  }

  killAll(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }
}

/** A JSONL file in `dir`: strings as they are (to write bad lines), anything else as JSON. */
export function writeLines(dir: string, name: string, lines: readonly unknown[]): string {
  const path = join(dir, name);
  const text = lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line)));
  writeFileSync(path, text.join('\n'));
  return path;
}

/**
 * Polls until `check` gives a value (each poll a round trip to Redis or a read of output so far,
 * so this follows real progress). A check that throws (Redis away) is not there yet; the last
 * error is in the message if it never gets there.
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  patienceMs: number,
): Promise<T> {
  const deadline = Date.now() + patienceMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError === undefined ? '' : ` (last error: ${String(lastError)})`;
      throw new Error(`Gave up waiting for ${what}${why}`);
    }
    await sleep(50);
  }
}

/**
 * The test's own looks at queues, on connections that fail a command rather than wait while
 * Redis is away (no retries per request), dropped at once when done.
 */
export class QueueLooks {
  private readonly queues: Queue[] = [];

  open(url: string, name: string): Queue {
    const queue = new Queue(name, { connection: { url, maxRetriesPerRequest: 1 } });
    queue.on('error', () => {});
    this.queues.push(queue);
    return queue;
  }

  async letGoAll(): Promise<void> {
    await Promise.all(this.queues.splice(0).map(letGo));
  }
}

/** Drops a look's connection at once (its close would wait on a Redis gone). */
export async function letGo(queue: Queue): Promise<void> {
  (await queue.client).disconnect();
}
