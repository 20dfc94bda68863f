/**
 * The adaptive limit (issue 16) against real servers on 127.0.0.1 and real worker threads: a
 * server that resets what it cannot queue, a server that queues everything, tasks that only wait,
 * a lone reset, and the CLI's --fixed-concurrency. No mocks; nothing waits for a guessed
 * duration: the tests synchronise on results, the server's counters and Atomics, and the limit is
 * read after each result (by progress through the run, not by the clock).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { CapacityStats } from '../bench/capacity/capacity-server.ts';
import { digest, itemBody } from '../bench/capacity/item.js';
import {
  type CapacityProcess,
  type SpawnCapacityOptions,
  spawnCapacityServer,
} from '../bench/capacity/spawn-server.ts';
import { Pool, type PoolOptions, TaskError } from '../dist/index.js';
import { jsonl, parseRecords, runCli } from './cli-helpers.ts';
import { cells, fixture, gatedInputs, reach, release } from './helpers.ts';

/** bench/capacity/task.js: GET /item/<i> with fetch, then a digest of the body. */
const CAPACITY_TASK = new URL('../bench/capacity/task.js', import.meta.url);
/** A bound on each test against a hang, far above its run time: no pace. */
const HANG_GUARD = { timeout: 120_000 };
/** The codes a peer turning a request away shows on the cause chain (see src/core/overload.ts). */
const REJECTIONS = new Set(['ECONNRESET', 'UND_ERR_SOCKET']);

/** The rejection code on the error's cause chain, else its first string code. */
function codeOnChain(error: unknown): string | undefined {
  let first: string | undefined;
  let current = error;
  for (let depth = 0; current !== null && typeof current === 'object' && depth < 10; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (REJECTIONS.has(code)) return code;
      first ??= code;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return first;
}

interface CapacityValue {
  readonly i: number;
  readonly digest: string;
}

interface FetchRun {
  readonly ok: number;
  /** Failures, counted by the code on their cause chain, and the first of their indices. */
  readonly codes: Record<string, number>;
  readonly failed: number[];
  /** Indices with more than one result, or none. */
  readonly twice: number[];
  readonly missing: number[];
  /** Ok results whose value is not item i's (wrong index or digest). */
  readonly wrong: number[];
  /** pool.stats().limit before the run (at 0), then after each result (at k: k results in). */
  readonly limits: number[];
}

/** Streams GET /item/0..count-1 through `pool` and checks each answer against item.js. */
async function fetchItems(
  pool: Pool,
  server: CapacityProcess,
  count: number,
  input: { timeoutMs?: number } = {},
): Promise<FetchRun> {
  const inputs = Array.from({ length: count }, (_, i) => ({
    i,
    url: `${server.url}/item/${i}`,
    ...input,
  }));
  const seen = new Uint8Array(count);
  const codes: Record<string, number> = {};
  const twice: number[] = [];
  const wrong: number[] = [];
  const failed: number[] = [];
  const limits = [pool.stats().limit];
  let ok = 0;
  for await (const result of pool.stream(inputs)) {
    limits.push(pool.stats().limit);
    seen[result.index]!++;
    if (seen[result.index] === 2) twice.push(result.index);
    if (result.ok) {
      ok++;
      const value = result.value as CapacityValue;
      if (value.i !== result.index || value.digest !== digest(itemBody(result.index), 16)) {
        wrong.push(result.index);
      }
    } else {
      const code = String(codeOnChain(result.error));
      codes[code] = (codes[code] ?? 0) + 1;
      if (failed.length < 20) failed.push(result.index);
    }
  }
  const missing: number[] = [];
  for (let i = 0; i < count; i++) if (seen[i] === 0) missing.push(i);
  return { ok, codes, failed, twice, missing, wrong, limits };
}

/** Runs `run` against a capacity server in its own process; also returns its last stats. */
async function againstServer<T>(
  options: SpawnCapacityOptions,
  run: (server: CapacityProcess) => Promise<T>,
): Promise<{ result: T; server: CapacityStats }> {
  const server = await spawnCapacityServer(options);
  try {
    const result = await run(server);
    const stats = await server.stop();
    assert.ok(stats, 'the server printed no stats on its way out');
    return { result, server: stats };
  } finally {
    await server.stop(); // a second stop() is a no-op
  }
}

/** A pool for `run`, closed after it. */
async function withPool<T>(
  task: URL,
  options: PoolOptions,
  run: (pool: Pool) => Promise<T>,
): Promise<T> {
  const pool = new Pool(task, options);
  try {
    return await run(pool);
  } finally {
    await pool.close();
  }
}

describe('a server that resets the connections it cannot queue', () => {
  // 16 in service, 32 waiting, the rest reset: far below the pool's starting limit of 2 × 1,024.
  // In its own process, so its CPU is apart from the client's.
  const SERVER = { capacity: 16, serviceMs: 10, backlog: 32 };
  const COUNT = 3000;

  it(
    'loses no input on the defaults: the resets it caused run again, unreported',
    HANG_GUARD,
    async (t) => {
      const { result: run, server } = await againstServer(SERVER, (server) =>
        withPool(CAPACITY_TASK, { workers: 2 }, async (pool) => ({
          ...(await fetchItems(pool, server, COUNT)),
          retriedErrors: pool.stats().retriedErrors,
        })),
      );
      t.diagnostic(`server: ${server.reset} reset, ${server.served} served`);
      t.diagnostic(`limit: ${run.limits[0]} at the start, ${Math.min(...run.limits)} at least`);
      // The run met overload (or it proves nothing)...
      assert.ok(server.reset > 0, 'the server reset no connection');
      // ...and every input still has one result, item i's.
      assert.deepEqual(run.codes, {}, `failed inputs, by code (indices ${run.failed.join(', ')})`);
      assert.equal(run.ok, COUNT);
      assert.deepEqual(run.twice, []);
      assert.deepEqual(run.missing, []);
      assert.deepEqual(run.wrong, []);
      // Load re-runs are not error retries (retryErrors is 0: there are none to count).
      assert.equal(run.retriedErrors, 0);
      // The resets cut the limit: a burst halves the window.
      assert.ok(Math.min(...run.limits) < run.limits[0]!, 'the limit was never cut');
    },
  );

  it(
    'with adaptive: false and a high concurrency, the same run loses inputs to resets',
    HANG_GUARD,
    async (t) => {
      // The control: what the test above would see if the pool did not back off.
      const options = { workers: 2, adaptive: false, concurrency: 10_000 };
      const { result: run, server } = await againstServer(SERVER, (server) =>
        withPool(CAPACITY_TASK, options, (pool) => fetchItems(pool, server, COUNT)),
      );
      t.diagnostic(`failed: ${JSON.stringify(run.codes)}; server reset ${server.reset}`);
      const failed = COUNT - run.ok;
      assert.ok(failed > 0, 'no input was lost: the control cannot fail the test above');
      assert.ok((run.codes.ECONNRESET ?? 0) > 0, 'no ECONNRESET record');
      assert.deepEqual(run.twice, []);
      assert.deepEqual(run.missing, []);
      assert.deepEqual(run.wrong, []);
      // A fixed cap is never cut.
      assert.ok(Math.min(...run.limits) >= run.limits[0]!, 'the fixed limit was cut');
    },
  );
});

describe('a server that queues everything', () => {
  it('the limit comes down near its capacity, found by latency alone', HANG_GUARD, async (t) => {
    // 8 in service for 20 ms each, no backlog limit: nothing fails, every request past 8 only
    // waits. The pool starts at 2 × 256 = 64 × capacity. (Not the default concurrency: from
    // 2 × 1,024 the window keeps doubling while the server's queue keeps it full, and a probe's
    // first median takes as long as that queue, so the limit does not come down within a run of
    // test length.) Server-paced at 400 answers/s, so 4,000 inputs last about 10 s on any
    // client; the probe steps on answers, so where the limit settles is counted in answers too.
    const capacity = 8;
    const count = 4000;
    const { result: run, server } = await againstServer(
      { capacity, serviceMs: 20, backlog: 1_000_000 },
      (server) =>
        withPool(CAPACITY_TASK, { workers: 2, concurrency: 256 }, (pool) =>
          // A long timeout: no request fails, so no failure (a timeout is one) cuts the limit.
          fetchItems(pool, server, count, { timeoutMs: 120_000 }),
        ),
    );
    const start = run.limits[0]!;
    const lowest = Math.min(...run.limits);
    const late = run.limits[Math.floor(count * 0.9)]!;
    t.diagnostic(`limit by tenths of the run: ${tenths(run.limits).join(' ')}; ${lowest} at least`);
    assert.deepEqual(run.codes, {});
    assert.equal(run.ok, count);
    assert.deepEqual(run.wrong, []);
    assert.equal(server.reset, 0);
    assert.ok(start >= 32 * capacity, `the window starts at ${start} (is ulimit -n very low?)`);
    // The probes walked the limit down near the capacity (it is 8 when nothing disturbs them)...
    assert.ok(lowest <= 8 * capacity, `lowest limit ${lowest}, capacity ${capacity}`);
    // ...and late in the run, after the slow growth that follows a probe, it is still far below
    // where it started.
    assert.ok(late <= start / 4, `late limit ${late}, first ${start}`);
  });
});

/** The limit at the start and after each tenth of the results. */
function tenths(limits: number[]): number[] {
  const count = limits.length - 1;
  return Array.from({ length: 11 }, (_, k) => limits[Math.floor((count * k) / 10)]!);
}

describe('tasks that only wait', () => {
  it(
    '5,000 tasks waiting on a gate all get in flight at once on the defaults',
    HANG_GUARD,
    async () => {
      // Each task counts itself in, then waits for the gate: no task ends before all 5,000 are in,
      // so a limit below 5,000 would hang at reach() (and fail on the test's timeout).
      const pool = new Pool(fixture('control.js'), { workers: 2 });
      try {
        const shared = cells();
        const all = pool.map(gatedInputs(5000, shared));
        await reach(shared, 0, 5000);
        const stats = pool.stats();
        release(shared, 1);
        const values = await all;
        assert.equal(stats.inFlight, 5000);
        assert.ok(stats.limit >= 5000, `limit ${stats.limit}`);
        assert.deepEqual(
          values,
          Array.from({ length: 5000 }, (_, i) => i),
        );
      } finally {
        await pool.close();
      }
    },
  );

  it(
    '30,000 sleeps: no probe takes them for a queue, the limit ends whole',
    HANG_GUARD,
    async (t) => {
      // 2 × 1,000 in flight, each asleep 200–400 ms: the window, not the inputs, holds the run
      // back for several seconds, so a queue probe gets its chance (with the default concurrency
      // the run is over in about a second, and whether a probe runs at all depends on the
      // machine). A probe may halve the window for a moment, but the sleeps take as long after
      // the cut, so it must give the window back, and not probe again within 10 s.
      const count = 30_000;
      const pool = new Pool(fixture('sleep.js'), { workers: 2, concurrency: 1000 });
      const limits = [pool.stats().limit];
      let ok = 0;
      try {
        const inputs = Array.from({ length: count }, (_, i) => ({
          i,
          ms: 200 + ((i * 7919) % 201),
        }));
        for await (const result of pool.stream(inputs)) {
          limits.push(pool.stats().limit);
          if (result.ok && result.value === result.index) ok++;
        }
      } finally {
        await pool.close();
      }
      // Each sample against the highest before it: at most one halving below it, ever.
      let highest = 0;
      let deepest = 1;
      for (const limit of limits) {
        highest = Math.max(highest, limit);
        deepest = Math.min(deepest, limit / highest);
      }
      const range = `${limits[0]} at the start, ${Math.min(...limits)} at least`;
      t.diagnostic(`limit ${range}, ${limits.at(-1)} at the end`);
      assert.equal(ok, count);
      // A probe that took them for a queue would keep its cut and probe the next step at once.
      assert.ok(deepest >= 0.5, `the limit went down to ${deepest} of its highest`);
      // And at the end the window is whole: 1,000 a worker. (It starts there unless ulimit -n
      // leaves less; tasks that hold no descriptor then grow it there.)
      assert.equal(limits.at(-1), 2000, 'the limit did not come back');
    },
  );
});

describe('a lone reset', () => {
  it(
    'is the input’s own answer once it comes alone twice: reported once, the limit not cut',
    HANG_GUARD,
    async () => {
      // Input 7 fails with ECONNRESET every time; the other 499 succeed. One failure among 500 is
      // no burst: it is held for a burst's span and run once more (a peer shedding load and an
      // input it always refuses look alike once), then reported as input 7's error.
      const count = 500;
      const runs = new Int32Array(new SharedArrayBuffer(count * Int32Array.BYTES_PER_ELEMENT));
      const pool = new Pool(fixture('resets.js'), { workers: 2 });
      const limits = [pool.stats().limit];
      const failures: { index: number; error: Error }[] = [];
      const seen = new Uint8Array(count);
      let ok = 0;
      try {
        const inputs = Array.from({ length: count }, (_, i) => ({
          i,
          reset: i === 7 ? 'always' : undefined,
          cells: runs,
        }));
        for await (const result of pool.stream(inputs)) {
          limits.push(pool.stats().limit);
          seen[result.index]!++;
          if (result.ok) ok++;
          else failures.push({ index: result.index, error: result.error });
        }
        const stats = pool.stats();
        assert.equal(stats.failed, 1);
        assert.equal(stats.done, count - 1);
        assert.equal(stats.retriedErrors, 0);
      } finally {
        await pool.close();
      }
      assert.equal(ok, count - 1);
      assert.deepEqual(
        failures.map((failure) => failure.index),
        [7],
      );
      const error = failures[0]!.error;
      assert.ok(error instanceof TaskError, `a ${error.name}`);
      assert.equal(codeOnChain(error), 'ECONNRESET');
      assert.match((error.cause as Error).message, /input 7: connection reset/);
      assert.ok(
        seen.every((times) => times === 1),
        'an input with more or fewer than one result',
      );
      // Each input ran once, but input 7 twice: one second run, then its error is its answer.
      assert.equal(runs[7], 2, 'input 7: one second run');
      assert.ok(
        runs.every((times, i) => times === (i === 7 ? 2 : 1)),
        'another input ran more or less than once',
      );
      assert.ok(
        limits.every((limit) => limit === limits[0]),
        `limits: ${[...new Set(limits)].join(', ')}`,
      );
    },
  );
});

describe('polyloop run --fixed-concurrency', () => {
  const RESETS = fileURLToPath(fixture('resets.js'));

  it('is in the help', async () => {
    const help = await runCli(['run', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--fixed-concurrency/);
  });

  it('is accepted: a small echo run succeeds with it', async () => {
    const result = await runCli(
      ['run', fileURLToPath(fixture('echo.js')), '--workers', '2', '--fixed-concurrency'],
      { stdin: jsonl([1, 'two', { three: 3 }]) },
    );
    assert.equal(result.code, 0, result.stderr);
    const records = parseRecords(result.stdout).sort((a, b) => a.index - b.index);
    assert.deepEqual(records, [
      { index: 0, value: 1 },
      { index: 1, value: 'two' },
      { index: 2, value: { three: 3 } },
    ]);
  });

  it('turns off backing off: a burst of resets is then each input’s answer', async () => {
    // Each of 20 inputs is reset on its first run in the (one) worker, then succeeds: all fail at
    // once, a burst. By default the pool cuts its limit and runs them again, unreported; with
    // --fixed-concurrency it does not, and each records its ECONNRESET.
    const stdin = jsonl(Array.from({ length: 20 }, (_, i) => ({ i, reset: 'first-run' })));
    const adaptive = await runCli(['run', RESETS, '--workers', '1', '--quiet'], { stdin });
    assert.equal(adaptive.code, 0, adaptive.stderr + adaptive.stdout);
    assert.deepEqual(
      parseRecords(adaptive.stdout).sort((a, b) => a.index - b.index),
      Array.from({ length: 20 }, (_, i) => ({ index: i, value: i })),
    );

    const fixed = await runCli(
      ['run', RESETS, '--workers', '1', '--quiet', '--fixed-concurrency'],
      { stdin },
    );
    assert.equal(fixed.code, 1, fixed.stderr);
    const records = parseRecords(fixed.stdout).sort((a, b) => a.index - b.index);
    assert.deepEqual(
      records.map((record) => [record.index, record.error?.code]),
      Array.from({ length: 20 }, (_, i) => [i, 'ECONNRESET']),
    );
  });
});
