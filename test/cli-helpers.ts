/** Running the real `polyloop` command (dist/cli/main.js, built by `npm test`) in tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
export const CLI_TASK = fileURLToPath(new URL('./fixtures/cli-task.ts', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function startCli(
  args: string[],
  /** `group`: in a process group of its own, which the test can signal as a terminal would. */
  options: { stdin?: string; env?: Record<string, string>; group?: boolean } = {},
): { child: ChildProcess; done: Promise<CliResult>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: options.group ?? false,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdin!.end(options.stdin ?? '');
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done, stderr: () => stderr };
}

export function runCli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return startCli(args, options).done;
}

const tempDirs: string[] = [];

/**
 * A fresh folder, removed when the test file's process exits (`node --test` runs each file in a
 * process of its own): the CLI tests leave nothing behind without a cleanup step of their own.
 */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'polyloop-cli-'));
  if (tempDirs.push(dir) === 1) {
    process.once('exit', () => {
      for (const each of tempDirs) rmSync(each, { recursive: true, force: true });
    });
  }
  return dir;
}

export function jsonl(values: unknown[]): string {
  return values.map((value) => `${JSON.stringify(value)}\n`).join('');
}

export interface RecordLine {
  index: number;
  value?: unknown;
  error?: { code: string; message: string };
}

export function parseRecords(text: string): RecordLine[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as RecordLine);
}

export function readRecords(path: string): RecordLine[] {
  return parseRecords(readFileSync(path, 'utf8'));
}

/** Lines in a file now (0 if it does not exist yet). */
export function lineCount(path: string): number {
  try {
    const text = readFileSync(path, 'utf8');
    let lines = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
    return lines;
  } catch {
    return 0;
  }
}

/**
 * Resolves once `condition()` holds (checked every 20 ms): a test waits for an observed state of
 * the running command — records written, a message printed — never for a guessed duration.
 */
export async function until(
  condition: () => boolean,
  what: string,
  limitMs = 60_000,
): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > limitMs) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Runs `script` in bash with `args` as "$@" (so `"$@" | head -1` puts the real command in a real
 * pipe), killing it if it outlives `limitMs`.
 */
export function runShell(script: string, args: string[], limitMs = 60_000): Promise<CliResult> {
  const child = spawn('bash', ['-c', script, 'bash', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  // The whole group: the command in the pipe too, not only bash.
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), limitMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout,
        stderr: signal ? `${stderr}(killed after ${limitMs} ms)` : stderr,
      });
    });
  });
}
