import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FLUSH_COUNT,
  FLUSH_DELAY_MS,
  HANG_GRACE_MS,
  HEARTBEAT_MS,
  IDLE_CHECK_MS,
  IDLE_UTILIZATION,
  LAST_WORD_GRACE_MS,
  SILENCE_MS,
  START_SLICE_MS,
  START_SLICE_TASKS,
  STATS_MS,
  STATS_STALE_MS,
  WATCHDOG_CHECK_MS,
  WATCHDOG_STUCK_MS,
} from '../dist/protocol/timing.js';

describe('protocol timing', () => {
  it('a busy worker talks more often than the pool takes silence for a block', () => {
    // The longest gap between two messages of a worker whose loop turns: a heartbeat is due,
    // the next loop check comes IDLE_CHECK_MS later, behind one start slice.
    assert.ok(HEARTBEAT_MS + IDLE_CHECK_MS + START_SLICE_MS < SILENCE_MS);
    assert.ok(IDLE_CHECK_MS <= HEARTBEAT_MS);
  });

  it('a worker sends unsent results well within the silence limit', () => {
    assert.ok(FLUSH_DELAY_MS < SILENCE_MS);
    assert.ok(Number.isInteger(FLUSH_COUNT) && FLUSH_COUNT > 0);
  });

  it('a suspicion of a block comes before the verdict', () => {
    assert.ok(SILENCE_MS < HANG_GRACE_MS);
  });

  it("a child's watchdog names the stuck task before the pool decides it is hung", () => {
    assert.ok(WATCHDOG_STUCK_MS + WATCHDOG_CHECK_MS < HANG_GRACE_MS);
  });

  it('load reports go out from the loop check, and count as stale only after a few missed', () => {
    assert.ok(STATS_MS >= IDLE_CHECK_MS);
    assert.ok(STATS_STALE_MS > STATS_MS + IDLE_CHECK_MS);
  });

  it('every limit is a positive number in its range', () => {
    for (const value of [
      FLUSH_DELAY_MS,
      HANG_GRACE_MS,
      HEARTBEAT_MS,
      IDLE_CHECK_MS,
      LAST_WORD_GRACE_MS,
      SILENCE_MS,
      START_SLICE_MS,
      START_SLICE_TASKS,
      STATS_MS,
      WATCHDOG_CHECK_MS,
      WATCHDOG_STUCK_MS,
    ]) {
      assert.ok(Number.isFinite(value) && value > 0, String(value));
    }
    assert.ok(IDLE_UTILIZATION > 0 && IDLE_UTILIZATION < 1);
  });
});
