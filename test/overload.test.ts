/**
 * What the adaptive limit will read: the process's open-file budget (under a real `ulimit -n`) and
 * which failures say "too much at once", wherever they sit on the cause chain.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DescriptorWatch, descriptorBudget, openFileLimit } from '../dist/core/open-files.js';
import { overloadKind } from '../dist/core/overload.js';
import { TaskError, TimeoutError } from '../dist/index.js';

const OPEN_FILES = new URL('../dist/core/open-files.js', import.meta.url).href;

describe('the open-file budget', () => {
  it('reads the soft limit a real ulimit sets, and keeps a reserve below it', {
    skip: process.platform !== 'linux' && 'reads /proc (Linux)',
  }, () => {
    const script = `import { openFileLimit, processDescriptorBudget } from ${JSON.stringify(OPEN_FILES)};
      console.log(JSON.stringify({ limit: openFileLimit(), budget: processDescriptorBudget() }));`;
    const result = spawnSync(
      'sh',
      ['-c', `ulimit -n 256; exec "${process.execPath}" --input-type=module -e '${script}'`],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(result.status, 0, result.stderr);
    const { limit, budget } = JSON.parse(result.stdout) as { limit: number; budget: number };
    assert.equal(limit, 256);
    assert.ok(budget > 0 && budget < 256 - 64, `budget ${budget}`);
  });

  it('is unknown where the limits cannot be read, and never below one task', () => {
    const dir = mkdtempSync(join(tmpdir(), 'polyloop-limits-'));
    try {
      assert.equal(openFileLimit(join(dir, 'missing')), undefined);
      const unlimited = join(dir, 'limits');
      writeFileSync(
        unlimited,
        'Max open files            unlimited            unlimited            files\n',
      );
      assert.equal(openFileLimit(unlimited), undefined);
      assert.equal(descriptorBudget(undefined, 10), undefined);
      assert.equal(descriptorBudget(70, 10), 1);
      assert.equal(descriptorBudget(1064, 0), 750);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the descriptor watch', () => {
  /** A watch over a fake process: `open` descriptors now, the clock at `time` ms. */
  function watch(limit: number | undefined) {
    const state = { open: 20 as number | undefined, time: 0 };
    const descriptors = new DescriptorWatch(
      limit,
      () => state.open,
      () => state.time,
    );
    return { state, descriptors };
  }

  it('sets no bound where the limit is unknown', () => {
    const { descriptors } = watch(undefined);
    assert.equal(descriptors.initialRoom, Number.POSITIVE_INFINITY);
    assert.equal(descriptors.room(500), Number.POSITIVE_INFINITY);
  });

  it('bounds tasks that hold a descriptor each by what the limit leaves', () => {
    const { state, descriptors } = watch(1064); // a ceiling of 750 open
    assert.equal(descriptors.initialRoom, 730);
    state.open = 420; // 400 tasks, one each
    assert.equal(descriptors.room(400), 330, 'before it can tell, one each');
    state.time = 25;
    state.open = 300; // between two waves: the peak since the last step still counts
    assert.equal(descriptors.room(400), 330);
    descriptors.stepped();
    state.time = 30;
    assert.equal(descriptors.room(400), 450, 'right after a step: one each for the new ones');
  });

  it('does not bound tasks that hold none, once it could tell', () => {
    const { state, descriptors } = watch(1064);
    state.open = 22;
    assert.equal(descriptors.room(2000), 728);
    state.time = 25;
    assert.equal(descriptors.room(2000), Number.POSITIVE_INFINITY);
  });

  it('takes a failed count (itself out of descriptors) as no room', () => {
    const { state, descriptors } = watch(1064);
    state.open = undefined;
    assert.equal(descriptors.room(100), 0);
  });
});

/** Runs `script` (an ES module, `POOL` bound to dist's Pool) under `ulimit -n 256`. */
function underLowLimit(script: string): { status: number | null; stdout: string; stderr: string } {
  const source = `import { Pool } from ${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)};\n${script}`;
  const dir = mkdtempSync(join(tmpdir(), 'polyloop-ulimit-'));
  try {
    const file = join(dir, 'main.mjs');
    writeFileSync(file, source);
    const result = spawnSync('sh', ['-c', `ulimit -n 256; exec "${process.execPath}" "${file}"`], {
      encoding: 'utf8',
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('a pool under a real ulimit -n 256', {
  skip: process.platform !== 'linux' && 'Linux',
}, () => {
  for (const backend of ['thread', 'process']) {
    it(`tasks holding a descriptor each: none fails with EMFILE on the defaults (${backend})`, () => {
      const task = new URL('./fixtures/hold-file.js', import.meta.url).href;
      const result = underLowLimit(`
      const pool = new Pool(new URL(${JSON.stringify(task)}), { workers: 2, backend: '${backend}' });
      const inputs = Array.from({ length: 3000 }, (_, i) => ({ path: '/dev/null', ms: 20, i }));
      const codes = {};
      let ok = 0;
      for await (const r of pool.stream(inputs)) {
        if (r.ok) ok++;
        else {
          let e = r.error; while (e.cause && !e.code?.startsWith?.('E')) e = e.cause;
          const code = e.cause?.code ?? e.code; codes[code] = (codes[code] ?? 0) + 1;
        }
      }
      await pool.close();
      console.log(JSON.stringify({ ok, codes }));
    `);
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { ok: 3000, codes: {} });
    });
  }

  it('a task that leaks descriptors still fails, with EMFILE, after a bounded number of runs', () => {
    const task = new URL('./fixtures/leak-files.js', import.meta.url).href;
    const result = underLowLimit(`
      const pool = new Pool(new URL(${JSON.stringify(task)}), { workers: 1 });
      const cells = new Int32Array(new SharedArrayBuffer(4));
      const error = await pool.run({ cells }).then(() => undefined, (e) => e);
      let code = error; while (code?.cause) code = code.cause;
      console.log(JSON.stringify({ code: code?.code, runs: Atomics.load(cells, 0) }));
      await pool.destroy();
    `);
    assert.equal(result.status, 0, result.stderr);
    // Its first run, then MAX_LOAD_RERUNS (8) re-runs, then its EMFILE is its answer.
    assert.deepEqual(JSON.parse(result.stdout), { code: 'EMFILE', runs: 9 });
  });

  it('tasks holding no descriptor still all get in flight at once', () => {
    const control = new URL('./fixtures/control.js', import.meta.url).href;
    const result = underLowLimit(`
      const pool = new Pool(new URL(${JSON.stringify(control)}), { workers: 2 });
      const cells = new Int32Array(new SharedArrayBuffer(8));
      const inputs = Array.from({ length: 3000 }, (_, i) => ({ op: 'tick-block', cells, slot: 0, gate: 1, value: i }));
      const all = pool.map(inputs);
      // Every task counts itself in, then waits for the gate: 3000 in at once, or a bounded wait fails.
      const deadline = Date.now() + 60_000;
      for (let seen = Atomics.load(cells, 0); seen < 3000; seen = Atomics.load(cells, 0)) {
        if (Date.now() > deadline) { console.log(JSON.stringify({ inFlight: seen })); process.exit(0); }
        await Atomics.waitAsync(cells, 0, seen, 1000).value;
      }
      Atomics.store(cells, 1, 1); Atomics.notify(cells, 1);
      const values = await all;
      await pool.close();
      console.log(JSON.stringify({ inFlight: 3000, values: values.length }));
    `);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { inFlight: 3000, values: 3000 });
  });
});

describe('overload signals', () => {
  const coded = (code: string, cause?: unknown): Error =>
    Object.assign(new Error(code, cause === undefined ? undefined : { cause }), { code });

  it('EMFILE and ENFILE are the pool over-admitting, anywhere on the chain', () => {
    assert.equal(overloadKind(coded('EMFILE')), 'over-admission');
    const fetchFailed = new TypeError('fetch failed', { cause: coded('ENFILE') });
    assert.equal(overloadKind(new TaskError(fetchFailed)), 'over-admission');
  });

  it('resets are rejections; timeouts (undici, polyloop, AbortSignal.timeout, a code) are timeouts', () => {
    assert.equal(
      overloadKind(new TaskError(new TypeError('fetch failed', { cause: coded('ECONNRESET') }))),
      'rejected',
    );
    assert.equal(overloadKind(coded('UND_ERR_SOCKET')), 'rejected');
    assert.equal(overloadKind(coded('ETIMEDOUT')), 'timeout');
    assert.equal(overloadKind(coded('UND_ERR_HEADERS_TIMEOUT')), 'timeout');
    assert.equal(overloadKind(new TimeoutError(100)), 'timeout');
    // A task's own code, with AbortSignal.timeout()'s DOMException as its cause.
    const timeout = new DOMException('The operation timed out.', 'TimeoutError');
    assert.equal(overloadKind(new TaskError(coded('ERR_TASK_FAILED', timeout))), 'timeout');
    // A task's own code that says so.
    assert.equal(overloadKind(new TaskError(coded('ERR_CRAWL_TIMEOUT'))), 'timeout');
  });

  it("an input's own failure is not overload", () => {
    assert.equal(overloadKind(new TaskError(new Error('bad input'))), undefined);
    assert.equal(overloadKind(coded('ECONNREFUSED')), undefined);
    assert.equal(overloadKind(coded('ERR_CRAWL_TOO_LARGE')), undefined);
    assert.equal(overloadKind('a string'), undefined);
    const getter = new Error('x');
    Object.defineProperty(getter, 'code', {
      get() {
        throw new Error('no');
      },
    });
    assert.equal(overloadKind(getter), undefined);
  });
});
