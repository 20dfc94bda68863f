/** Shared test utilities: fixture URLs and shared-memory cells the tasks wait on. */
import assert from 'node:assert/strict';
import type { Pool } from '../dist/index.js';

export function fixture(name: string): URL {
  return new URL(`./fixtures/${name}`, import.meta.url);
}

/** Shared memory both the test and the workers see (inputs carrying it are shared, not copied). */
export function cells(count = 8): Int32Array {
  return new Int32Array(new SharedArrayBuffer(count * Int32Array.BYTES_PER_ELEMENT));
}

/**
 * close() the pool, or fail the test if it is still waiting after `boundMs` (then destroy it, so a
 * bug fails the test instead of holding the test process open). The bound is no synchronisation:
 * a passing close() ends long before it.
 */
export async function closeWithin(pool: Pool, boundMs: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), boundMs);
  });
  const closed = await Promise.race([pool.close().then(() => true as const), bound]);
  clearTimeout(timer);
  if (!closed) {
    await pool.destroy();
    assert.fail(`close() still waiting after ${boundMs} ms: ${what}`);
  }
}

/** Let every task waiting on `cells[slot]` go on. */
export function release(shared: Int32Array, slot: number): void {
  Atomics.store(shared, slot, 1);
  Atomics.notify(shared, slot);
}

/** Resolves once `shared[slot]` has reached `target` (the tasks count up with 'tick'). */
export async function reach(shared: Int32Array, slot: number, target: number): Promise<void> {
  for (let value = Atomics.load(shared, slot); value < target; value = Atomics.load(shared, slot)) {
    await Atomics.waitAsync(shared, slot, value).value;
  }
}

/**
 * `count` tasks that each count themselves in at `cells[0]` when they start, then wait until
 * `cells[1]` is released; task i returns i.
 */
export function gatedInputs(count: number, shared: Int32Array): ControlInput[] {
  return Array.from({ length: count }, (_, i) => ({
    op: 'tick-block',
    cells: shared,
    slot: 0,
    gate: 1,
    value: i,
  }));
}

/** Input shapes understood by fixtures/control.js. */
export type ControlInput =
  | { op: 'value'; value: unknown }
  | { op: 'throw'; message?: string }
  | { op: 'tick'; cells: Int32Array; slot: number; value: unknown }
  | { op: 'tick-block'; cells: Int32Array; slot: number; gate: number; value: unknown }
  | { op: 'block'; cells: Int32Array; slot: number; value: unknown }
  | { op: 'busy-until'; cells: Int32Array; slot: number; value: unknown }
  | { op: 'hold-on-pid'; pid: number; value: unknown }
  | { op: 'stray-rejection-first-time'; cells: Int32Array; slot: number; value: unknown }
  | { op: 'rendezvous'; cells: Int32Array; n: number }
  | { op: 'wait-abort'; cells?: Int32Array; slot?: number; startSlot?: number }
  | { op: 'exit'; code?: number }
  | { op: 'exit-first-time'; cells: Int32Array; slot: number; value: unknown }
  | { op: 'exit-every-time'; cells: Int32Array; slot: number; code?: number }
  | { op: 'spin-forever' }
  | { op: 'tick-spin-forever'; cells: Int32Array; slot: number }
  | { op: 'spin-ms'; ms: number; value: unknown }
  | { op: 'segfault' }
  | { op: 'pid' }
  | { op: 'eat-memory' }
  | { op: 'chaos'; i: number; fate: 'ok' | 'throw' | 'hang'; killOneIn: number }
  | { op: 'return-function' }
  | { op: 'setup-info' };
