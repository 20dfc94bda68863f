import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { threadExecArgv } from '../dist/backends/exec-argv.js';

const run = promisify(execFile);
const DIST = new URL('../dist/index.js', import.meta.url).href;
const ECHO = new URL('./fixtures/echo.js', import.meta.url).href;

describe('node options a worker thread inherits', () => {
  it('keeps the loaders and the profilers, with their values, and drops per-process flags', () => {
    assert.deepEqual(
      threadExecArgv([
        '--max-old-space-size=64',
        '--import',
        'tsx',
        '--cpu-prof',
        '--cpu-prof-dir',
        '/tmp/p',
        '--cpu-prof-interval=50',
        '--expose-gc',
        '--heap-prof',
      ]),
      [
        '--import',
        'tsx',
        '--cpu-prof',
        '--cpu-prof-dir',
        '/tmp/p',
        '--cpu-prof-interval=50',
        '--heap-prof',
      ],
    );
  });

  it('node --cpu-prof writes a profile for every worker thread, not only the main one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'polyloop-prof-'));
    try {
      const script = `
        const { Pool } = await import(${JSON.stringify(DIST)});
        const pool = new Pool(${JSON.stringify(ECHO)}, { workers: 2 });
        await pool.map([1, 2, 3, 4]);
        await pool.close();`;
      await run(process.execPath, [
        '--cpu-prof',
        '--cpu-prof-dir',
        dir,
        '--input-type=module',
        '-e',
        script,
      ]);
      const profiles = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
      assert.equal(profiles.length, 3, profiles.join(', '));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
