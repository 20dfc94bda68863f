/**
 * A throwaway redis-server for the BullMQ tests and bench: its own process on a free port of
 * 127.0.0.1, no persistence (unless asked: `appendonly`), data in a temp dir; stopped (and waited
 * for) by `stop()`. The outage tests take it down (`kill`) and bring it back (`restart`) on the
 * same port, with its data or without.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** The server's process id (the bench reads its CPU time). */
  readonly pid: number;
  stop(): Promise<void>;
}

export interface RestartableRedis extends RedisServer {
  /** Ends the server (SIGTERM: an appendonly server writes its log first; SIGKILL: no word). */
  kill(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts it again on the same port; `keepData: false` empties its directory first. */
  restart(options?: { keepData?: boolean }): Promise<void>;
  /** Freezes (SIGSTOP) or thaws (SIGCONT) the server: connections stay open, nothing answers. */
  freeze(frozen: boolean): void;
}

export interface RedisStartOptions {
  /** Keep every write in an append-only file (fsynced on each write), so a restart keeps it. */
  readonly appendonly?: boolean;
}

/** Whether `redis-server` is on the PATH. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * The reason to skip the BullMQ tests, or undefined to run them. On CI a missing redis-server is
 * a failure, not a skip: `.ci/run` installs it.
 */
export function redisSkipReason(): string | undefined {
  if (hasRedisServer()) return undefined;
  if (process.env.CI)
    throw new Error('redis-server is not installed (CI is set: .ci/run installs it)');
  return 'redis-server is not installed (apt-get install redis-server): BullMQ tests skipped';
}

export async function startRedis(options: RedisStartOptions = {}): Promise<RestartableRedis> {
  // A port found free may be taken before redis binds it: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      return await startOn(port, options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

async function startOn(port: number, options: RedisStartOptions): Promise<RestartableRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'polyloop-redis-'));
  const persistence = options.appendonly
    ? ['--appendonly', 'yes', '--appendfsync', 'always']
    : ['--appendonly', 'no'];
  const launch = async (): Promise<Running> => {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await readyToAcceptConnections(child);
    } catch (error) {
      child.kill('SIGKILL');
      await exited;
      throw error;
    }
    return { child, exited };
  };
  let running: Running;
  try {
    running = await launch();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const alive = () => running.child.exitCode === null && running.child.signalCode === null;
  const kill = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGKILL') => {
    if (alive()) {
      running.child.kill('SIGCONT');
      running.child.kill(signal);
    }
    await running.exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return running.child.pid ?? -1;
    },
    kill,
    async restart({ keepData = true } = {}) {
      await kill('SIGKILL');
      if (!keepData) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
      }
      running = await launch();
    },
    freeze(frozen) {
      if (alive()) running.child.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
    },
    async stop() {
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when redis-server logs that it accepts connections; rejects if it exits first. */
function readyToAcceptConnections(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        // Keep draining so a full pipe never blocks the server.
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.resume();
    child.once('exit', (code, signal) =>
      reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${log}`)),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}
