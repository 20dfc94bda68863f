/**
 * Tasks that failed and may run again. Failures for load (see overload.ts) first: one with
 * EMFILE or ENFILE (the pool let in more than the process's descriptors allow) always runs again,
 * unreported; one rejected by a peer or timed out runs again if the pool has cut its limit since
 * the task was sent — it was let in under a limit found too high (its timeout was spent queueing
 * behind too many others). One that arrives before any cut is held back for a burst's span (a
 * burst's first failures come before the burst is seen), then judged again: a lone one runs once
 * more (LONE_RERUNS), and alone again it is the task's answer — unless the window had grown past a size once cut for load, or more tasks are in
 * flight than ever proved fine (a whole tick with tasks ending and no such failure), where two
 * such failures close together cut it. The pool's own TimeoutError only cuts: its task still runs. A timeout counts as load only while the tasks that succeed take about as long
 * (everything waits in one queue); among quick successes it is that input's own slowness (a hung
 * request), and never runs again here. Load re-runs stop after MAX_LOAD_RERUNS, so a task that
 * leaks descriptors still fails. Then the task's own error (threw, or passed its timeout) is
 * retried when `retryErrors` asks.
 *
 * The failed run has ended on its worker (or, timed out, goes on there without its caller): the
 * retry waits out its delay here, on the main thread, under one timer for the pool and holding no
 * worker's slot, then joins the crash re-runs, which are dealt before new inputs. Its job stays
 * open meanwhile (the task is still in flight for it).
 */
import { TimeoutError } from '../errors.js';
import { type Attempts, afterError, afterOverAdmission, NO_ATTEMPTS } from './attempts.js';
import type { CrashRecovery, Retry } from './crash-recovery.js';
import { DelayQueue } from './delay-queue.js';
import { type OverloadKind, overloadKind } from './overload.js';
import { BURST_MS, OverloadBursts } from './overload-bursts.js';
import { type RetryOptions, retryDelayAfter, retryDelayFor } from './retry-policy.js';
import type { Stats } from './stats.js';
import { type Batch, indexOf } from './task-table.js';
import type { Window } from './window.js';

/** Re-runs of one task for load before its error is its answer. */
export const MAX_LOAD_RERUNS = 8;
/** Re-runs of a task failed alone (no cut followed) before its error is its answer. */
export const LONE_RERUNS = 1;
/** The first back-off after a failure for load (ms), doubling: the load eases as tasks end. */
const LOAD_DELAY_MS = 50;
/**
 * A timeout is load when the tasks that succeed lately took at least this share of its time:
 * they waited in the same queue.
 */
const TIMEOUT_LOAD_SHARE = 0.5;
/** The success latency is averaged over about this many tasks (an exponential average). */
const LATENCY_SAMPLES = 64;

/** A failure held back until the pool can tell a burst from a lone one. */
interface Suspect {
  readonly error: Error;
  readonly sentAt: number;
}

type Waiting = Retry & { readonly suspect?: Suspect | undefined };

export class ErrorRetries {
  private readonly waiting = new DelayQueue<Waiting>((retry) => this.onDue(retry));
  private readonly bursts: OverloadBursts;
  /** Recent successes' latency, sent to settled (ms); NaN before the first. */
  private successLatency = Number.NaN;
  /**
   * The most tasks seen in flight through a whole tick with tasks ending and no failure for load:
   * a failure with more in flight than that may be the pool's doing (it has not found its level
   * yet, or went past it); one at a level proven fine is judged by bursts alone.
   */
  private provenLevel = 0;
  private failedThisTick = false;
  private inFlightAtTick = 0;
  private endedAtTick = 0;

  constructor(
    private readonly options: RetryOptions & { readonly adaptive: boolean },
    private readonly recovery: CrashRecovery,
    private readonly stats: Stats,
    private readonly window: Window,
    /** Tasks running on all workers now. */
    private readonly inFlight: () => number,
    /** Deal what is due (soon: retries due together go out as one batch). */
    private readonly dispatch: () => void,
  ) {
    this.bursts = new OverloadBursts(() => stats.done + stats.failed);
  }

  /** Retries waiting for their delay, those of finished jobs left out. */
  get count(): number {
    if (this.waiting.size === 0) return 0;
    let count = 0;
    for (const retry of this.waiting.items()) if (!retry.job.finished) count++;
    return count;
  }

  /** About every 100 ms: a tick without failures for load proves the level it held. */
  tick(inFlight: number): void {
    const ended = this.stats.done + this.stats.failed;
    if (!this.failedThisTick && ended > this.endedAtTick) {
      this.provenLevel = Math.max(this.provenLevel, Math.min(inFlight, this.inFlightAtTick));
    }
    this.failedThisTick = false;
    this.inFlightAtTick = inFlight;
    this.endedAtTick = ended;
  }

  /** `count` tasks sent at `sentAt` succeeded at `now`. */
  onSuccess(sentAt: number, now: number, count: number): void {
    const latency = now - sentAt;
    const average = this.successLatency;
    // `count` steps of the moving average at once: each keeps (1 - 1/LATENCY_SAMPLES) of the gap.
    this.successLatency = Number.isNaN(average)
      ? latency
      : latency + (average - latency) * (1 - 1 / LATENCY_SAMPLES) ** count;
  }

  /** A task failed with `error`: returns whether it will run again (or be judged) later. */
  consider(batch: Batch, offset: number, error: Error): boolean {
    if (batch.job.finished) return false;
    const attempts = batch.attempts?.[offset] ?? NO_ATTEMPTS;
    const kind = overloadKind(error);
    if (kind !== undefined && this.forLoad(batch, offset, error, kind, attempts)) return true;
    return this.retryOwnError(batch, offset, error, attempts);
  }

  /** A failure for load: cut the limit if due; returns whether the task runs again (or waits). */
  private forLoad(
    batch: Batch,
    offset: number,
    error: Error,
    kind: NonNullable<OverloadKind>,
    attempts: Attempts,
  ): boolean {
    const now = performance.now();
    if (kind === 'timeout' && !(this.successLatency >= TIMEOUT_LOAD_SHARE * (now - batch.sentAt))) {
      return false; // among quick successes: this input's own slowness
    }
    const { recent, burst } = this.bursts.record(now);
    this.failedThisTick = true;
    // Past a size once found too high, or a level never proven fine, two failures are enough —
    // first failures, of two inputs: one input may always fail so (a URL that always resets).
    const unproven = this.window.aboveLastCut || this.inFlight() > this.provenLevel;
    const pair = unproven && recent >= 2 && attempts.overAdmitted === 0;
    if (kind === 'over-admission' || burst || pair) {
      if (this.window.onOverload(batch.sentAt)) {
        this.provenLevel = Math.min(this.provenLevel, this.window.poolWindow());
      }
    }
    // The pool's own timeout leaves the task running on its worker: a second copy beside it would
    // only add to the load that made it late. Its caller gets the TimeoutError.
    if (attempts.overAdmitted >= MAX_LOAD_RERUNS || error instanceof TimeoutError) return false;
    if (kind === 'over-admission' || this.window.cutSince(batch.sentAt)) {
      const delay = retryDelayFor(attempts.overAdmitted + 1, LOAD_DELAY_MS);
      this.wait(batch, offset, afterOverAdmission(attempts), delay);
      return true;
    }
    if (!this.options.adaptive) return false;
    this.wait(batch, offset, attempts, BURST_MS, { error, sentAt: batch.sentAt });
    return true;
  }

  private retryOwnError(batch: Batch, offset: number, error: Error, attempts: Attempts): boolean {
    const delay = retryDelayAfter(this.options, error, attempts.errors + 1);
    if (delay < 0) return false;
    this.stats.retriedErrors++;
    this.wait(batch, offset, afterError(attempts), delay);
    return true;
  }

  private wait(
    batch: Batch,
    offset: number,
    attempts: Attempts,
    delay: number,
    suspect?: Suspect,
  ): void {
    batch.job.retryWaiting++;
    const index = indexOf(batch, offset);
    const input = batch.inputs[offset];
    this.waiting.add({ job: batch.job, index, input, attempts, suspect }, delay);
  }

  /** No job is left: none of the waiting retries will run. */
  clear(): void {
    this.waiting.clear();
  }

  private onDue(retry: Waiting): void {
    // A finished job's retry is dropped here: nobody waits for it.
    const { job, suspect } = retry;
    if (job.finished) return;
    job.retryWaiting--;
    // A lone one gets a second run: a peer shedding load and an input it always refuses look
    // alike once; twice alone, it is the input's.
    if (
      suspect &&
      !this.window.cutSince(suspect.sentAt) &&
      retry.attempts.overAdmitted >= LONE_RERUNS
    ) {
      this.judgedAlone(retry, suspect.error);
      return;
    }
    const attempts = suspect ? afterOverAdmission(retry.attempts) : retry.attempts;
    this.recovery.requeue({ job, index: retry.index, input: retry.input, attempts });
    this.dispatch();
  }

  /** A rejection no burst followed: the task's own error, retried only if `retryErrors` asks. */
  private judgedAlone(retry: Retry, error: Error): void {
    const { job, index, input, attempts } = retry;
    const delay = retryDelayAfter(this.options, error, attempts.errors + 1);
    if (delay >= 0) {
      this.stats.retriedErrors++;
      job.retryWaiting++;
      this.waiting.add({ job, index, input, attempts: afterError(attempts) }, delay);
      return;
    }
    job.settle(index, input, false, error, attempts.errors + 1);
  }
}
