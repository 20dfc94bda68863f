/**
 * What `collect` shows of a queue's run, for watching a many-hour, many-machine run from
 * anywhere: inputs done out of the total, the rate and time left, failures, the queue's jobs,
 * and each machine's share (from the tally its worker keeps in Redis).
 */
import type { CollectProgress, MachineShare } from '../../bullmq/index.js';
import { clock, count, percent, rate } from '../format.js';
import { redisDownText } from './status-line.js';

/** The rate is over this much of the recent past: steady, yet it follows a machine joining. */
const RATE_WINDOW_MS = 10_000;
/** A machine not heard from for this long has stopped (or died): the line says so. */
const SILENT_AFTER_MS = 30_000;

export class RunStatus {
  readonly #samples: Array<{ at: number; collected: number }> = [];

  /** The status line's fields, most important first (a narrow terminal drops the last ones). */
  fields(progress: CollectProgress, errors: number, now = performance.now()): string[] {
    const { waiting, delayed, active, collected, inputs } = progress;
    this.#samples.push({ at: now, collected });
    while (this.#samples.length > 2 && now - this.#samples[1]!.at >= RATE_WINDOW_MS) {
      this.#samples.shift();
    }
    const oldest = this.#samples[0]!;
    const seconds = (now - oldest.at) / 1000;
    const perSecond = seconds > 0 ? (collected - oldest.collected) / seconds : Number.NaN;
    // Not the queue's fault: say so first, then the totals last seen.
    const fields: string[] =
      progress.redisDownSince === undefined ? [] : [redisDownText(progress.redisDownSince)];
    if (inputs === undefined) {
      // An empty queue that no enqueue ever finished is most often a misspelled name.
      const empty = waiting + delayed + active + progress.completed + progress.failed === 0;
      fields.push(
        `${count(collected)} done (${
          empty
            ? 'the queue is empty and no enqueue has finished: check --queue and --prefix'
            : 'enqueue not finished'
        })`,
      );
    } else {
      fields.push(
        `${count(collected)}/${count(inputs)} done (${percent(collected / Math.max(inputs, 1))})`,
      );
    }
    fields.push(`${rate(perSecond)}/s`);
    if (inputs !== undefined && perSecond > 0 && collected < inputs) {
      fields.push(`${clock((inputs - collected) / perSecond)} left`);
    }
    fields.push(`${count(errors)} failed`);
    fields.push(`jobs waiting ${count(waiting + delayed)}, active ${count(active)}`);
    const machines = machineShares(progress.machines, Date.now());
    if (machines) fields.push(machines);
    return fields;
  }
}

/** `machines: a 52%, b 48% (silent 2:10)` — each machine's share of the inputs finished. */
export function machineShares(machines: readonly MachineShare[], now: number): string | undefined {
  const total = machines.reduce((sum, machine) => sum + machine.done + machine.failed, 0);
  if (machines.length === 0 || total === 0) return undefined;
  const shares = machines.map((machine) => {
    const share = `${machine.name} ${percent((machine.done + machine.failed) / total)}`;
    const silent = now - machine.lastSeen;
    return silent >= SILENT_AFTER_MS ? `${share} (silent ${clock(silent / 1000)})` : share;
  });
  return `machines: ${shares.join(', ')}`;
}
