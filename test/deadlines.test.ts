import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Deadlines } from '../dist/core/deadlines.js';

interface Item {
  settled: boolean;
  deadline: number;
}

describe('Deadlines', () => {
  it('arms no timer past the longest delay Node takes (it would fire every millisecond)', () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    const deadlines = new Deadlines<Item>(() => assert.fail('nothing should expire'));
    const timeout = 1e10; // ~116 days
    deadlines.add({ settled: false, deadline: performance.now() + timeout }, timeout);
    deadlines.clear();
    // Node reports the overflow with a warning, emitted on the next tick.
    return new Promise<void>((resolve) => {
      process.nextTick(() => {
        process.off('warning', onWarning);
        assert.deepEqual(warnings, []);
        resolve();
      });
    });
  });

  it('does not keep settled entries behind a stuck one until its deadline', () => {
    const expired: Item[] = [];
    const deadlines = new Deadlines<Item>((item) => expired.push(item));
    const timeout = 3_600_000;
    const stuck: Item = { settled: false, deadline: performance.now() + timeout };
    deadlines.add(stuck, timeout);
    for (let i = 0; i < 100_000; i++) {
      const item: Item = { settled: false, deadline: performance.now() + timeout };
      deadlines.add(item, timeout);
      item.settled = true;
    }
    // Without filtering this would be 100,001: every entry waits behind the stuck head.
    assert.ok(deadlines.size < 5000, `${deadlines.size} entries held`);
    deadlines.clear();
    assert.deepEqual(expired, []);
  });

  it('does not keep settled entries of many different timeouts (one queue each) either', () => {
    const deadlines = new Deadlines<Item>(() => assert.fail('nothing should expire'));
    for (let i = 0; i < 100_000; i++) {
      // A "time left" budget per call: every timeout differs.
      const timeout = 3_600_000 + i;
      const item: Item = { settled: false, deadline: performance.now() + timeout };
      deadlines.add(item, timeout);
      item.settled = true;
    }
    assert.ok(deadlines.size < 5000, `${deadlines.size} entries held`);
    deadlines.clear();
  });

  it('fires each unsettled entry once its deadline passes, in order, skipping settled ones', async () => {
    const expired: number[] = [];
    const deadlines = new Deadlines<Item & { id: number }>((item) => expired.push(item.id));
    const now = performance.now();
    const items = [0, 1, 2, 3].map((id) => ({ id, settled: id === 1, deadline: now + 5 }));
    for (const item of items) deadlines.add(item, 5);
    const late = { id: 9, settled: false, deadline: now + 20 };
    deadlines.add(late, 20);
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (expired.length === 4) resolve();
        else setTimeout(check, 5);
      };
      check();
    });
    assert.deepEqual(expired, [0, 2, 3, 9]);
    assert.equal(deadlines.size, 0);
  });
});
